/**
 * Schedulers decide, each time a slot is free, what it runs next: a new trial or the promotion of a
 * paused one to the next rung (a larger budget in epochs).
 *
 * ASHA (Li et al., "A System for Massively Parallel Hyperparameter Tuning", 2020): rungs are
 * budgets min, min·η, min·η², … up to max. A trial that finished rung k is promotable when it is
 * among the best ⌊n_k/η⌋ of the n_k trials that finished rung k and has not been promoted yet;
 * promotions are looked for from the top rung down, and only when none is possible does a new
 * trial start. Trials never promoted are stopped when the study ends; their slot was freed as soon
 * as their rung ended. Hyperband runs several ASHA brackets side by side, each starting at a
 * larger first budget, and spreads trials over them.
 *
 * Grace (the "bootstrap count" of Optuna's successive-halving pruner, here a wait rather than a
 * stop): a rung promotes nothing until `grace` trials finished it. ASHA's rule alone lets a rung
 * with η results promote its best, and the first trials of a study (random draws before TPE
 * learns) are often overtaken later, so those early promotions are epochs spent on trials that
 * strict successive halving would have stopped. Grace only delays: a rung that can get no more
 * results (no trial left to start, none running toward it or below, nothing left to promote into
 * it) promotes by ASHA's rule alone, so a study smaller than `grace` still reaches the top rung.
 */
import type { TuneSection } from '../config/schema/tune.js';

export interface SchedulerSettings {
  type: TuneSection['scheduler']['type'];
  reductionFactor: number;
  minEpochs: number;
  maxEpochs: number;
  /** Results a rung needs before it promotes any trial (0 or absent: ASHA's rule alone). */
  grace?: number;
}

/** What the scheduler needs to know of a trial. */
export interface TrialView {
  number: number;
  bracket: number;
  /** Index of the rung the trial runs toward or last finished. */
  rung: number;
  status: 'running' | 'paused' | 'completed' | 'stopped' | 'failed';
  /** Loss (lower is better) per finished rung index. */
  losses: Array<number | undefined>;
}

export type Decision =
  { kind: 'new'; bracket: number } | { kind: 'promote'; trial: number; rung: number } | { kind: 'wait' } | { kind: 'done' };

/** Budgets of the rungs, geometric from the top: max/η^s, …, max/η, max (rounded, at least min). */
export function rungBudgets(minEpochs: number, maxEpochs: number, eta: number): number[] {
  if (minEpochs >= maxEpochs) return [maxEpochs];
  const s = Math.floor(Math.log(maxEpochs / minEpochs) / Math.log(eta) + 1e-9);
  const out: number[] = [];
  for (let k = s; k >= 0; k--) {
    const b = Math.max(minEpochs, Math.round(maxEpochs / eta ** k));
    if (out.length === 0 || b > out[out.length - 1]!) out.push(b);
  }
  return out;
}

export class Scheduler {
  readonly budgets: number[];
  /** Rung index each bracket starts at (ASHA: one bracket starting at 0). */
  readonly bracketStarts: number[];
  private readonly pattern: number[];

  constructor(readonly settings: SchedulerSettings) {
    const { type, minEpochs, maxEpochs, reductionFactor: eta } = settings;
    this.budgets = type === 'none' ? [maxEpochs] : rungBudgets(minEpochs, maxEpochs, eta);
    const s = this.budgets.length - 1;
    if (type === 'hyperband') {
      this.bracketStarts = Array.from({ length: s + 1 }, (_, b) => b);
      // Hyperband's allocation: bracket b (s-b halvings) gets ⌈(s+1)/(s-b+1)·η^(s-b)⌉ trials per round.
      const counts = this.bracketStarts.map((b) => Math.ceil(((s + 1) / (s - b + 1)) * eta ** (s - b)));
      this.pattern = [];
      const left = [...counts];
      while (left.some((c) => c > 0)) {
        for (let b = 0; b <= s; b++) {
          if (left[b]! > 0) {
            this.pattern.push(b);
            left[b]!--;
          }
        }
      }
    } else {
      this.bracketStarts = [0];
      this.pattern = [0];
    }
  }

