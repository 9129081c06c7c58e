// Losses and the correct-prediction count as IR, against the formulas computed directly in float64.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { LossKind } from '../../compiler/passes/losses.js';
import { emitCorrect, emitLoss, labelType } from '../../compiler/passes/losses.js';

function run(kind: LossKind, out: number[], shape: number[], label: number[]) {
  const b = new GraphBuilder('loss');
  const o = b.input('out', { dtype: 'f32', shape });
  const lt = labelType(kind, b.typeOf(o));
  const l = b.input('label', lt);
  b.output('loss', emitLoss(b, kind, o, l));
  const c = emitCorrect(b, kind, o, l);
  if (c !== null) b.output('correct', c);
  const g = b.build();
  const res = interpret(g, { inputs: new Map([['out', tensorFrom('f32', shape, out)], ['label', tensorFrom(lt.dtype, lt.shape, label)]]), params: new Map() }).outputs;
  return { loss: res.get('loss')!.data[0]!, correct: res.get('correct')?.data[0] ?? null };
}

describe('losses', () => {
  it('softmax cross-entropy is the mean of logsumexp(z) − z[label], stable for large logits', () => {
    const logits = [2, 1, 0.1, 1000, 999, 998, -3, 4, 0.5];
    const labels = [0, 2, 1];
    const want =
      [0, 1, 2]
        .map((r) => {
          const row = logits.slice(r * 3, r * 3 + 3);
          const m = Math.max(...row);
          return m + Math.log(row.reduce((s, z) => s + Math.exp(z - m), 0)) - row[labels[r]!]!;
        })
        .reduce((a, b) => a + b, 0) / 3;
    const got = run('softmax_cross_entropy', logits, [3, 3], labels);
    expect(Math.abs(got.loss - want)).toBeLessThan(1e-4);
    // argmax per row: 0, 0, 1 against labels 0, 2, 1 → 2 correct.
    expect(got.correct).toBe(2);
  });

  it('mse is the mean squared difference and counts nothing as correct', () => {
    const got = run('mse', [1, 2, 3, 4], [2, 2], [1.5, 2, 2, 6]);
    expect(got.loss).toBeCloseTo((0.25 + 0 + 1 + 4) / 4, 6);
    expect(got.correct).toBeNull();
  });

  it('binary cross-entropy clamps probabilities and counts thresholded matches', () => {
    const p = [0.9, 0.2, 0, 1];
    const y = [1, 0, 1, 1];
    const eps = 1e-7;
    const want = -p.reduce((s, pi, i) => {
      const c = Math.min(Math.max(pi, eps), 1 - eps);
      return s + y[i]! * Math.log(c) + (1 - y[i]!) * Math.log(1 - c);
    }, 0) / 4;
    const got = run('binary_cross_entropy', p, [4], y);
    expect(Math.abs(got.loss - want) / want).toBeLessThan(1e-4);
    expect(got.correct).toBe(3);
  });
});
