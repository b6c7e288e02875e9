/**
 * The actions' input and output names live in one place (src/github/action-names.ts): each list
 * matches its action.yml exactly, and the entry points read and set names only through it, hold no
 * copy of what is written once elsewhere (the run URL, the actor, the .cdl/ defaults) and import
 * nothing from the command line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ACTION_NAMES } from '../src/github/action-names.js';
import { REPO } from './helpers/example.js';

const actionsDir = path.join(REPO, 'actions');
const folders = readdirSync(actionsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(actionsDir, d.name, 'action.yml')))
  .map((d) => d.name);

describe('action names', () => {
  it('there is a list for every action and an action for every list', () => {
    expect(Object.keys(ACTION_NAMES).sort()).toEqual([...folders].sort());
  });

  it.each(folders)('%s: the inputs and outputs are those of action.yml, in its order', (name) => {
    const meta = parseYaml(readFileSync(path.join(actionsDir, name, 'action.yml'), 'utf8')) as {
      inputs?: Record<string, unknown>;
      outputs?: Record<string, unknown>;
    };
    const names = ACTION_NAMES[name as keyof typeof ACTION_NAMES];
    expect(Object.values(names.inputs)).toEqual(Object.keys(meta.inputs ?? {}));
    expect(Object.values(names.outputs)).toEqual(Object.keys(meta.outputs ?? {}));
  });

  it.each(folders)('%s: the entry point names inputs and outputs only through the list', (name) => {
    const src = readFileSync(path.join(actionsDir, name, 'src', 'main.ts'), 'utf8');
    expect(src).toMatch(/getInput(AsBool|AsInt|AsList)?\(I\./);
    expect(src).not.toMatch(/getInput(AsBool|AsInt|AsList)?\(\s*['"`]/);
    expect(src).not.toMatch(/setOutput\(\s*['"`]/);
    expect(src).not.toMatch(/core\.getInput\(/);
  });

  it.each(folders)('%s: the entry point stays thin', (name) => {
    const src = readFileSync(path.join(actionsDir, name, 'src', 'main.ts'), 'utf8');
    expect(src).not.toMatch(/from '[./]*\/src\/cli\//);
    expect(src).not.toMatch(/GITHUB_SERVER_URL|GITHUB_ACTOR\b|RUNNER_TEMP/);
    expect(src).not.toMatch(/['"]\.cdl['"/]/);
  });
});
