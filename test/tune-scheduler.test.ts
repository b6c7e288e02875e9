/** ASHA and Hyperband decisions, rung by rung, on hand-made studies (no training). */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import type { TuneSection } from '../src/config/schema/tune.js';
import { defaultGrace, rungBudgets, Scheduler, schedulerSettings, type TrialView } from '../src/tune/scheduler.js';

/** ASHA's rule alone (Li et al.): no grace. */
const asha = new Scheduler({ type: 'asha', reductionFactor: 3, minEpochs: 1, maxEpochs: 9, grace: 0 });

/** A trial that finished rungs with these losses and waits (paused) or runs toward the next. */
function trial(number: number, losses: number[], status: TrialView['status'] = 'paused', bracket = 0): TrialView {
  return { number, bracket, rung: status === 'running' ? losses.length : Math.max(bracket, losses.length - 1), status, losses };
}

describe('rungs', () => {
  it('are geometric from the largest budget down to the smallest', () => {
    expect(rungBudgets(1, 9, 3)).toEqual([1, 3, 9]);
    expect(rungBudgets(1, 27, 3)).toEqual([1, 3, 9, 27]);
    expect(rungBudgets(1, 10, 3)).toEqual([1, 3, 10]);
    expect(rungBudgets(2, 8, 2)).toEqual([2, 4, 8]);
    expect(rungBudgets(5, 5, 3)).toEqual([5]);
    expect(rungBudgets(4, 9, 3)).toEqual([9]);
    expect(new Scheduler({ type: 'none', reductionFactor: 3, minEpochs: 1, maxEpochs: 9 }).budgets).toEqual([9]);
  });
});

describe('ASHA promotion and stopping, rung by rung', () => {
  it('rung 0: nothing is promoted until η trials finished it; then the best one, once', () => {
    expect(asha.decide([], 9)).toEqual({ kind: 'new', bracket: 0 });
    expect(asha.decide([trial(0, [0.5])], 9)).toEqual({ kind: 'new', bracket: 0 });
    expect(asha.decide([trial(0, [0.5]), trial(1, [0.3])], 9)).toEqual({ kind: 'new', bracket: 0 });
    // Three results: the best (trial 1) is in the top ⌊3/3⌋ = 1.
    const three = [trial(0, [0.5]), trial(1, [0.3]), trial(2, [0.4])];
    expect(asha.decide(three, 9)).toEqual({ kind: 'promote', trial: 1, rung: 1 });
    // Once promoted (running toward rung 1), it is not promoted again; trial 2 is second: not in the top 1.
    three[1] = trial(1, [0.3], 'running');
    expect(asha.decide(three, 9)).toEqual({ kind: 'new', bracket: 0 });
  });

  it('rung 0: a late good trial is promoted ahead of earlier ones, ties go to the earlier trial', () => {
    const six = [trial(0, [0.5]), trial(1, [0.3], 'running'), trial(2, [0.4]), trial(3, [0.9]), trial(4, [0.2]), trial(5, [0.3])];
    six[1] = { ...trial(1, [0.3, 0.25]), rung: 1 };
    // Top ⌊6/3⌋ = 2 of rung 0: trial 4 (0.2) and trial 1 (0.3, earlier than trial 5): trial 1 went already.
    expect(asha.decide(six, 9)).toEqual({ kind: 'promote', trial: 4, rung: 1 });
    six[4] = trial(4, [0.2], 'running');
    expect(asha.decide(six, 9)).toEqual({ kind: 'new', bracket: 0 });
  });

  it('rung 1 before rung 0: promotions are looked for from the top rung down', () => {
    const trials = [
      { ...trial(0, [0.5, 0.45]), rung: 1 },
      { ...trial(1, [0.3, 0.2]), rung: 1 },
      { ...trial(2, [0.4, 0.35]), rung: 1 },
      ...[3, 4, 5, 6, 7, 8].map((n) => trial(n, [0.1 + n / 100])),
    ];
    // Rung 1 has 3 results: trial 1 goes to rung 2 (9 epochs) before any rung-0 promotion.
    expect(asha.decide(trials, 20)).toEqual({ kind: 'promote', trial: 1, rung: 2 });
    trials[1] = { ...trials[1]!, rung: 2, status: 'running' };
    // Rung 0 has 9 results, top 3 = trials 3, 4, 5 (0.13, 0.14, 0.15).
    expect(asha.decide(trials, 20)).toEqual({ kind: 'promote', trial: 3, rung: 1 });
  });

  it('the top rung completes trials; a study with no trial left to start waits for running ones, then is done', () => {
    const trials = [
      { ...trial(0, [0.5, 0.4, 0.3]), rung: 2, status: 'completed' as const },
      trial(1, [0.6]),
      trial(2, [0.7], 'running'),
    ];
    expect(asha.decide(trials, 3)).toEqual({ kind: 'wait' });
    trials[2] = trial(2, [0.7]);
    // Three results at rung 0, trial 0 (best) was promoted already: trials 1 and 2 are stopped at rung 0.
    expect(asha.decide(trials, 3)).toEqual({ kind: 'done' });
    expect(asha.promotable(trials, 0, 0)).toEqual([]);
  });

  it('failed trials count against the number of trials but never rank', () => {
    const trials = [trial(0, [], 'failed'), trial(1, [0.2]), trial(2, [0.3]), trial(3, [0.1])];
    expect(asha.decide(trials, 4)).toEqual({ kind: 'promote', trial: 3, rung: 1 });
    expect(asha.decide([trial(0, [], 'failed')], 1)).toEqual({ kind: 'done' });
  });

  it('without a scheduler every trial gets the whole budget and nothing is promoted', () => {
    const none = new Scheduler({ type: 'none', reductionFactor: 3, minEpochs: 1, maxEpochs: 9 });
    const trials = [0, 1, 2].map((n) => ({ ...trial(n, [n / 10]), status: 'completed' as const }));
    expect(none.decide(trials, 5)).toEqual({ kind: 'new', bracket: 0 });
    expect(none.decide(trials, 3)).toEqual({ kind: 'done' });
    expect(none.decide([], 3, false)).toEqual({ kind: 'done' });
  });
});

