// Timing one prepared implementation of a case: warm-up steps, then timed runs of back-to-back steps.

import type { AdapterRecord } from './results.js';

/** A case made ready on one implementation: everything built and uploaded, one call per step. */
export interface Prepared {
  /** Threads it computes on; null when it does not say. */
  readonly threads: number | null;
  readonly note: string | null;
  /** The WebGPU adapter it computes on; absent or null on the CPU. */
  readonly adapter?: AdapterRecord | null;
  /**
   * Runs one step to completion (results read back to the host) and returns a value to check
   * against the other implementations: the loss of a train step, the first output element otherwise.
   */
  step(): number | Promise<number>;
}

/** The implementation cannot run this case (a missing kernel, an unsupported op); not a failure of the harness. */
export class Unsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unsupported';
  }
}

/** The implementation is not there (a Sinter backend not built yet, a package not installed). */
export class NotAvailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotAvailable';
  }
}

export interface Plan {
  /** Warm-up steps at most; warm-up also stops once it has taken `warmupSeconds`, after at least two steps. */
  readonly warmupSteps: number;
  readonly warmupSeconds: number;
  /** Timed runs; the figure is their median. */
  readonly runs: number;
  /** Each run repeats the step until it has taken this long (at least one step). */
  readonly minRunSeconds: number;
}

export const FULL_PLAN: Plan = { warmupSteps: 5, warmupSeconds: 8, runs: 7, minRunSeconds: 0.3 };
export const QUICK_PLAN: Plan = { warmupSteps: 2, warmupSeconds: 1, runs: 5, minRunSeconds: 0.02 };

export interface Timing {
  /**
   * The check value of the second step: for a train step, the loss after one update from the
   * shared initial weights, so it agrees across implementations only if their forward pass,
   * gradients and optimizer all do.
   */
  readonly check: number;
  readonly warmupSteps: number;
  readonly stepsPerRun: number;
  /** Seconds per step of each timed run. */
  readonly secondsPerStep: readonly number[];
}

/** Steps per timed run: enough to fill `minRunSeconds` at the fastest warm-up pace. */
export function stepsPerRun(fastestStepSeconds: number, minRunSeconds: number): number {
  if (!(fastestStepSeconds > 0)) return 1000;
  return Math.min(1000, Math.max(1, Math.ceil(minRunSeconds / fastestStepSeconds)));
}

export async function measure(p: Prepared, plan: Plan): Promise<Timing> {
  let check = Number.NaN;
  let fastest = Infinity;
  let warmupSteps = 0;
  const warmStart = performance.now();
  while (warmupSteps < Math.max(2, plan.warmupSteps)) {
    const t0 = performance.now();
    const v = await p.step();
    fastest = Math.min(fastest, (performance.now() - t0) / 1000);
    if (warmupSteps === 1) check = v;
    warmupSteps++;
    if (warmupSteps >= 2 && (performance.now() - warmStart) / 1000 > plan.warmupSeconds) break;
  }
  const steps = stepsPerRun(fastest, plan.minRunSeconds);
  const secondsPerStep: number[] = [];
  for (let r = 0; r < plan.runs; r++) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await p.step();
    secondsPerStep.push((performance.now() - t0) / 1000 / steps);
  }
  return { check, warmupSteps, stepsPerRun: steps, secondsPerStep };
}
