// Optimizer updates built as IR, run on the reference interpreter, against the published rules computed here in float64.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { OptimizerKind } from '../../compiler/passes/optimizers.js';
import { emitUpdate, stateName } from '../../compiler/passes/optimizers.js';
import { expectAllClose } from '../helpers/allclose.js';

const W0 = [0.5, -1.25, 2, 0.1, -0.3, 0.75];
const GRADS = [
  [0.1, -0.2, 0.3, -0.4, 0.5, -0.6],
  [-0.05, 0.15, 0.25, 0.35, -0.45, 0.55],
  [1.5, -2.5, 0.01, 0.02, -0.03, 4],
];

/** Runs `steps` updates of one [2,3] parameter through the IR update; returns w after each. */
function runIr(kind: OptimizerKind, args: Record<string, number>, lr: number): number[][] {
  const b = new GraphBuilder('opt');
  const g = b.input('g', { dtype: 'f32', shape: [2, 3] });
  const lrIn = b.input('lr', { dtype: 'f32', shape: [] });
  const stepIn = b.input('step', { dtype: 'f32', shape: [] });
  const w = b.param('w', { dtype: 'f32', shape: [2, 3] }, { kind: 'zeros', args: {} });
  const slots = new Map<string, number>();
  const state = (slot: string) => slots.get(slot) ?? slots.set(slot, b.param(stateName(slot, 'w'), { dtype: 'f32', shape: [2, 3] }, { kind: 'zeros', args: {} }, false)).get(slot)!;
  for (const u of emitUpdate(b, kind, args, { name: 'w', value: w }, g, { lr: lrIn, step: stepIn }, state)) b.output(`next.${u.target}`, u.next, u.target);
  const graph = b.build();
  const params = new Map<string, Tensor>(graph.params.map((p) => [p.name, tensorFrom('f32', [2, 3], p.name === 'w' ? W0 : new Array(6).fill(0))]));
  const history: number[][] = [];
  GRADS.forEach((grad, t) => {
    const inputs = new Map([
      ['g', tensorFrom('f32', [2, 3], grad)],
      ['lr', tensorFrom('f32', [], [lr])],
      ['step', tensorFrom('f32', [], [t + 1])],
    ]);
    const out = interpret(graph, { inputs, params }).outputs;
    for (const o of graph.outputs) params.set(o.aliases!, out.get(o.name)!);
    history.push(Array.from(params.get('w')!.data));
  });
  return history;
}

describe('optimizer updates', () => {
  it('adam matches Kingma & Ba, Algorithm 1', () => {
    const [lr, b1, b2, eps] = [0.01, 0.9, 0.999, 1e-7];
    const w = [...W0];
    const m = new Array(6).fill(0);
    const v = new Array(6).fill(0);
    const want = GRADS.map((g, t) => {
      for (let i = 0; i < 6; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i]!;
        v[i] = b2 * v[i] + (1 - b2) * g[i]! ** 2;
        const mHat = m[i] / (1 - b1 ** (t + 1));
        const vHat = v[i] / (1 - b2 ** (t + 1));
        w[i] = w[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
      return [...w];
    });
    const got = runIr('adam', { lr, beta1: b1, beta2: b2, eps }, lr);
    got.forEach((row, t) => expectAllClose(row, want[t]!, { rtol: 0, atol: 1e-6 }));
  });

  it('adamw adds decoupled weight decay lr·λ·w', () => {
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-7, 0.1];
    const w = [...W0];
    const m = new Array(6).fill(0);
    const v = new Array(6).fill(0);
    const want = GRADS.map((g, t) => {
      for (let i = 0; i < 6; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i]!;
        v[i] = b2 * v[i] + (1 - b2) * g[i]! ** 2;
        const step = m[i] / (1 - b1 ** (t + 1)) / (Math.sqrt(v[i] / (1 - b2 ** (t + 1))) + eps);
        w[i] = w[i]! - lr * (step + wd * w[i]!);
      }
      return [...w];
    });
    runIr('adamw', { lr, beta1: b1, beta2: b2, eps, weight_decay: wd }, lr).forEach((row, t) => expectAllClose(row, want[t]!, { rtol: 0, atol: 1e-6 }));
  });

  it('sgd and momentum (heavy ball and Nesterov) follow their update rules', () => {
    const lr = 0.1;
    const sgd = [...W0];
    const want = GRADS.map((g) => sgd.map((x, i) => (sgd[i] = x - lr * g[i]!)));
    runIr('sgd', { lr }, lr).forEach((row, t) => expectAllClose(row, want[t]!, { rtol: 0, atol: 1e-6 }));
    for (const nesterov of [0, 1]) {
      const mu = 0.9;
      const w = [...W0];
      const vel = new Array(6).fill(0);
      const wantM = GRADS.map((g) => {
        for (let i = 0; i < 6; i++) {
          vel[i] = mu * vel[i] + g[i]!;
          w[i] = w[i]! - lr * (nesterov ? g[i]! + mu * vel[i] : vel[i]);
        }
        return [...w];
      });
      runIr('momentum', { lr, momentum: mu, nesterov }, lr).forEach((row, t) => expectAllClose(row, wantM[t]!, { rtol: 0, atol: 1e-6 }));
    }
  });

  it('declares state as non-trainable zero-initialized parameters aliased by its outputs', () => {
    const b = new GraphBuilder('opt');
    const g = b.input('g', { dtype: 'f32', shape: [4] });
    const s = { lr: b.input('lr', { dtype: 'f32', shape: [] }), step: b.input('step', { dtype: 'f32', shape: [] }) };
    const w = b.param('w', { dtype: 'f32', shape: [4] }, { kind: 'zeros', args: {} });
    const made: string[] = [];
    const updates = emitUpdate(b, 'adam', { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7 }, { name: 'w', value: w }, g, s, (slot) => {
      made.push(slot);
      return b.param(stateName(slot, 'w'), { dtype: 'f32', shape: [4] }, { kind: 'zeros', args: {} }, false);
    });
    expect(made).toEqual(['m', 'v']);
    expect(updates.map((u) => u.target)).toEqual(['w', 'opt.m.w', 'opt.v.w']);
  });
});
