/**
 * The check of a request made to the fake GitHub (test/helpers/fake-github.ts) against GitHub's
 * OpenAPI description (@octokit/openapi, api.github.com): the operation exists (method + path
 * template), path and query parameters are declared and well-typed, required ones are present,
 * and the JSON body satisfies the operation's request-body schema.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

type Json = Record<string, any>;

let spec: Json | undefined;

/** GitHub's OpenAPI description of api.github.com (the non-dereferenced file, 13 MB), loaded once. */
function githubOpenApi(): Json {
  if (!spec) {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@octokit/openapi/package.json'));
    spec = JSON.parse(readFileSync(path.join(dir, 'generated', 'api.github.com.json'), 'utf8')) as Json;
  }
  return spec;
}

function deref(node: any, doc: Json): any {
  let n = node;
  for (let i = 0; n && typeof n === 'object' && typeof n.$ref === 'string' && i < 20; i++) {
    n = n.$ref
      .slice(2)
      .split('/')
      .reduce((o: any, k: string) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return n;
}

/** Problems of `value` against a JSON Schema (the subset GitHub's description uses). */
function validateSchema(value: unknown, schemaIn: any, doc: Json, at = 'body'): string[] {
  const schema = deref(schemaIn, doc);
  if (!schema || typeof schema !== 'object') return [];
  const errors: string[] = [];
  if (value === null) return schema.nullable || schema.type === 'null' ? [] : [`${at}: null is not allowed`];
  if (schema.allOf) for (const s of schema.allOf) errors.push(...validateSchema(value, s, doc, at));
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (schema[key]) {
      const ok = (schema[key] as unknown[]).some((s) => validateSchema(value, s, doc, at).length === 0);
      if (!ok) errors.push(`${at}: matches none of the ${key} alternatives`);
    }
  }
  const type = schema.type as string | string[] | undefined;
  const types = Array.isArray(type) ? type : type ? [type] : [];
  const actual = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (types.length && !types.some((t) => t === actual || (t === 'number' && actual === 'integer'))) {
    return [...errors, `${at}: expected ${types.join(' or ')}, got ${actual}`];
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value))
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((v, i) => errors.push(...validateSchema(v, schema.items, doc, `${at}[${i}]`)));
  if (actual === 'object' && value) {
    const obj = value as Record<string, unknown>;
    for (const r of (schema.required as string[] | undefined) ?? [])
      if (!(r in obj)) errors.push(`${at}: missing required property "${r}"`);
    const props = (schema.properties ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errors.push(...validateSchema(v, props[k], doc, `${at}.${k}`));
      else if (schema.properties && schema.additionalProperties !== true && typeof schema.additionalProperties !== 'object') {
        errors.push(`${at}: property "${k}" is not in the schema`);
      } else if (typeof schema.additionalProperties === 'object')
        errors.push(...validateSchema(v, schema.additionalProperties, doc, `${at}.${k}`));
    }
  }
  return errors;
}

function templateRegex(tpl: string): RegExp {
  return new RegExp(`^${tpl.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '([^/]+)')}$`);
}

function coerce(v: string, schema: any): unknown {
  const t = schema?.type;
  if ((t === 'integer' || t === 'number') && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (t === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
  return v;
}

/** The operation a request calls, with its path template, or problems when it fits none. */
export function validateRequest(req: RecordedRequest): { operationId?: string; template?: string; errors: string[] } {
  const doc = githubOpenApi();
  const method = req.method.toLowerCase();
  const candidates = Object.keys(doc.paths as Json)
    .map((tpl) => ({ tpl, m: templateRegex(tpl).exec(req.path) }))
    .filter((c) => c.m && (doc.paths as Json)[c.tpl][method])
    // The most literal template wins (/releases/latest before /releases/{release_id}).
    .sort((a, b) => (a.tpl.match(/\{/g)?.length ?? 0) - (b.tpl.match(/\{/g)?.length ?? 0));
  const found = candidates[0];
  if (!found) return { errors: [`${req.method} ${req.path}: no such operation in GitHub's REST API`] };
  const op = (doc.paths as Json)[found.tpl][method] as Json;
  const errors: string[] = [];
  const names = [...found.tpl.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const params = ([...((doc.paths as Json)[found.tpl].parameters ?? []), ...(op.parameters ?? [])] as unknown[]).map(
    (p) => deref(p, doc) as Json,
  );
  names.forEach((name, i) => {
    const p = params.find((x) => x.in === 'path' && x.name === name);
    if (!p) errors.push(`${found.tpl}: path parameter {${name}} is not declared`);
    else errors.push(...validateSchema(coerce(decodeURIComponent(found.m![i + 1]!), p.schema), p.schema, doc, `path.${name}`));
  });
  for (const p of params.filter((x) => x.in === 'query')) {
    if (p.required && !(p.name in req.query)) errors.push(`query parameter "${p.name}" is required`);
  }
  for (const [k, v] of Object.entries(req.query)) {
    const p = params.find((x) => x.in === 'query' && x.name === k);
    if (!p) errors.push(`query parameter "${k}" is not declared for ${op.operationId}`);
    else errors.push(...validateSchema(coerce(v, p.schema), p.schema, doc, `query.${k}`));
  }
  const body = deref(op.requestBody, doc) as Json | undefined;
  if (body) {
    const schema = body.content?.['application/json']?.schema;
    if (req.body === undefined) {
      if (body.required) errors.push(`${op.operationId}: a JSON body is required`);
    } else if (schema) errors.push(...validateSchema(req.body, schema, doc));
  } else if (req.body !== undefined && ['post', 'patch', 'put'].includes(method)) {
    errors.push(`${op.operationId}: takes no body`);
  }
  return { operationId: op.operationId as string, template: found.tpl, errors };
}
