/** `cdl models list|show|history|promote|rollback|diff` and `cdl deploy`: thin handlers over src/registry and src/deploy. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import type { DeploySection } from '../config/schema/deploy.js';
import { deploy, rollback, type DeployResult } from '../deploy/deploy-release.js';
import { checkAliasName, deploySettings, type DeployOverrides } from '../deploy/settings.js';
import { selectForge } from '../forge/index.js';
import { isRegistryForge, type DeploymentRecord, type RegistryForge } from '../forge/types.js';
import { Registry } from '../registry/registry.js';
import { releaseModel } from '../registry/release-model.js';
import { UsageError } from '../util/errors.js';
import { withTempDir } from '../util/fs.js';
import { actor } from '../util/run-env.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';
import { table } from '../util/table.js';

const log = (line: string) => process.stderr.write(line + '\n');
const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : text + '\n');

interface Context {
  forge: RegistryForge;
  model: string;
  deploy?: DeploySection;
  baseDir: string;
  registry: Registry;
}

async function context(values: { config?: unknown; set?: unknown; name?: unknown }, command: string): Promise<Context> {
  let model = values.name as string | undefined;
  let section: DeploySection | undefined;
  let baseDir = process.cwd();
  const config = values.config as string;
  if (existsSync(config)) {
    const loaded = await loadConfig(config, values.set as string[]);
    model ??= loaded.config.model.name;
    section = loaded.config.deploy;
    baseDir = path.dirname(path.resolve(config));
  } else if (!model)
    throw new UsageError(`${command}: no ${config}; name the model with --name NAME or point --config at cdl.yaml`);
  const forge = await selectForge({ log });
  if (!isRegistryForge(forge)) throw new UsageError(`${command}: ${forge.describe()} cannot hold a model registry`);
  const registry = new Registry({ forge, model: model!, tagTemplate: section?.tag, log });
  return { forge, model: model!, deploy: section, baseDir, registry };
}

/** Split leading positional words off (the subcommand's arguments) from the flags. */
function positionals(argv: string[]): { words: string[]; rest: string[] } {
  const i = argv.findIndex((a) => a.startsWith('-'));
  return i < 0 ? { words: argv, rest: [] } : { words: argv.slice(0, i), rest: argv.slice(i) };
}

function historyTable(h: DeploymentRecord[]): string {
  if (!h.length) return '(no deployments recorded)';
  return table([
    ['when', 'alias', 'version', 'state', 'description'],
    ...h.map((d) => [d.created_at.replace('T', ' ').slice(0, 19), d.environment, d.tag, d.state, d.description.slice(0, 80)]),
  ]);
}

function printDeploy(r: DeployResult, json: boolean): number {
  if (json) out(JSON.stringify(r, null, 2));
  else {
    out(
      `${r.tag} → ${r.environment} (${r.target}): ${r.state}, ${r.outcome}${r.environment_url ? ` at ${r.environment_url}` : ''}`,
    );
    if (r.server?.canary) out(`canary ${r.server.canary.percent}%: ${r.server.canary.decision}: ${r.server.canary.reason}`);
    if (r.server?.shadow) out(`shadow: ${r.server.shadowSummary}`);
    for (const n of r.notes) out(`note: ${n}`);
  }
  return r.state === 'success' ? 0 : 1;
}

/**
 * The command line's deploy settings; the server target may also come from the environment, as
 * the workflows pass the repository variables CDL_DEPLOY_TARGET, CDL_SERVE_URL and
 * CDL_SERVE_REPOSITORY (flags win).
 */
function overrides(values: Record<string, unknown>): DeployOverrides {
  checkAliasName('--environment', values.environment as string | undefined);
  checkAliasName('--alias', values.alias as string | undefined);
  const env = (name: string) => process.env[name]?.trim() || undefined;
  return {
    target: (values.target as string | undefined) ?? env('CDL_DEPLOY_TARGET'),
    environment: (values.environment ?? values.alias) as string | undefined,
    serverUrl: (values['server-url'] as string | undefined) ?? env('CDL_SERVE_URL'),
    repository: (values.repository as string | undefined) ?? env('CDL_SERVE_REPOSITORY'),
    canaryPercent: values['canary-percent'] as string | undefined,
    canaryWindow: values['canary-window'] as string | undefined,
    shadowFraction: values['shadow-fraction'] as string | undefined,
    shadowWindow: values['shadow-window'] as string | undefined,
  };
}

