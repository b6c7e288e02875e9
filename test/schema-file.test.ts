/** The committed JSON Schema for editors is generated from the one config schema and kept current. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../src/config/index.js';

describe('schema/cdl.schema.json', () => {
  it('equals the schema generated from src/config (regenerate: node bin/cdl.js schema --out schema/cdl.schema.json)', () => {
    const committed = JSON.parse(readFileSync(fileURLToPath(new URL('../schema/cdl.schema.json', import.meta.url)), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });

  it('describes the layer kinds and the data formats users write', () => {
    const text = JSON.stringify(configJsonSchema());
    for (const kind of [
      'dense',
      'conv2d',
      'maxpool',
      'avgpool',
      'globalavgpool',
      'flatten',
      'dropout',
      'batchnorm',
      'activation',
    ]) {
      expect(text).toContain(`"const":"${kind}"`);
    }
    expect(text).toContain('"image-folder"');
  });
});
