/** The study report: its HTML page draws the parallel coordinates through Vega-Lite (renderChart). */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { htmlReport, markdownReport } from '../src/tune/report.js';
import { resolveSpace } from '../src/tune/space.js';
import { STUDY_FORMAT, type Study, type TrialRecord } from '../src/tune/study.js';

const { value: config } = parseConfig(`
version: 1
model:
  name: digits
  layers: [{ type: flatten }, { type: dense, units: 10 }]
data: { format: idx, path: ./data }
tune:
  space:
    learning_rate: { type: loguniform, low: 0.001, high: 0.1 }
    batch_size: { type: categorical, choices: [32, 64, 128] }
`);
const space = resolveSpace(config!);

function trial(number: number, learningRate: number, batchSize: number, value: number): TrialRecord {
  return {
    number,
    bracket: 0,
    rung: 0,
    status: 'completed',
    params: { learning_rate: learningRate, batch_size: batchSize },
    results: [{ rung: 0, epochs: 2, value, seconds: 1 }],
    epochs: 2,
  };
}

const study: Study = {
  format: STUDY_FORMAT,
  model: 'digits <small>',
  key: 'k',
  metric: 'val_accuracy',
  direction: 'maximize',
  trials_total: 3,
  sampler: { type: 'random', seed: 1 } as Study['sampler'],
  scheduler: { type: 'none', reductionFactor: 3, minEpochs: 2, maxEpochs: 2, budgets: [2] },
  trials: [trial(0, 0.002, 32, 0.81), trial(1, 0.05, 128, 0.93), trial(2, 0.01, 64, 0.88)],
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

describe('tune report', () => {
  it('draws the parallel coordinates as a Vega-Lite chart named for the trials, with each axis and its range', async () => {
    const html = await htmlReport(study, space);
    const svg =
      /<svg[^>]*aria-label="parallel coordinates of the trials: 2 hyperparameters against val_accuracy, 3 trials"[\s\S]*?<\/svg>/.exec(
        html,
      )?.[0];
    expect(svg, html).toBeDefined();
    expect(svg).toContain('class="marks"');
    for (const label of ['learning_rate', 'batch_size', 'val_accuracy', '0.001000', '0.1000', '32', '128', '0.8100', '0.9300']) {
      expect(svg).toContain(`>${label}</text>`);
    }
    expect(html).not.toContain('<polyline');
    expect(html).toContain('<title>cdl tune: digits &lt;small&gt;</title>');
  });

  it('keeps the Mermaid chart in the Markdown report', () => {
    expect(markdownReport(study, space)).toMatch(/```mermaid\nxychart-beta\n {2}title "val_accuracy per trial/);
  });
});
