import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { installKernels } from '../src/train/kernels/index.js';
import { setMaxColumnFloats } from '../src/train/kernels/conv-backprop-filter.js';
import { forceChoice } from '../src/train/kernels/kernel-choice.js';
import { setConvTranspose } from '../src/train/kernels/ort-conv.js';
import { bindingProblem, loadOrt, overrideOrtLoad } from '../src/train/kernels/ort.js';
import { setSimdEnabled, simdFor } from '../src/train/kernels/simd.js';
import type { WasmBackendLike } from '../src/train/kernels/wasm-util.js';
import { CONV_CASES, tolerance, verifyKernels, type KernelCheck } from '../src/train/kernels/verify.js';
import { maxAbs, maxAbsDiff, on, rand, size } from './kernels-helpers.js';

function summarize(checks: KernelCheck[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const c of checks) m[c.kernel] = Math.max(m[c.kernel] ?? 0, c.maxAbsDiff);
  return m;
}

function failures(checks: KernelCheck[], kernels?: string[]): string[] {
  return checks
    .filter((c) => !kernels || kernels.some((k) => c.kernel.startsWith(k)))
    .filter((c) => !(c.maxAbsDiff <= tolerance(c)))
    .map((c) => `${c.kernel} ${c.case}: ${c.maxAbsDiff} (scale ${c.scale})`);
}

describe('wasm kernel layer: reference mode', () => {
  let checks: KernelCheck[] = [];
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    const info = await installKernels('reference');
    expect(info.name).toBe('wasm-reference');
    expect(info.kernels).toContain('Conv2DBackpropFilter');
    checks = await verifyKernels();
  });
  afterAll(() => console.log('reference mode, max abs differences vs tfjs-backend-cpu:', summarize(checks)));

  it('provides Conv2DBackpropFilter (missing in wasm) equal to the cpu kernel', () => {
    expect(failures(checks, ['Conv2DBackpropFilter', 'grad conv2d (dw)'])).toEqual([]);
    expect(checks.filter((c) => c.kernel === 'Conv2DBackpropFilter').length).toBe(CONV_CASES.length);
  });

  it("detects tfjs-backend-wasm 4.22's MaxPoolGrad bug on windows of non-positive values", () => {
    const bad = checks.filter((c) => c.kernel === 'MaxPoolGrad' && c.case.includes('nonpositive'));
    expect(bad.length).toBeGreaterThan(0);
    // The wasm kernel's running maximum starts at the smallest positive float: wrong here.
    expect(bad.some((c) => c.maxAbsDiff > 1e-3)).toBe(true);
    // (Data in [-1, 1) has such windows too, so it also fails the 'random' cases.)
  });

  it("detects tfjs-backend-wasm 4.22's wrong _FusedMatMul with a transposed operand", () => {
    const fm = checks.filter((c) => c.kernel === '_FusedMatMul');
    expect(
      fm.filter((c) => c.case.includes('transposeA=false transposeB=false')).every((c) => c.maxAbsDiff <= tolerance(c)),
    ).toBe(true);
    expect(fm.some((c) => c.maxAbsDiff > 1e-2)).toBe(true);
  });

  it('Conv2DBackpropFilter processes the batch in chunks with the same result', async () => {
    const c = CONV_CASES[4];
    const xv = rand(size(c.x), 3);
    await tf.setBackend('cpu');
    const yShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad).shape);
    const dyv = rand(size(yShape), 4);
    const run = () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, c.x), dy: tf.tensor(dyv, yShape) }, {
        strides: c.strides,
        pad: c.pad,
        dataFormat: 'NHWC',
        filterShape: c.f,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const [ref] = await on('cpu', run);
    const prev = setMaxColumnFloats(1);
    try {
      const [got] = await on('wasm', run);
      expect(maxAbsDiff(ref, got)).toBeLessThan(1e-5 * Math.max(1, maxAbs(ref)));
    } finally {
      setMaxColumnFloats(prev);
    }
  });
});