  /** The bracket a new trial with this number joins. */
  bracketOf(trialNumber: number): number {
    return this.pattern[trialNumber % this.pattern.length]!;
  }

  get topRung(): number {
    return this.budgets.length - 1;
  }

  /** Epochs a trial has trained once it finished rung `rung`. */
  budget(rung: number): number {
    return this.budgets[rung]!;
  }

  /**
   * Trials of the bracket that may be promoted out of rung k, best first. `closed`: rung k can get
   * no more results, so grace no longer applies.
   */
  promotable(trials: readonly TrialView[], bracket: number, rung: number, closed = false): TrialView[] {
    const eta = this.settings.reductionFactor;
    const finished = trials
      .filter((t) => t.bracket === bracket && t.losses[rung] !== undefined)
      .sort((a, b) => a.losses[rung]! - b.losses[rung]! || a.number - b.number);
    if (!closed && finished.length < (this.settings.grace ?? 0)) return [];
    const top = finished.slice(0, Math.floor(finished.length / eta));
    return top.filter((t) => t.rung === rung && t.status === 'paused');
  }

  /**
   * Per rung of the bracket (from its first), whether it can get no more results: no trial of the
   * bracket left to start, none running toward this rung or a lower one, and the rung below is
   * closed with nothing left to promote.
   */
  closedRungs(trials: readonly TrialView[], bracket: number, total: number, canStart = true): boolean[] {
    const start = this.bracketStarts[bracket]!;
    let more = false;
    if (canStart) for (let n = trials.length; n < total && !more; n++) more = this.bracketOf(n) === bracket;
    const out: boolean[] = [];
    for (let rung = 0; rung <= this.topRung; rung++) {
      if (rung < start || more) {
        out.push(false);
        continue;
      }
      const running = trials.some((t) => t.bracket === bracket && t.status === 'running' && t.rung <= rung);
      const below = rung === start || (out[rung - 1]! && this.promotable(trials, bracket, rung - 1, true).length === 0);
      out.push(!running && below);
    }
    return out;
  }

  /**
   * The next thing a free slot should do. `started` trials exist out of `total` allowed; `canStart`
   * is false when the sampler has nothing left (a finished grid).
   */
  decide(trials: readonly TrialView[], total: number, canStart = true): Decision {
    if (this.settings.type !== 'none') {
      const grace = (this.settings.grace ?? 0) > 0;
      const closed = this.bracketStarts.map((_, b) => (grace ? this.closedRungs(trials, b, total, canStart) : []));
      for (let rung = this.topRung - 1; rung >= 0; rung--) {
        for (const bracket of this.bracketStarts) {
          if (rung < bracket) continue;
          const [best] = this.promotable(trials, bracket, rung, closed[bracket]![rung] ?? false);
          if (best) return { kind: 'promote', trial: best.number, rung: rung + 1 };
        }
      }
    }
    if (trials.length < total && canStart) return { kind: 'new', bracket: this.bracketOf(trials.length) };
    if (trials.some((t) => t.status === 'running')) return { kind: 'wait' };
    return { kind: 'done' };
  }
}

/**
 * Grace when tune.scheduler sets none: η² results (η promotable) before a rung promotes. On the
 * Fashion-MNIST bench (27 trials, η 3, 3 seeds) ASHA's rule alone trained 83–109 epochs, with this
 * grace 73–89, where strict successive halving trains 63 and full budgets 243; the best validation
 * accuracies were within 0.25 points of each other (bench/results/tune.md).
 */
export function defaultGrace(reductionFactor: number): number {
  return reductionFactor ** 2;
}

export function schedulerSettings(tune: TuneSection, trainEpochs: number, grace?: number): SchedulerSettings {
  const maxEpochs = tune.scheduler.max_epochs ?? trainEpochs;
  const eta = tune.scheduler.reduction_factor;
  // An API caller's `grace` wins over tune.scheduler.grace.
  const configured = tune.scheduler.grace;
  return {
    type: tune.scheduler.type,
    reductionFactor: eta,
    minEpochs: Math.min(tune.scheduler.min_epochs, maxEpochs),
    maxEpochs,
    grace: tune.scheduler.type === 'none' ? 0 : (grace ?? configured ?? defaultGrace(eta)),
  };
}
