// Learning-rate schedules at the steps where their formulas pin the value down.

import { describe, expect, it } from 'vitest';
import { learningRate } from '../../runtime/train/schedule.js';

describe('learning-rate schedules', () => {
  it('warms up linearly, then holds a constant rate', () => {
    const s = { kind: 'constant' as const, args: { warmup: 4 } };
    const got = [0, 1, 2, 3, 4, 100].map((t) => learningRate(0.1, s, t, 200));
    [0.025, 0.05, 0.075, 0.1, 0.1, 0.1].forEach((want, i) => expect(got[i]).toBeCloseTo(want, 12));
  });

  it('step decay multiplies by the factor every `every` steps', () => {
    const s = { kind: 'step' as const, args: { warmup: 0, every: 10, factor: 0.5 } };
    expect([0, 9, 10, 25].map((t) => learningRate(1, s, t, 100))).toEqual([1, 1, 0.5, 0.25]);
  });

  it('exponential decay is rate^(t / every)', () => {
    const s = { kind: 'exponential' as const, args: { warmup: 0, rate: 0.5, every: 2 } };
    expect(learningRate(1, s, 3, 10)).toBeCloseTo(0.5 ** 1.5, 12);
  });

  it('cosine goes from the base rate to min_lr, through their mean halfway', () => {
    const s = { kind: 'cosine' as const, args: { warmup: 0, steps: 0, min_lr: 0.1 } };
    expect(learningRate(1, s, 0, 100)).toBeCloseTo(1, 12);
    expect(learningRate(1, s, 50, 100)).toBeCloseTo(0.55, 12);
    expect(learningRate(1, s, 100, 100)).toBeCloseTo(0.1, 12);
  });
});