describe('wasm kernel layer: fast mode (pure wasm)', () => {
  let checks: KernelCheck[] = [];
  beforeAll(async () => {
    await tf.setBackend('wasm');
    const info = await installKernels('fast', { ort: false });
    expect(info.name).toBe('cdl-fast-wasm');
    expect(info.kernels).toEqual(
      expect.arrayContaining([
        'BatchMatMul',
        'Conv2DBackpropInput',
        'Conv2DBackpropFilter',
        'MaxPoolGrad',
        'Sum',
        'Identity',
        'Cast',
      ]),
    );
    checks = await verifyKernels();
  });
  afterAll(() => console.log('fast mode, max abs differences vs tfjs-backend-cpu:', summarize(checks)));

  it('every replaced kernel and gradient equals the cpu reference on odd shapes', () => {
    expect(failures(checks)).toEqual([]);
  });

  it('MaxPoolGrad is right on windows of non-positive values and on ties', () => {
    const pool = checks.filter((c) => c.kernel === 'MaxPoolGrad');
    expect(pool.some((c) => c.case.includes('nonpositive'))).toBe(true);
    expect(pool.some((c) => c.case.includes('ties'))).toBe(true);
    for (const c of pool) expect(c.maxAbsDiff).toBeLessThanOrEqual(tolerance(c));
  });

  it('Cast to the same dtype shares the data; other casts and the relu gradient are unchanged', () => {
    expect(checks.filter((c) => c.kernel === 'Cast' || c.kernel === 'grad relu').length).toBe(3);
    expect(failures(checks, ['Cast', 'grad relu'])).toEqual([]);
  });

  it('keeps tensor bookkeeping balanced (no leaks from shared Identity data)', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor4d(rand(2 * 8 * 8 * 3, 9), [2, 8, 8, 3]);
    const w = tf.tensor4d(rand(3 * 3 * 3 * 4, 10), [3, 3, 3, 4]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.maxPool(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')), 2, 2, 'valid')),
    )([x, w]);
    tf.dispose([...g, x, w]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('wasm kernel layer: SIMD helpers (simd.wat)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await installKernels('fast', { ort: false });
  });

  it('are available on the wasm backend in Node', () => {
    expect(simdFor(tf.backend() as unknown as WasmBackendLike)).not.toBeNull();
  });

  // The CNN's shapes (cut to a small batch) and odd ones with edges no window covers.
  const poolShapes: [number, number, number, number][] = [
    [3, 26, 26, 32],
    [2, 11, 11, 64],
    [2, 13, 7, 4],
    [1, 5, 9, 20],
  ];
  for (const shape of poolShapes) {
    for (const values of ['random', 'relu'] as const) {
      it(`MaxPoolGrad 2×2/2 on ${JSON.stringify(shape)} (${values}): SIMD = JS loop = cpu`, async () => {
        const xv = rand(size(shape), 61);
        // After a relu most windows hold ties of zeros: the first one must win.
        if (values === 'relu') for (let i = 0; i < xv.length; i++) xv[i] = Math.max(0, xv[i]);
        const run = () => {
          const x = tf.tensor4d(xv, shape);
          const y = tf.maxPool(x, 2, 2, 'valid');
          const dy = tf.tensor(rand(size(y.shape), 62), y.shape);
          return tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, {
            filterSize: 2,
            strides: 2,
            pad: 'valid',
          } as never) as tf.Tensor;
        };
        const [ref] = await on('cpu', run);
        const [simd] = await on('wasm', run);
        setSimdEnabled(false);
        try {
          const [js] = await on('wasm', run);
          expect(maxAbsDiff(ref, js)).toBe(0);
        } finally {
          setSimdEnabled(true);
        }
        expect(maxAbsDiff(ref, simd)).toBe(0);
      });
    }
  }

  for (const [shape, axis] of [
    [
      [128, 26, 26, 32],
      [0, 1, 2],
    ],
    [[1000, 12], [0]],
    [[64, 4], [0]],
  ] as [number[], number[]][]) {
    it(`Sum over leading axes of ${JSON.stringify(shape)}: SIMD (float64 accumulation) = JS loop ≈ cpu`, async () => {
      const xv = rand(size(shape), 71);
      const run = () => tf.sum(tf.tensor(xv, shape), axis);
      const [ref] = await on('cpu', run);
      const [simd] = await on('wasm', run);
      setSimdEnabled(false);
      let js: Float32Array;
      try {
        [js] = await on('wasm', run);
      } finally {
        setSimdEnabled(true);
      }
      expect(maxAbsDiff(simd, js)).toBe(0);
      expect(maxAbsDiff(ref, simd)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(ref)));
    });
  }
});

