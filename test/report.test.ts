/** The report: Markdown tables and Mermaid charts for GitHub, and the same content as one HTML page. */
import { describe, expect, it } from 'vitest';
import { gateSection } from '../src/config/schema.js';
import { decide, type EvaluatedModel, type Evaluation } from '../src/evaluate/index.js';
import { buildReport, confusionTable, htmlReport, largestConfusions, markdownReport } from '../src/report/index.js';

const classes = ['cat', 'dog | wolf', 'bird "tweety"'];

function evaluated(accuracy: number, correct: number[], sha: string): EvaluatedModel {
  const evaluation: Evaluation = {
    schema_version: 1,
    model: {
      dir: `/m/${sha}`,
      name: 'pets',
      sha256: sha.repeat(64).slice(0, 64),
      size_bytes: 2048,
      input: { name: 'x', shape: ['N', 4], layout: 'as-is', fed: [4] },
      outputs: 'probabilities',
      producer: 'cdl',
      commit: null,
    },
    task: 'classification',
    data: { split: 'test', examples: correct.length, version: 'sha256:0123456789abcdef0123', source: '/data' },
    metrics: { accuracy, macro_f1: accuracy - 0.05, latency_p95_ms: 0.5, size_bytes: 2048 },
    classes,
    per_class: classes.map((c, i) => ({ class: c, precision: 0.8 - i * 0.1, recall: 0.7, f1: accuracy - i * 0.1, support: 10 })),
    confusion: [
      [8, 1, 1],
      [5, 4, 1],
      [0, 2, 8],
    ],
    timing: { predict_seconds: 0.01, examples_per_second: 3000, latency_runs: 10, throughput_batches: 0 },
    created_at: '2026-01-01T00:00:00.000Z',
  };
  const labels = new Int32Array(correct.length);
  return {
    evaluation,
    perExample: { labels, pred: Int32Array.from(correct, (c) => (c ? 0 : 1)), correct: Uint8Array.from(correct), classes: 3 },
    modelDir: { dir: `/m/${sha}`, onnxPath: '', hasTfjs: false, onnx: new Uint8Array(0), sha256: sha },
  };
}

describe('report', () => {
  const cand = evaluated(
    0.6,
    Array.from({ length: 30 }, (_, i) => (i % 5 < 3 ? 1 : 0)),
    'c',
  );
  const base = evaluated(
    0.7,
    Array.from({ length: 30 }, (_, i) => (i % 10 < 7 ? 1 : 0)),
    'b',
  );
  const gate = gateSection.parse({ metrics: { accuracy: { min: 0.5, max_regression: 0.2 }, latency_p95_ms: { max: 0.1 } } });
  const blessing = decide(cand, {
    gate,
    model: 'pets',
    baseline: { evaluated: base, identity: { kind: 'release', ref: 'production', tag: 'pets-v2.0.0' } },
    now: new Date('2026-02-03T04:05:06Z'),
  });
  const input = {
    blessing,
    candidate: cand.evaluation,
    baseline: base.evaluation,
    history: [
      { label: 'pets-v1.0.0', value: 0.65 },
      { label: 'pets-v2.0.0', value: 0.7 },
    ],
  };

  it('the Markdown table has metric, candidate, baseline, delta, threshold and verdict, with cells escaped', () => {
    const md = markdownReport(input);
    expect(md).toMatch(/^## ❌ cdl evaluate-gate: pets — rejected\n/);
    expect(md).toContain('| metric | candidate | baseline | delta | threshold | verdict |');
    expect(md).toMatch(
      /\| accuracy \| 0\.6000 \| 0\.7000 \| −0\.1000 \((within noise|significant)\) \| ≥ 0\.5000; at most 0\.2000 below baseline \| ✅ \|/,
    );
    expect(md).toContain('| latency p95 (ms, batch 1) | 0.500 | 0.500 | 0.000 | ≤ 0.100 | ❌ |');
    expect(md).toContain('| macro-F1 | 0.5500 | 0.6500 | −0.1000');
    expect(md).toContain('| dog \\| wolf |');
    expect(md).toContain('- ❌ **latency p95 (ms, batch 1)**: latency_p95_ms 0.500 is above the maximum 0.100');
    expect(md).toContain('**Baseline:** production: release `pets-v2.0.0`');
  });

  it('draws per-class F1 and the main metric across releases as Mermaid charts GitHub renders', () => {
    const md = markdownReport(input);
    const blocks = [...md.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toBe(
      [
        'xychart-beta',
        '  title "Per-class F1: candidate (bars) vs baseline (line)"',
        `  x-axis ["cat", "dog | wolf", "bird 'tweety'"]`,
        '  y-axis "F1" 0 --> 1',
        '  bar [0.6, 0.5, 0.4]',
        '  line [0.7, 0.6, 0.5]',
        '',
      ].join('\n'),
    );
    expect(blocks[1]).toContain('x-axis ["pets-v1.0.0", "pets-v2.0.0", "candidate"]');
    expect(blocks[1]).toContain('line [0.65, 0.7, 0.6]');
    expect(blocks[1]).toMatch(/y-axis "accuracy" 0\.5\d* --> 0\.7\d*/);
  });

  it('names the largest confusions and shows the matrix as a table', () => {
    expect(largestConfusions(classes, cand.evaluation.confusion!, 2)).toEqual([
      { true: 'dog | wolf', predicted: 'cat', count: 5, rate: 0.5 },
      { true: 'bird "tweety"', predicted: 'dog | wolf', count: 2, rate: 0.2 },
    ]);
    expect(markdownReport(input)).toContain('Largest confusions: **dog \\| wolf → cat** (5, 50.0% of dog \\| wolf)');
    expect(
      confusionTable(
        ['a', 'b'],
        [
          [3, 0],
          [1, 2],
        ],
      ),
    ).toBe('| true ↓ / predicted → | a | b |\n|---|---:|---:|\n| **a** | **3** | · |\n| **b** | 1 | **2** |');
  });

  it('says when there is no baseline and no release history', () => {
    const alone = decide(cand, { gate, model: 'pets', baseline: { note: 'no release of pets found' } });
    const md = markdownReport({ blessing: alone, candidate: cand.evaluation });
    expect(md).toContain('**Baseline:** none — no release of pets found; only absolute bounds apply');
    expect(md).toContain('No earlier release to compare with yet.');
    expect(md).toContain('title "Per-class F1 of the candidate"');
    expect(md).not.toContain('  line [');
    expect(buildReport({ blessing: alone, candidate: cand.evaluation }).rows.find((r) => r.metric === 'accuracy')!.noise).toBe(
      '',
    );
  });

  it('a forced bless is shown as such', () => {
    const forced = decide(cand, {
      gate,
      model: 'pets',
      baseline: { evaluated: base },
      forceBless: { reason: 'hotfix, approved by @lead', by: 'octocat' },
    });
    expect(forced.decision).toBe('blessed');
    expect(markdownReport({ blessing: forced, candidate: cand.evaluation })).toContain(
      '> Force-blessed by octocat: hotfix, approved by @lead.',
    );
  });

  it('the HTML page carries the same content, self-contained and escaped', () => {
    const html = htmlReport(input);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<h1>❌ cdl evaluate-gate: pets — rejected</h1>');
    expect(html).toContain('<td>dog | wolf</td>');
    expect(html).toContain('bird &quot;tweety&quot;');
    expect(html).toContain('<code>pets-v2.0.0</code>');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|<link|src="http/);
  });
});
