// How many jobs run at once: a bound on parallel jobs (the run's, a matrix's max-parallel) and
// concurrency groups, whose jobs run one after another.
import { stringify } from './expr.js';

/** Bounds how many jobs run at once. */
export class Semaphore {
  private queue: (() => void)[] = [];
  constructor(private free: number) {}
  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** The group named by an evaluated `concurrency:` (a string, or a mapping with `group`); empty for none. */
export function concurrencyGroup(value: unknown): string {
  return typeof value === 'object' && value ? stringify((value as { group?: unknown }).group) : stringify(value);
}

/** Jobs of one concurrency group run one after another, in the order they arrive. */
export class ConcurrencyGroups {
  private readonly groups = new Map<string, Promise<void>>();

  async run<T>(group: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.groups.get(group) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.groups.set(
      group,
      previous.then(() => mine),
    );
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
