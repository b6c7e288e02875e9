/**
 * The one schema of cdl.yaml. Types, validation and the editor JSON Schema all come from here;
 * each section's schema is in its own file beside this one.
 * Keys are snake_case as users write them in YAML.
 */
import { z } from 'zod';
import { compressSection } from './compress.js';
import { dataSection } from './data.js';
import { deploySection } from './deploy.js';
import { gateSection } from './gate.js';
import { modelSection } from './model.js';
import { monitorSection } from './monitor.js';
import { releaseSection } from './release.js';
import { trainSection } from './train.js';
import { tuneSection } from './tune.js';

export const configSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    model: modelSection,
    data: dataSection,
    train: trainSection.default(trainSection.parse({})),
    // Filled by later steps of the pipeline; kept as free-form sections until they are defined.
    tune: tuneSection.optional(),
    gate: gateSection.optional(),
    compress: compressSection.optional(),
    deploy: deploySection.optional(),
    release: releaseSection.optional(),
    monitor: monitorSection.optional(),
  })
  .refine(
    // A training command builds its own model: then the model section needs neither.
    (c) => c.model?.layers !== undefined || c.model?.module !== undefined || typeof c.train?.command === 'string',
    {
      message: 'expected either "layers" or "module" (or a train.command that builds the model)',
      path: ['model', 'layers'],
      // Checked even when other sections have problems, so every problem is reported at once.
      when: (p) => typeof (p.value as { model?: unknown })?.model === 'object' && (p.value as { model?: unknown }).model !== null,
    },
  )
  .refine((c) => c.train?.launcher === undefined || typeof c.train?.command === 'string', {
    message: 'a launcher starts train.command: expected train.command too',
    path: ['train', 'launcher'],
  });

export type CdlConfig = z.output<typeof configSchema>;
export type CdlConfigInput = z.input<typeof configSchema>;
