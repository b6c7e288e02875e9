// Reads a workflow file: validation by @actions/workflow-parser (every problem with file, line and
// column), then a model of jobs and steps that keeps the template tokens for evaluation at run time.
import { readFile, stat } from 'node:fs/promises';
import { LineCounter, parseDocument, visit } from 'yaml';
import path from 'node:path';
import type {
  TemplateToken,
  MappingToken,
  BasicExpressionToken,
  StringToken,
} from '@actions/workflow-parser/templates/tokens/index';
import { CdlError, ConfigError } from '../../src/util/errors.js';
import { loadWorkflowParser } from './load.js';
import { evaluate, formatWhere, ifCondition, stringify, type Contexts, type EvalState, type Where } from './expr.js';

export const T = {
  String: 0,
  Sequence: 1,
  Mapping: 2,
  BasicExpression: 3,
  InsertExpression: 4,
  Boolean: 5,
  Number: 6,
  Null: 7,
} as const;

/** A workflow that cannot run as written (exit code 2); the message lists every problem. */
export class WorkflowError extends ConfigError {}
/** A workflow cdl run will not read at all (too large, aliases that expand too far): exit 1. */
class RefusedWorkflowError extends CdlError {}

export interface StepDef {
  /** The id steps.<id> uses (generated for steps without one). */
  id: string;
  hasId: boolean;
  index: number;
  name?: TemplateToken;
  if: string;
  run?: TemplateToken;
  uses?: string;
  with?: MappingToken;
  env?: MappingToken;
  shell?: TemplateToken;
  workingDirectory?: TemplateToken;
  continueOnError?: TemplateToken;
  timeoutMinutes?: TemplateToken;
  where: Where;
}

export interface JobDef {
  id: string;
  name?: TemplateToken;
  needs: string[];
  if: string;
  runsOn?: TemplateToken;
  strategy?: TemplateToken;
  outputs?: MappingToken;
  env?: MappingToken;
  defaults?: TemplateToken;
  timeoutMinutes?: TemplateToken;
  continueOnError?: TemplateToken;
  concurrency?: TemplateToken;
  steps: StepDef[];
  /** A reusable workflow job: `uses: ./.github/workflows/x.yml`. */
  uses?: string;
  with?: MappingToken;
  secrets?: MappingToken | 'inherit';
  where: Where;
}

export interface InputDef {
  type?: string;
  required?: boolean;
  default?: unknown;
  description?: string;
  options?: string[];
}

export interface WorkflowDef {
  /** Absolute path. */
  file: string;
  /** Path as shown in messages (relative to the repository). */
  display: string;
  name: string;
  events: Record<string, unknown>;
  env?: MappingToken;
  defaults?: TemplateToken;
  concurrency?: TemplateToken;
  jobs: JobDef[];
  /** on.workflow_call: inputs, outputs (tokens), secrets. */
  call?: { inputs: Record<string, InputDef>; outputs?: MappingToken; secrets: Record<string, { required?: boolean }> };
  dispatchInputs: Record<string, InputDef>;
}

function whereOf(display: string, token: TemplateToken | undefined): Where {
  const start = token?.range?.start;
  return start ? { file: display, line: start.line, column: start.column } : { file: display };
}

function entries(token: TemplateToken | undefined): [string, TemplateToken, TemplateToken][] {
  if (!token || token.templateTokenType !== T.Mapping) return [];
  const out: [string, TemplateToken, TemplateToken][] = [];
  for (const pair of token as MappingToken) out.push([String((pair.key as StringToken).value), pair.value, pair.key]);
  return out;
}

function scalarString(token: TemplateToken | undefined): string | undefined {
  if (!token) return undefined;
  if (token.templateTokenType === T.BasicExpression) return undefined;
  if (token.templateTokenType === T.String || token.templateTokenType === T.Number || token.templateTokenType === T.Boolean) {
    return String((token as StringToken).value);
  }
  return undefined;
}

function conditionOf(token: TemplateToken | undefined): string {
  if (!token) return 'success()';
  if (token.templateTokenType === T.BasicExpression) return ifCondition((token as BasicExpressionToken).expression);
  if (token.templateTokenType === T.Boolean) return String((token as unknown as { value: boolean }).value);
  return ifCondition(String((token as StringToken).value ?? ''));
}

/** Plain value of a token without expressions (for `on:` configuration). */
export function literal(token: TemplateToken | undefined): unknown {
  if (!token) return undefined;
  switch (token.templateTokenType) {
    case T.Mapping:
      return Object.fromEntries(entries(token).map(([k, v]) => [k, literal(v)]));
    case T.Sequence:
      return [...(token as unknown as Iterable<TemplateToken>)].map(literal);
    case T.Null:
      return null;
    case T.BasicExpression:
      return `\${{ ${(token as BasicExpressionToken).expression} }}`;
    default:
      return (token as StringToken).value;
  }
}

