/**
 * References to cdl's own repository under `cdl run`: actions and callable workflows of this cdl,
 * a reference to another major version or to something cdl does not have refused by name, and
 * other repositories left to the usual lookup.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAction } from '../runner/engine/actions.js';
import { CDL_ROOT, isSelfWorkflow, selfReference } from '../runner/engine/self.js';
import { CDL_REPOSITORY, CDL_VERSION } from '../src/version.js';
import { REPO } from './helpers/example.js';

const where = { file: '.github/workflows/cdl.yml', line: 3, column: 5 };
const major = CDL_VERSION.split('.')[0]!;

describe("cdl's own references", () => {
  it('resolve to this cdl: actions, callable workflows, any case of the repository name', async () => {
    expect(path.resolve(CDL_ROOT)).toBe(path.resolve(REPO));
    expect(selfReference(`${CDL_REPOSITORY}/actions/train@v${major}`, where)).toEqual({
      kind: 'action',
      path: path.join(CDL_ROOT, 'actions', 'train'),
    });
    expect(selfReference(`${CDL_REPOSITORY.toUpperCase()}/.github/workflows/model-ci.yml@v${CDL_VERSION}`, where)).toEqual({
      kind: 'workflow',
      path: path.join(CDL_ROOT, '.github', 'workflows', 'model-ci.yml'),
    });
    expect(isSelfWorkflow(`${CDL_REPOSITORY}/.github/workflows/pipeline.yml@v${major}`)).toBe(true);
    const action = await resolveAction(`${CDL_REPOSITORY}/actions/promote@v${major}`, { workspace: REPO, where });
    expect(action.dir).toBe(path.join(CDL_ROOT, 'actions', 'promote'));
    expect(action.inputs).toHaveProperty('mode');
  });

  it('refuse another major version and what cdl does not have, naming the reference and the place', () => {
    const other = `v${Number(major) + 1}`;
    expect(() => selfReference(`${CDL_REPOSITORY}/actions/train@${other}`, where)).toThrow(
      new RegExp(`^\\.github/workflows/cdl\\.yml:3:5: ${CDL_REPOSITORY}/actions/train@${other}: cdl run is cdl ${CDL_VERSION}`),
    );
    expect(() => selfReference(`${CDL_REPOSITORY}/actions/nope@v${major}`, where)).toThrow(/has no such action/);
    expect(() => selfReference(`${CDL_REPOSITORY}/.github/workflows/nope.yml@v${major}`, where)).toThrow(/has no such workflow/);
    expect(selfReference('someone/else/actions/train@v1', where)).toBeUndefined();
    expect(selfReference('actions/checkout@v4', where)).toBeUndefined();
  });
});
