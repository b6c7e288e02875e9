/** A user model module (model.module): loaded, called with its arguments, and every wrong form named. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { bundledTf } from '../src/train/tf.js';
import { loadModelModule } from '../src/train/model-module.js';
import { ConfigError, TrainError } from '../src/util/errors.js';

const tf = bundledTf();

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('loadModelModule', () => {
  let dir: string;
  const info = { inputShape: [6], numClasses: 3 };
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cdl-model-module-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds the model with hyperparameters, tf and info (sync, async, CommonJS)', async () => {
    const f = write(
      'good.mjs',
      `export default (hp, tf, { inputShape, numClasses }) => {
         const m = tf.sequential({ name: 'user' });
         m.add(tf.layers.dense({ inputShape, units: hp.units, activation: 'relu' }));
         m.add(tf.layers.dense({ units: numClasses, activation: 'softmax' }));
         return m;
       };`,
    );
    const m = await loadModelModule(f, { units: 5 }, tf, info);
    expect(m.name).toBe('user');
    expect(m.outputs[0]!.shape).toEqual([null, 3]);
    expect((m.layers[0]!.getConfig() as { units: number }).units).toBe(5);
    m.dispose();

    const g = write(
      'async.mjs',
      `export default async (hp, tf, info) => tf.sequential({ layers: [tf.layers.dense({ inputShape: info.inputShape, units: 2 })] });`,
    );
    (await loadModelModule(g, {}, tf, info)).dispose();

    const c = write(
      'cjs.cjs',
      `module.exports = (hp, tf, info) => tf.sequential({ layers: [tf.layers.dense({ inputShape: info.inputShape, units: 2 })] });`,
    );
    (await loadModelModule(c, {}, tf, info)).dispose();
  });

  it('a missing file', async () => {
    await expect(loadModelModule(path.join(dir, 'nope.mjs'), {}, tf, info)).rejects.toThrow(
      /^model\.module \(.*nope\.mjs\): file not found: /,
    );
    await expect(loadModelModule(dir, {}, tf, info)).rejects.toBeInstanceOf(ConfigError);
  });

  it('no default export, or one that is not a function', async () => {
    const a = write('nodefault.mjs', `export const build = () => null;`);
    await expect(loadModelModule(a, {}, tf, info)).rejects.toThrow(
      /has no default export; expected `export default \(hyperparameters, tf, \{ inputShape, numClasses \}\) => model` \(it exports build\)/,
    );
    const b = write('number.mjs', `export default 42;`);
    await expect(loadModelModule(b, {}, tf, info)).rejects.toThrow(/the default export is a number, expected a function/);
  });

  it('a module that does not load', async () => {
    const f = write('broken.mjs', `export default (;`);
    const err = await loadModelModule(f, {}, tf, info).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/cannot be loaded: /);
  });

  it('returning something other than a LayersModel', async () => {
    for (const [name, body, what] of [
      ['object.mjs', '() => ({ layers: [] })', 'an object'],
      ['undef.mjs', '() => {}', 'undefined'],
      ['tensor.mjs', '(hp, tf) => tf.zeros([2])', 'a Tensor'],
    ] as const) {
      const f = write(name, `export default ${body};`);
      const err = await loadModelModule(f, {}, tf, info).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(`the default export returned ${what}, expected a tf.LayersModel`);
    }
  });

  it('a builder that throws, and a model whose input does not fit the data', async () => {
    const f = write('throws.mjs', `export default () => { throw new Error('boom'); };`);
    const err = await loadModelModule(f, {}, tf, info).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainError);
    expect((err as Error).message).toMatch(/building the model failed: boom/);

    const g = write(
      'shape.mjs',
      `export default (hp, tf) => tf.sequential({ layers: [tf.layers.dense({ inputShape: [7], units: 2 })] });`,
    );
    await expect(loadModelModule(g, {}, tf, info)).rejects.toThrow(/the model's input shape is \[7\] but the data's is \[6\]/);
  });
});
