import { describe, expect, it } from 'vitest';
import { mulberry32, shuffleInPlace, stratifiedSplit, takeRows, type Split } from '../src/data/index.js';

/** 1,000 labels: 100 of class 0, 300 of class 1, 600 of class 2, in a fixed shuffled order. */
function labels(): Int32Array {
  const y: number[] = [];
  const sizes = [100, 300, 600];
  sizes.forEach((s, c) => {
    for (let i = 0; i < s; i++) y.push(c);
  });
  return Int32Array.from(shuffleInPlace(y, mulberry32(7)));
}

describe('mulberry32', () => {
  it('is deterministic, in [0, 1) and differs by seed', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const c = mulberry32(2);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(xs.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});

describe('stratifiedSplit', () => {
  const y = labels();

  it('keeps the class proportions and partitions the indices', () => {
    const { train, validation } = stratifiedSplit(y, 0.2, 42);
    expect(validation.length).toBe(200);
    expect(train.length).toBe(800);
    const count = (idx: Int32Array) => [0, 1, 2].map((c) => idx.filter((i) => y[i] === c).length);
    expect(count(validation)).toEqual([20, 60, 120]);
    expect(count(train)).toEqual([80, 240, 480]);
    const all = [...train, ...validation].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...train]).toEqual([...train].sort((a, b) => a - b));
  });

  it('is deterministic for a seed and different for another seed', () => {
    const a = stratifiedSplit(y, 0.1, 1);
    const b = stratifiedSplit(y, 0.1, 1);
    const c = stratifiedSplit(y, 0.1, 2);
    expect([...a.validation]).toEqual([...b.validation]);
    expect([...c.validation]).not.toEqual([...a.validation]);
    expect(c.validation.length).toBe(a.validation.length);
  });

  it('gives every class with >= 2 examples a validation example, and keeps one for training', () => {
    const small = Int32Array.from([0, 0, 1, 1, 1, 2, 3, 3]);
    const { train, validation } = stratifiedSplit(small, 0.01, 3);
    const valClasses = [...validation].map((i) => small[i]).sort();
    expect(valClasses).toEqual([0, 1, 3]); // class 2 has a single example: it stays in training
    const big = stratifiedSplit(Int32Array.from([5, 5]), 0.9, 3);
    expect(big.train.length).toBe(1);
    expect(big.validation.length).toBe(1);
    expect(train.length).toBe(5);
  });

  it('fraction 0 puts everything in training', () => {
    const { train, validation } = stratifiedSplit(y, 0, 9);
    expect(validation.length).toBe(0);
    expect(train.length).toBe(y.length);
  });
});

describe('takeRows', () => {
  it('copies the chosen rows and labels in order, keeping the label type', () => {
    const split: Split = { x: Float32Array.from([0, 1, 10, 11, 20, 21]), y: Int32Array.from([7, 8, 9]), n: 3 };
    const t = takeRows(split, [2, 0], 2);
    expect(t.n).toBe(2);
    expect([...t.x]).toEqual([20, 21, 0, 1]);
    expect(t.y).toBeInstanceOf(Int32Array);
    expect([...t.y]).toEqual([9, 7]);
    const reg = takeRows({ ...split, y: Float32Array.from([0.5, 1.5, 2.5]) }, [1], 2);
    expect(reg.y).toBeInstanceOf(Float32Array);
    expect([...reg.y]).toEqual([1.5]);
    expect(() => takeRows(split, [3], 2)).toThrow(/row index 3 out of range/);
  });
});