describe('ASHA with grace, rung by rung', () => {
  const graced = new Scheduler({ type: 'asha', reductionFactor: 3, minEpochs: 1, maxEpochs: 9, grace: 9 });
  const rung0 = (losses: number[]) => losses.map((l, n) => trial(n, [l]));

  it('defaults to η² results for asha and hyperband, none without a scheduler; an explicit value wins', () => {
    const section = (type: TuneSection['scheduler']['type'], reduction_factor = 3) =>
      ({ scheduler: { type, reduction_factor, min_epochs: 1, max_epochs: 9 } }) as TuneSection;
    expect(defaultGrace(3)).toBe(9);
    expect(schedulerSettings(section('asha'), 9).grace).toBe(9);
    expect(schedulerSettings(section('hyperband', 2), 9).grace).toBe(4);
    expect(schedulerSettings(section('none'), 9).grace).toBe(0);
    expect(schedulerSettings(section('asha'), 9, 0).grace).toBe(0);
    // tune.scheduler.grace from cdl.yaml, validated by the configuration schema.
    const parsed = parseConfig(
      'model: {name: m, layers: [{type: dense, units: 2}]}\ndata: {format: idx, path: d}\ntune:\n  space: {learning_rate: {type: loguniform, low: 0.0001, high: 0.1}}\n  scheduler: {type: asha, grace: 4}\n',
    );
    expect(parsed.errors).toEqual([]);
    expect(schedulerSettings(parsed.value!.tune!, 9).grace).toBe(4);
    expect(
      parseConfig(
        'model: {name: m, layers: [{type: dense, units: 2}]}\ndata: {format: idx, path: d}\ntune:\n  space: {learning_rate: {type: loguniform, low: 0.0001, high: 0.1}}\n  scheduler: {type: asha, grace: -1}\n',
      ).errors[0]!.path,
    ).toBe('tune.scheduler.grace');
    // Absent (a study saved before grace existed): ASHA's rule alone.
    expect(
      new Scheduler({ type: 'asha', reductionFactor: 3, minEpochs: 1, maxEpochs: 9 }).decide(rung0([0.5, 0.3, 0.4]), 27),
    ).toEqual({ kind: 'promote', trial: 1, rung: 1 });
  });

  it('rung 0: with 3 to 8 results nothing is promoted while trials remain to start; at 9, the best ⌊9/3⌋ = 3 in turn', () => {
    const losses = [0.5, 0.3, 0.4, 0.9, 0.2, 0.8, 0.7, 0.6, 0.35];
    for (let n = 3; n < 9; n++) {
      expect(asha.decide(rung0(losses.slice(0, n)), 27).kind).toBe('promote');
      expect(graced.decide(rung0(losses.slice(0, n)), 27)).toEqual({ kind: 'new', bracket: 0 });
    }
    const nine = rung0(losses);
    const order: number[] = [];
    for (let d = graced.decide(nine, 27); d.kind === 'promote'; d = graced.decide(nine, 27)) {
      order.push(d.trial);
      nine[d.trial] = trial(d.trial, [losses[d.trial]!], 'running');
    }
    expect(order).toEqual([4, 1, 8]);
    expect(graced.decide(nine, 27)).toEqual({ kind: 'new', bracket: 0 });
    // From then on ASHA's rule: a tenth result better than all joins the top ⌊10/3⌋ = 3 and goes at once.
    nine.push(trial(9, [0.1]));
    expect(graced.decide(nine, 27)).toEqual({ kind: 'promote', trial: 9, rung: 1 });
  });

  it('rung 1 waits for 9 results too, and promotions out of rung 0 go on meanwhile', () => {
    const trials = [
      ...[0, 1, 2].map((n) => ({ ...trial(n, [0.1 + n / 100, 0.3 - n / 100]), rung: 1 })),
      ...[3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => trial(n, [0.2 + n / 100])),
    ];
    // Rung 1 has 3 results (trial 2 best): ASHA alone sends it to 9 epochs; with grace rung 0's next best (trial 3) goes to 3.
    expect(asha.decide(trials, 27)).toEqual({ kind: 'promote', trial: 2, rung: 2 });
    expect(graced.decide(trials, 27)).toEqual({ kind: 'promote', trial: 3, rung: 1 });
  });

  it('a rung that can get no more results promotes by the rule alone: a study of 5 trials still ends as strict halving', () => {
    const five = rung0([0.5, 0.3, 0.4, 0.2]);
    five.push(trial(4, [], 'running'));
    // All 5 started, trial 4 still running at rung 0: wait, do not promote early.
    expect(graced.decide(five, 5)).toEqual({ kind: 'wait' });
    expect(graced.closedRungs(five, 0, 5)).toEqual([false, false, false]);
    five[4] = trial(4, [0.6]);
    // Rung 0 closed with 5 results: top ⌊5/3⌋ = 1.
    expect(graced.closedRungs(five, 0, 5)).toEqual([true, false, false]);
    expect(graced.decide(five, 5)).toEqual({ kind: 'promote', trial: 3, rung: 1 });
    five[3] = trial(3, [0.2], 'running');
    expect(graced.decide(five, 5)).toEqual({ kind: 'wait' });
    five[3] = { ...trial(3, [0.2, 0.15]), rung: 1 };
    // Rung 1 closed with 1 result: ⌊1/3⌋ = 0, so nothing reaches 9 epochs (as ASHA's rule would have it) and the study is done.
    expect(graced.closedRungs(five, 0, 5)).toEqual([true, true, true]);
    expect(graced.decide(five, 5)).toEqual({ kind: 'done' });
  });

  it('a rung is not closed while the rung below can still promote into it', () => {
    const trials = [
      ...[0, 1, 2].map((n) => ({ ...trial(n, [0.1 + n / 100, 0.3 - n / 100]), rung: 1 })),
      ...[3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => trial(n, [0.2 + n / 100])),
    ];
    // No trial left to start and none running, but rung 0 (12 results, top 4) still has trial 3 to promote.
    expect(graced.closedRungs(trials, 0, 12)).toEqual([true, false, false]);
    expect(graced.decide(trials, 12)).toEqual({ kind: 'promote', trial: 3, rung: 1 });
    trials[3] = { ...trial(3, [0.23, 0.5]), rung: 1 };
    // Now rung 1 (4 results, top 1: trial 2) is closed: trial 2 goes to 9 epochs without waiting for 9 results.
    expect(graced.closedRungs(trials, 0, 12)).toEqual([true, true, false]);
    expect(graced.decide(trials, 12)).toEqual({ kind: 'promote', trial: 2, rung: 2 });
  });

  it('with trials left to start for a finished grid (canStart false), rungs close as if none were left', () => {
    const three = rung0([0.5, 0.3, 0.4]);
    expect(graced.decide(three, 27)).toEqual({ kind: 'new', bracket: 0 });
    expect(graced.decide(three, 27, false)).toEqual({ kind: 'promote', trial: 1, rung: 1 });
  });
});