function problem(display: string, message: string, range?: { start: { line: number; column: number } }): string {
  const text = message.replace(/^.*?\(Line: \d+, Col: \d+\):\s*/, '');
  const where = range ? `${display}:${range.start.line}:${range.start.column}` : display;
  return `${where}: ${text}`;
}

/** Steps of a job or of a composite action, from their sequence token. */
export function stepsFromToken(stepsToken: TemplateToken | undefined, display: string): StepDef[] {
  const steps: StepDef[] = [];
  if (!stepsToken || stepsToken.templateTokenType !== T.Sequence) return steps;
  let index = 0;
  for (const stepToken of stepsToken as unknown as Iterable<TemplateToken>) {
    const s = Object.fromEntries(entries(stepToken).map(([k, v]) => [k, v]));
    const userId = scalarString(s['id']);
    steps.push({
      id: userId ?? `__step${index + 1}`,
      hasId: userId !== undefined,
      index,
      name: s['name'],
      if: conditionOf(s['if']),
      run: s['run'],
      uses: scalarString(s['uses']),
      with: s['with'] as MappingToken | undefined,
      env: s['env'] as MappingToken | undefined,
      shell: s['shell'],
      workingDirectory: s['working-directory'],
      continueOnError: s['continue-on-error'],
      timeoutMinutes: s['timeout-minutes'],
      where: whereOf(display, stepToken),
    });
    index++;
  }
  return steps;
}

export { entries as tokenEntries, problem as formatProblem };

export async function readWorkflow(file: string, repoRoot: string): Promise<WorkflowDef> {
  const abs = path.resolve(file);
  const display = path.relative(repoRoot, abs).startsWith('..') ? abs : path.relative(repoRoot, abs);
  let content: string;
  try {
    const { size } = await stat(abs);
    if (size > MAX_WORKFLOW_BYTES) {
      throw new RefusedWorkflowError(
        `${display}: the workflow is ${size} bytes; cdl run reads workflows of at most ${MAX_WORKFLOW_BYTES}`,
      );
    }
    content = await readFile(abs, 'utf8');
  } catch (error) {
    if (error instanceof RefusedWorkflowError) throw error;
    throw new WorkflowError(
      `${display}: no such workflow file; expected a workflow file in the repository, e.g. .github/workflows/ci.yml (or its name, ci)`,
    );
  }
  return parseWorkflowText(content, abs, display);
}

/** Workflow files are small; GitHub's own limit on a workflow is far below this. */
const MAX_WORKFLOW_BYTES = 1024 * 1024;
/** Aliases a workflow may expand, as the cdl.yaml parser allows (the yaml package's default). */
const MAX_WORKFLOW_ALIASES = 100;

/**
 * The workflow parser expands every alias where it stands, so eight levels of anchors (a
 * "billion laughs") would keep it busy for ever: bound the file and its aliases first.
 */
