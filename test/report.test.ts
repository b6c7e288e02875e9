/** The report: Markdown tables and Mermaid charts for GitHub, and the same content as one HTML page. */
import { describe, expect, it } from 'vitest';
import { gateSection } from '../src/config/schema/gate.js';
import { PNG } from 'pngjs';
import { decide, holmAdjust, predictionChanges, type EvaluatedModel, type Evaluation } from '../src/evaluate/index.js';
import {
  buildReport,
  confusionTable,
  htmlReport,
  largestConfusions,
  markdownReport,
  renderHtml,
  renderMarkdown,
  thumbnailPng,
  thumbnailUris,
} from '../src/report/index.js';

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

  it('the HTML page carries the same content, self-contained and escaped', async () => {
    const html = await htmlReport(input);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<h1>❌ cdl evaluate-gate: pets — rejected</h1>');
    expect(html).toContain('<td>dog | wolf</td>');
    expect(html).toContain('bird &quot;tweety&quot;');
    expect(html).toContain('<code>pets-v2.0.0</code>');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|<link|src="http/);
  });
});

describe('what changed against production', () => {
  // 12 test examples of 3 classes; the baseline and the candidate differ on known rows.
  const labels = Int32Array.from({ length: 12 }, (_, i) => i % 3);
  const basePred = Int32Array.from([0, 1, 2, 0, 1, 2, 1, 1, 2, 0, 2, 0]); // wrong on 6, 10, 11
  const candPred = Int32Array.from([0, 1, 2, 1, 1, 0, 0, 1, 2, 0, 1, 1]); // wrong on 3, 5, 11
  const pe = (pred: Int32Array, loss: number[]) => ({
    labels,
    pred,
    correct: Uint8Array.from(pred, (p, i) => (p === labels[i] ? 1 : 0)),
    logLoss: Float64Array.from(loss),
    classes: 3,
  });
  const base = pe(basePred, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 2.0, 0.1, 0.1, 0.1, 3.0, 1.0]);
  const cand = pe(candPred, [0.1, 0.1, 0.1, 1.5, 0.1, 2.5, 0.1, 0.1, 0.1, 0.1, 0.1, 1.2]);
  const names = ['cat', 'dog', 'bird'];

  it('lists the fixed and broken examples with true label and both predictions, most confident first', () => {
    const ch = predictionChanges(cand, base, names)!;
    // fixed: 6 (baseline said dog for a cat), 10 (bird for dog); broken: 3 (cat → dog), 5 (bird → cat);
    // 11 (a bird) stays wrong but changes from cat to dog.
    expect(ch).toMatchObject({ fixed: 2, broken: 2, changed: 5, limit: 50, confidence: 0.95 });
    expect(ch.examples.fixed).toEqual([
      { index: 10, label: 1, candidate: 1, baseline: 2 },
      { index: 6, label: 0, candidate: 0, baseline: 1 },
    ]);
    expect(ch.examples.broken).toEqual([
      { index: 5, label: 2, candidate: 0, baseline: 2 },
      { index: 3, label: 0, candidate: 1, baseline: 0 },
    ]);
    expect(ch.per_class.map((c) => [c.class, c.examples, c.fixed, c.broken, +c.delta.toFixed(4)])).toEqual([
      ['cat', 4, 1, 1, 0],
      ['dog', 4, 1, 0, 0.25],
      ['bird', 4, 0, 1, -0.25],
    ]);
    expect(ch.per_class.every((c) => c.p_value === 1 && c.p_adjusted === 1 && !c.significant)).toBe(true);
    // Bounded: only `limit` listed each way, the totals still count all.
    const one = predictionChanges(cand, base, names, { limit: 1 })!;
    expect([one.fixed, one.examples.fixed.map((e) => e.index), one.examples.broken.map((e) => e.index)]).toEqual([2, [10], [5]]);
    // Nothing to list for regression or different example sets.
    expect(predictionChanges({ ...cand, correct: undefined }, base, names)).toBeUndefined();
    expect(predictionChanges(cand, { ...base, labels: labels.subarray(1) }, names)).toBeUndefined();
  });

  it('adjusts the per-class p-values with Holm', () => {
    expect(holmAdjust([0.01, 0.04, 0.03]).map((p) => +p.toFixed(6))).toEqual([0.03, 0.06, 0.06]);
    expect(holmAdjust([0.5, 0.9])).toEqual([1, 1]);
  });

  it('thumbnails are PNGs of the example itself, inline', () => {
    // Two 2×3 grey images; the second has a bright pixel at row 1, column 2.
    const x = new Float32Array(12);
    x[6 + 5] = 1;
    x[6 + 0] = 0.5;
    const png = PNG.sync.read(thumbnailPng(x, 1, [2, 3, 1]));
    expect([png.width, png.height]).toEqual([3, 2]);
    const grey = (r: number, c: number) => png.data[(r * 3 + c) * 4]!;
    expect([grey(0, 0), grey(0, 1), grey(1, 2)]).toEqual([128, 0, 255]);
    expect(Object.keys(thumbnailUris(x, [2, 3, 1], [0, 1]))).toEqual(['0', '1']);
    expect(thumbnailUris(x, [2, 3, 1], [1])[1]).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
    expect(thumbnailUris(x, [6, 2], [1])).toEqual({});
  });

  function input() {
    const ev = (accuracy: number, f1: number[]): Evaluation => ({
      ...evaluatedEvaluation(accuracy),
      classes: names,
      per_class: names.map((c, i) => ({ class: c, precision: 0.7, recall: 0.7, f1: f1[i]!, support: 4 })),
    });
    const candidate = ev(0.75, [0.8, 0.9, 0.6]);
    const baseline = ev(0.75, [0.8, 0.7, 0.75]);
    const wrap = (evaluation: Evaluation, perExample: ReturnType<typeof pe>): EvaluatedModel => ({
      evaluation,
      perExample,
      modelDir: { dir: evaluation.model.dir, onnxPath: '', hasTfjs: false, onnx: new Uint8Array(0), sha256: 'x' },
    });
    const blessing = decide(wrap(candidate, cand), {
      model: 'pets',
      baseline: { evaluated: wrap(baseline, base), identity: { kind: 'release', ref: 'production', tag: 'pets@v1.0.0' } },
    });
    const x = Float32Array.from({ length: 12 * 4 }, (_, i) => (i % 5) / 4);
    const changes = predictionChanges(cand, base, names)!;
    const history = (acc: number[]) =>
      acc.map((a, i) => ({ epoch: i + 1, loss: 1 - a, accuracy: a, val_loss: 1.1 - a, val_accuracy: a - 0.02 }));
    return {
      blessing,
      candidate,
      baseline,
      changes,
      thumbnails: thumbnailUris(
        x,
        [2, 2, 1],
        [...changes.examples.fixed, ...changes.examples.broken].map((e) => e.index),
      ),
      curves: { candidate: history([0.5, 0.7, 0.8]), baseline: history([0.6, 0.7, 0.75]) },
    };
  }

  it('the comment has the per-class change worst first, the changed examples and the training curves', () => {
    const c = buildReport(input());
    expect(c.baselineName).toBe('production');
    expect(c.classChanges.map((k) => k.name)).toEqual(['bird', 'cat', 'dog']);
    expect(c.classChanges[0]).toMatchObject({ delta: -0.25, broken: 1, fixed: 0, significant: false });
    expect(c.classChanges[0]!.f1Delta).toBeCloseTo(-0.15, 6);
    const md = renderMarkdown(c);
    expect(md).toContain('### Per-class change against production, worst first');
    expect(md).toContain('| bird | 0.500 | 0.750 | −0.250 | 0 | 1 | 1.000 | −0.150 |');
    expect(md).toContain('5 of 12 test predictions changed');
    expect(md).toContain(
      '**2 fixed** (production wrong, candidate right), **2 broken** (production right, candidate wrong), 1 from one wrong class to another.',
    );
    expect(md).toContain(
      '| test example | true | production | candidate |\n|---:|---|---|---|\n| 5 | bird | bird | cat |\n| 3 | cat | cat | dog |',
    );
    expect(md).toContain('| 10 | dog | bird | dog |\n| 6 | cat | dog | cat |');
    expect(md).toContain('### Training curves');
    const curves = [...md.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('per epoch'))!;
    expect(curves).toContain('title "validation accuracy per epoch: candidate (first line) vs production (second line)"');
    expect(curves).toContain('line [0.48, 0.68, 0.78]');
    expect(curves).toContain('line [0.58, 0.68, 0.73]');
    expect(md).toContain('| production | 3 | 0.2500 | 0.7500 | 0.3500 | 0.7300 |');
  });

  it('the comment lists at most 10 examples each way', () => {
    const many = { ...input() };
    const rows = Array.from({ length: 30 }, (_, i) => ({ index: i, label: 0, candidate: 1, baseline: 0 }));
    many.changes = { ...many.changes, broken: 30, examples: { fixed: [], broken: rows } };
    const md = renderMarkdown(buildReport(many));
    expect(md).toContain('**Broken** (10 of 30, the most confident first):');
    expect(md).not.toContain('**Fixed**');
    expect(md.match(/^\| \d+ \| cat \| cat \| dog \|$/gm)).toHaveLength(10);
  });

  it('the HTML page shows the changed examples as inline thumbnails and every chart through Vega-Lite', async () => {
    const html = await renderHtml(buildReport(input()));
    const figures = [
      ...html.matchAll(/<figure class="example"><img src="data:image\/png;base64,[A-Za-z0-9+/=]+" alt="test example (\d+)/g),
    ];
    expect(figures.map((m) => Number(m[1]))).toEqual([5, 3, 10, 6]);
    expect(html).toContain('#5 · <strong>bird</strong><br>production: bird<br>candidate: cat');
    const labels = [...html.matchAll(/<svg role="img" aria-label="([^"]+)"/g)].map((m) => m[1]);
    expect(labels).toEqual([
      'Per-class F1',
      'Per-class change of recall against production',
      'Loss per epoch',
      'accuracy per epoch',
    ]);
    expect(html).not.toMatch(/<script|<link|src="http|https?:\/\/(?!www\.w3\.org)/);
  });
});

function evaluatedEvaluation(accuracy: number): Evaluation {
  return {
    schema_version: 1,
    model: {
      dir: '/m/x',
      name: 'pets',
      sha256: 'a'.repeat(64),
      size_bytes: 2048,
      input: { name: 'x', shape: ['N', 2, 2, 1], layout: 'as-is', fed: [2, 2, 1] },
      outputs: 'probabilities',
      producer: 'cdl',
      commit: null,
    },
    task: 'classification',
    data: { split: 'test', examples: 12, version: 'sha256:0123456789abcdef0123', source: '/data' },
    metrics: { accuracy },
    timing: { predict_seconds: 0.01, examples_per_second: 3000, latency_runs: 0, throughput_batches: 0 },
    created_at: '2026-01-01T00:00:00.000Z',
  };
}
