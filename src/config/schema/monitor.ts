/** monitor: where production statistics come from, the drift thresholds, and the feedback loop (cdl.yaml). */
import { z } from 'zod';
import { positiveInt } from './primitives.js';

/** monitor: production traffic against the model's reference statistics (cdl monitor, the monitor action). */
export const monitorSection = z.strictObject({
  source: z
    .string()
    .optional()
    .describe(
      'Where the production statistics come from: the model server URL (http://host:8000) or a stats JSON file; the --source option overrides it',
    ),
  version: z.string().optional().describe('The served version to watch (default: the newest the server reports)'),
  psi: z
    .strictObject({
      warn: z
        .number()
        .positive()
        .default(0.1)
        .describe('Population stability index from which a distribution is reported as shifting'),
      alert: z.number().positive().default(0.25).describe('PSI from which it is drift'),
    })
    .refine((p) => p.warn <= p.alert, { error: 'expected warn <= alert', path: ['warn'] })
    .default({ warn: 0.1, alert: 0.25 }),
  ks_p_value: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.01)
    .describe(
      'Inputs: a summary past psi.warn is drift when its Kolmogorov–Smirnov p-value is below this (Bonferroni-corrected over the summaries)',
    ),
  min_samples: positiveInt.default(200).describe('Fewer production examples than this: no verdict, only a note'),
  issue: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Open or update one issue with the findings when there is drift'),
      title: z.string().optional().describe('Default: "Drift detected: <model>"'),
      labels: z.array(z.string()).default(['cdl-monitor']),
    })
    .default({ enabled: true, labels: ['cdl-monitor'] }),
  retrain: z
    .strictObject({
      workflow: z.string().describe('Workflow file name or id to dispatch (workflow_dispatch), e.g. train.yml'),
      ref: z.string().optional().describe('Branch or tag to run it on (default: the repository default branch)'),
      on: z.enum(['alert', 'warn']).default('alert').describe('Dispatch on drift alerts only, or on warnings too'),
      inputs: z.record(z.string(), z.string()).default({}).describe('workflow_dispatch inputs'),
    })
    .optional()
    .describe('The feedback loop: dispatch a retraining workflow when drift is found'),
});

export type MonitorSection = z.output<typeof monitorSection>;