describe('wasm kernel layer: fast mode with onnxruntime', () => {
  let checks: KernelCheck[] = [];
  let ortOn = false;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    const info = await installKernels('fast', { ort: true });
    console.log('kernel layer:', info);
    ortOn = info.name === 'cdl-fast-ort';
    // Every replaced kernel's onnxruntime implementation, not the per-shape winner.
    forceChoice('ort');
    try {
      checks = await verifyKernels();
    } finally {
      forceChoice('auto');
    }
  });
  afterAll(() => console.log('onnxruntime mode, max abs differences vs tfjs-backend-cpu:', summarize(checks)));

  it('uses the pinned onnxruntime-node synchronous binding', () => {
    expect(loadOrt()).toMatchObject({ ok: true });
    expect(ortOn).toBe(true);
  });

  it('every onnxruntime-backed kernel and gradient equals the cpu reference on odd shapes', () => {
    expect(failures(checks)).toEqual([]);
  });

  it('Conv2DBackpropInput: the ConvTranspose path (default) and the dilated-convolution path both equal the cpu reference', async () => {
    expect(checks.filter((c) => c.kernel === 'Conv2DBackpropInput').length).toBe(CONV_CASES.length);
    setConvTranspose(false);
    forceChoice('ort');
    let viaConv: KernelCheck[];
    try {
      viaConv = await verifyKernels();
    } finally {
      forceChoice('auto');
      setConvTranspose(true);
    }
    expect(failures(viaConv, ['Conv2DBackpropInput', 'grad conv2d (dx)'])).toEqual([]);
  });
});

describe('wasm kernel layer: without a usable onnxruntime', () => {
  it('recognizes a binding without a synchronous run', () => {
    expect(bindingProblem({})).toMatch(/InferenceSession/);
    expect(bindingProblem({ binding: { InferenceSession: class {} }, initOrt: () => {} })).toMatch(/synchronous run/);
    expect(
      bindingProblem({
        binding: {
          InferenceSession: class {
            run() {}
          },
        },
        initOrt: () => {},
      }),
    ).toBeNull();
  });

  it('falls back to the pure-wasm fast kernels with a note, and back again', async () => {
    await tf.setBackend('wasm');
    const real = loadOrt();
    overrideOrtLoad({ ok: false, reason: 'onnxruntime-node 9.9.9: the native session has no synchronous run()' });
    try {
      const info = await installKernels('auto', { ort: true });
      expect(info.name).toBe('cdl-fast-wasm');
      expect(info.notes.join(' ')).toMatch(/no synchronous run/);
      const y = tf.tidy(() => tf.matMul(tf.ones([3, 4]), tf.ones([5, 4]), false, true).dataSync());
      expect(Array.from(y)).toEqual(new Array(15).fill(4));
    } finally {
      overrideOrtLoad(real);
    }
    expect((await installKernels('reference')).name).toBe('wasm-reference');
  });

  it('does nothing on other backends', async () => {
    await tf.setBackend('cpu');
    const info = await installKernels('fast');
    expect(info.name).toBe('none');
    await tf.setBackend('wasm');
  });
});