describe('Hyperband', () => {
  const hb = new Scheduler({ type: 'hyperband', reductionFactor: 3, minEpochs: 1, maxEpochs: 9, grace: 0 });

  it('spreads trials over brackets, most to the most aggressive one', () => {
    expect(hb.bracketStarts).toEqual([0, 1, 2]);
    const first17 = Array.from({ length: 17 }, (_, i) => hb.bracketOf(i));
    // s = 2, η = 3: ⌈3/3·9⌉ = 9, ⌈3/2·3⌉ = 5, ⌈3/1·1⌉ = 3 trials per round.
    expect([0, 1, 2].map((b) => first17.filter((x) => x === b).length)).toEqual([9, 5, 3]);
  });

  it('brackets rank their own trials only', () => {
    const trials = [
      trial(0, [0.9], 'paused', 0),
      { ...trial(1, [undefined as unknown as number, 0.1], 'paused', 1), rung: 1 },
      trial(2, [0.8], 'paused', 0),
      trial(3, [0.7], 'paused', 0),
    ];
    // Bracket 0 has three rung-0 results: trial 3 is promoted; trial 1 (bracket 1) has a single rung-1 result.
    expect(hb.decide(trials, 10)).toEqual({ kind: 'promote', trial: 3, rung: 1 });
  });

  it('with grace, a bracket closes when no trial left to start would join it', () => {
    const graced = new Scheduler({ type: 'hyperband', reductionFactor: 3, minEpochs: 1, maxEpochs: 9, grace: 9 });
    // Trials 0..3 in brackets 0, 1, 2, 0: with 5 trials in all the last (number 4) joins bracket 1.
    expect([0, 1, 2, 3, 4].map((n) => graced.bracketOf(n))).toEqual([0, 1, 2, 0, 1]);
    const trials = [
      trial(0, [0.9], 'paused', 0),
      { ...trial(1, [undefined as unknown as number, 0.1], 'paused', 1), rung: 1 },
      { ...trial(2, [undefined as unknown as number, undefined as unknown as number, 0.2], 'completed', 2), rung: 2 },
      trial(3, [0.7], 'paused', 0),
    ];
    expect(graced.closedRungs(trials, 0, 5)).toEqual([true, true, true]);
    expect(graced.closedRungs(trials, 1, 5)).toEqual([false, false, false]);
    // Bracket 0 is closed with 2 results at rung 0 (⌊2/3⌋ = 0): nothing to promote; trial 4 starts in bracket 1.
    expect(graced.decide(trials, 5)).toEqual({ kind: 'new', bracket: 1 });
  });
});