export async function modelsCommand(argv: string[]): Promise<number> {
  const [sub, ...after] = argv;
  const { words, rest } = positionals(after);
  switch (sub) {
    case 'list': {
      const { values } = parse(rest, COMMANDS.models, 'models list', 'list');
      const c = await context(values, 'models list');
      const list = await c.registry.list();
      if (values.json) out(JSON.stringify(list, null, 2));
      else if (!list.length) out(`no versions of ${c.model} (${c.forge.describe()})`);
      else
        out(
          table([
            ['version', 'tag', 'commit', 'published', 'aliases'],
            ...list.map((v) => [
              v.version,
              v.tag,
              (v.commit ?? '').slice(0, 12),
              (v.published_at ?? '').replace('T', ' ').slice(0, 19),
              v.aliases.join(', '),
            ]),
          ]),
        );
      return 0;
    }
    case 'show': {
      const { values } = parse(rest, COMMANDS.models, 'models show', 'show');
      if (words.length !== 1)
        throw new UsageError(
          `models show: expected one VERSION or TAG, e.g. cdl models show 1.2.0; got ${words.length ? words.map((w) => JSON.stringify(w)).join(' ') : 'none'}`,
        );
      const c = await context(values, 'models show');
      const lineage = await withTempDir('cdl-show-', (work) => c.registry.lineage(words[0]!, work));
      const aliases = Object.entries(await c.registry.aliases())
        .filter(([, d]) => d.tag === lineage.tag)
        .map(([a]) => a);
      const info = { ...lineage, aliases };
      out(JSON.stringify(info, null, 2));
      return 0;
    }
    case 'history': {
      const { values } = parse(rest, COMMANDS.models, 'models history', 'history');
      checkAliasName('--alias', values.alias as string | undefined);
      const c = await context(values, 'models history');
      const h = await c.registry.history(values.alias as string | undefined);
      out(values.json ? JSON.stringify(h, null, 2) : historyTable(h));
      return 0;
    }
    case 'promote': {
      const { values } = parse(rest, COMMANDS.models, 'models promote', 'promote');
      if (!values.model) throw new UsageError('models promote: --model DIR is required (the blessed candidate model directory)');
      if (!values.version) throw new UsageError('models promote: --version X.Y.Z is required');
      if (values.force && !(values.reason as string | undefined)?.trim())
        throw new UsageError('models promote: --force needs --reason "<why>"; the reason is recorded with the release');
      const variants: Record<string, string> = {};
      for (const v of values.variant as string[]) {
        const [k, dir] = v.split('=', 2);
        if (!k || !dir) throw new UsageError(`models promote: --variant expects NAME=DIR, got "${v}"`);
        variants[k] = path.resolve(dir);
      }
      const c = await context(values, 'models promote');
      const r = await c.registry.promote(path.resolve(values.model as string), {
        version: values.version as string,
        force: values.force ? { reason: values.reason as string, by: actor() } : undefined,
        variants,
        commit: (values.commit as string | undefined) ?? undefined,
      });
      if (r.status === 'released') await (await import('../runs/record.js')).recordRelease(values.model as string, r.tag);
      if (values.alias && r.status === 'released') await c.registry.moveAlias(values.alias as string, r.tag, `promoted ${r.tag}`);
      if (values.json)
        out(
          JSON.stringify(
            { tag: r.tag, status: r.status, assets: r.assets, blessing: r.blessing.reason, provenance: r.provenance },
            null,
            2,
          ),
        );
      else out(`${r.tag}: ${r.status} (${r.assets.length} assets; ${r.blessing.reason})`);
      return 0;
    }
    case 'blessed': {
      const { values } = parse(rest, COMMANDS.models, 'models blessed', 'blessed');
      if (!values.commit) throw new UsageError('models blessed: --commit SHA is required (the released commit, 40 hex digits)');
      if (!values.out) throw new UsageError('models blessed: --out DIR is required (where the model directory goes)');
      const loaded = await loadConfig(values.config as string, values.set as string[]);
      const forge = await selectForge({ log });
      const r = await releaseModel({
        forge,
        loaded,
        commit: values.commit as string,
        dest: path.resolve(values.out as string),
        overrides: values.set as string[],
        log,
      });
      const info = {
        dir: r.dir,
        source: r.source,
        artifact: r.artifact,
        run: r.run ?? null,
        sha256: r.sha256,
        blessing: r.blessing.reason,
      };
      out(
        values.json
          ? JSON.stringify(info, null, 2)
          : `${r.dir}: ${r.source === 'artifact' ? `${r.artifact} of run ${r.run}` : 'retrained at release'}, model.onnx ${r.sha256}; ${r.blessing.reason}`,
      );
      return 0;
    }
    case 'rollback': {
      const { values } = parse(rest, COMMANDS.models, 'models rollback', 'rollback');
      const c = await context(values, 'models rollback');
      const settings = deploySettings(c.deploy, c.baseDir, overrides(values));
      const r = await rollback({
        forge: c.forge,
        model: c.model,
        settings,
        to: values.to as string | undefined,
        outDir: values.out as string | undefined,
        reason: values.reason as string | undefined,
        log,
      });
      return printDeploy(r, values.json as boolean);
    }
    case 'diff': {
      const { values } = parse(rest, COMMANDS.models, 'models diff', 'diff');
      if (words.length !== 2)
        throw new UsageError('models diff: expected two versions or tags, e.g. cdl models diff 1.0.0 1.1.0');
      const c = await context(values, 'models diff');
      const [a, b] = await withTempDir('cdl-diff-', async (work) => [
        await c.registry.lineage(words[0]!, work),
        await c.registry.lineage(words[1]!, work),
      ]);
      const rows: string[][] = [['field', String(a.tag), String(b.tag)]];
      const flat = (o: unknown, prefix = ''): Record<string, string> => {
        const r: Record<string, string> = {};
        if (o && typeof o === 'object' && !Array.isArray(o))
          for (const [k, v] of Object.entries(o)) Object.assign(r, flat(v, prefix ? `${prefix}.${k}` : k));
        else r[prefix] = JSON.stringify(o);
        return r;
      };
      const fa = flat({
        commit: a.commit,
        dataset: a.dataset,
        config: a.config,
        hyperparameters: a.hyperparameters,
        parent: a.parent,
        metrics: a.metrics,
        tuning: a.tuning,
      });
      const fb = flat({
        commit: b.commit,
        dataset: b.dataset,
        config: b.config,
        hyperparameters: b.hyperparameters,
        parent: b.parent,
        metrics: b.metrics,
        tuning: b.tuning,
      });
      const changed = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort().filter((k) => fa[k] !== fb[k]);
      if (values.json)
        out(
          JSON.stringify(
            Object.fromEntries(changed.map((k) => [k, { [String(a.tag)]: fa[k] ?? null, [String(b.tag)]: fb[k] ?? null }])),
            null,
            2,
          ),
        );
      else
        out(
          changed.length
            ? table([...rows, ...changed.map((k) => [k, fa[k] ?? '-', fb[k] ?? '-'])])
            : 'no differences in lineage or metrics',
        );
      return 0;
    }
    default:
      throw new UsageError(
        `models: expected list, show, history, promote, blessed, rollback or diff${sub ? `, got "${sub}"` : ''} (cdl models --help)`,
      );
  }
}

export async function deployCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.deploy, 'deploy');
  if (!values.version) throw new UsageError('deploy: --version X.Y.Z (or the release tag) is required');
  const c = await context(values, 'deploy');
  const settings = deploySettings(c.deploy, c.baseDir, overrides(values));
  const r = await deploy({
    forge: c.forge,
    model: c.model,
    ref: values.version as string,
    settings,
    outDir: values.out as string | undefined,
    reason: values.reason as string | undefined,
    log,
  });
  return printDeploy(r, values.json as boolean);
}