function checkWorkflowSize(content: string, display: string): void {
  const bytes = Buffer.byteLength(content);
  if (bytes > MAX_WORKFLOW_BYTES) {
    throw new RefusedWorkflowError(
      `${display}: the workflow is ${bytes} bytes; cdl run reads workflows of at most ${MAX_WORKFLOW_BYTES}`,
    );
  }
  const counter = new LineCounter();
  const doc = parseDocument(content, { lineCounter: counter, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length) return; // the workflow parser reports syntax errors with their positions
  try {
    doc.toJS({ maxAliasCount: MAX_WORKFLOW_ALIASES });
  } catch (error) {
    let at: { line: number; col: number } | undefined;
    visit(doc, {
      Alias(_key, node) {
        at = node.range ? counter.linePos(node.range[0]) : undefined;
        return visit.BREAK;
      },
    });
    throw new RefusedWorkflowError(
      `${display}${at ? `:${at.line}:${at.col}` : ''}: the YAML aliases expand too far (${(error as Error).message}); ` +
        `expected at most ${MAX_WORKFLOW_ALIASES} alias expansions`,
    );
  }
}

async function parseWorkflowText(content: string, abs: string, display: string): Promise<WorkflowDef> {
  checkWorkflowSize(content, display);
  const wp = await loadWorkflowParser();
  const parsed = wp.parseWorkflow({ name: display, content }, new wp.NoOperationTraceWriter());
  const errors = () => parsed.context.errors.getErrors().map((e) => problem(display, e.rawMessage, e.range));
  if (parsed.context.errors.getErrors().length || !parsed.value) {
    throw new WorkflowError(errors().join('\n') || `${display}: not a workflow`);
  }
  const template = await wp.convertWorkflowTemplate(parsed.context, parsed.value);
  if (parsed.context.errors.getErrors().length) throw new WorkflowError(errors().join('\n'));

  const root = parsed.value;
  const rootMap = Object.fromEntries(entries(root).map(([k, v]) => [k, v]));
  const jobs: JobDef[] = [];
  for (const [id, jobToken, keyToken] of entries(rootMap['jobs'])) {
    const j = Object.fromEntries(entries(jobToken).map(([k, v]) => [k, v]));
    const converted = template.jobs.find((x) => x.id.value === id);
    const job: JobDef = {
      id,
      name: j['name'],
      needs: converted?.needs?.map((n) => n.value) ?? [],
      if: conditionOf(j['if']),
      runsOn: j['runs-on'],
      strategy: j['strategy'],
      outputs: j['outputs'] as MappingToken | undefined,
      env: j['env'] as MappingToken | undefined,
      defaults: j['defaults'],
      timeoutMinutes: j['timeout-minutes'],
      continueOnError: j['continue-on-error'],
      concurrency: j['concurrency'],
      steps: [],
      where: whereOf(display, keyToken),
    };
    if (j['uses']) {
      job.uses = scalarString(j['uses']);
      job.with = j['with'] as MappingToken | undefined;
      const secrets = j['secrets'];
      job.secrets = secrets && scalarString(secrets) === 'inherit' ? 'inherit' : (secrets as MappingToken | undefined);
    }
    job.steps = stepsFromToken(j['steps'], display);
    jobs.push(job);
  }

  const on = rootMap['on'];
  const onMap = on && on.templateTokenType === T.Mapping ? Object.fromEntries(entries(on)) : {};
  const inputsOf = (token: TemplateToken | undefined): Record<string, InputDef> =>
    Object.fromEntries(entries(token).map(([k, v]) => [k, (literal(v) ?? {}) as InputDef]));
  const callMap = Object.fromEntries(entries(onMap['workflow_call']));
  const dispatchMap = Object.fromEntries(entries(onMap['workflow_dispatch']));
  const def: WorkflowDef = {
    file: abs,
    display,
    name: scalarString(rootMap['name']) ?? display,
    events: template.events as Record<string, unknown>,
    env: rootMap['env'] as MappingToken | undefined,
    defaults: rootMap['defaults'],
    concurrency: rootMap['concurrency'],
    jobs,
    dispatchInputs: inputsOf(dispatchMap['inputs']),
  };
  if ('workflow_call' in (template.events ?? {})) {
    def.call = {
      inputs: inputsOf(callMap['inputs']),
      outputs: callMap['outputs'] as MappingToken | undefined,
      secrets: Object.fromEntries(entries(callMap['secrets']).map(([k, v]) => [k, (literal(v) ?? {}) as { required?: boolean }])),
    };
  }
  return def;
}

/** Evaluates a token tree: expressions are replaced by their values, mappings become objects. */
export function evalToken(token: TemplateToken | undefined, ctx: Contexts, state: EvalState, display: string): unknown {
  if (!token) return undefined;
  switch (token.templateTokenType) {
    case T.BasicExpression:
      return evaluate((token as BasicExpressionToken).expression, ctx, state, whereOf(display, token));
    case T.Mapping: {
      const out: Record<string, unknown> = {};
      for (const pair of token as MappingToken) {
        if (pair.key.templateTokenType === T.InsertExpression) {
          Object.assign(out, evalToken(pair.value, ctx, state, display) as object);
          continue;
        }
        const key = stringify(evalToken(pair.key, ctx, state, display));
        out[key] = evalToken(pair.value, ctx, state, display);
      }
      return out;
    }
    case T.Sequence:
      return [...(token as unknown as Iterable<TemplateToken>)].map((t) => evalToken(t, ctx, state, display));
    case T.Null:
      return null;
    default:
      return (token as StringToken).value;
  }
}

export function evalString(
  token: TemplateToken | undefined,
  ctx: Contexts,
  state: EvalState,
  display: string,
): string | undefined {
  if (!token) return undefined;
  return stringify(evalToken(token, ctx, state, display));
}

/** A mapping token's values as strings (env, with, outputs). */
export function evalStringMap(
  token: TemplateToken | undefined,
  ctx: Contexts,
  state: EvalState,
  display: string,
): Record<string, string> {
  const value = evalToken(token, ctx, state, display);
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new WorkflowError(`${formatWhere(whereOf(display, token))}: expected a mapping`);
  }
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, stringify(v)]));
}

export { whereOf };
