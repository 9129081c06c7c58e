// Random train steps for property tests — a random forward graph with an MSE loss on its first f32 output, its backward pass and an optimizer update — and feeds that keep them finite.

import fc from 'fast-check';
import type { Graph } from '../../compiler/ir/graph.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { OptimizerKind } from '../../compiler/passes/optimizers.js';
import { buildTrainStep, STEP } from '../../compiler/passes/train-step.js';
import { referenceBackend } from '../../runtime/reference/session.js';
import { randomFeeds } from '../passes/support.js';
import { arbGraph } from './random-graph.js';

/** Ops with a gradient rule, for random forward graphs that can be trained. */
export const DIFFERENTIABLE: readonly OpName[] = [
  'add', 'sub', 'mul', 'div', 'exp', 'tanh', 'sigmoid', 'relu', 'neg', 'gelu', 'maximum', 'select', 'sqrt', 'abs',
  'matmul', 'conv2d', 'sum', 'mean', 'max', 'reshape', 'transpose', 'broadcast', 'slice', 'pad', 'concat', 'gather',
  'softmax', 'log_softmax', 'maxpool2d', 'avgpool2d',
];

/** Contractions, pooling and what joins them: train steps through the GEMM paths (masked tiles, epilogues, backward forms). */
export const CONV_HEAVY: readonly OpName[] = ['conv2d', 'matmul', 'maxpool2d', 'avgpool2d', 'relu', 'add', 'reshape', 'pad'];

const OPTIMIZERS: Readonly<Record<OptimizerKind, Record<string, number>>> = {
  sgd: {},
  momentum: { momentum: 0.9, nesterov: 0 },
  adam: { beta1: 0.9, beta2: 0.999, eps: 1e-7 },
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.01 },
};

/** A train step for a random forward graph of `ops` (MSE on its first f32 output, a random optimizer, maybe L2 and clipping), or null when it has nothing to train. */
export const arbTrainStep = (ops: readonly OpName[] = DIFFERENTIABLE) =>
  fc
    .tuple(arbGraph({ ops, maxNodes: 12 }), fc.constantFrom<OptimizerKind>('sgd', 'momentum', 'adam', 'adamw'), fc.boolean(), fc.boolean())
    .map(([g, optimizer, l2, clip]): Graph | null => {
      const out = g.outputs.find((o) => g.nodes.find((n) => n.id === o.value)?.type.dtype === 'f32');
      if (!out || !g.params.some((p) => p.trainable)) return null;
      const forward = { ...g, outputs: [{ name: out.name, value: out.value }] };
      return buildTrainStep(forward, { loss: { kind: 'mse', output: out.name, label: 'label' }, optimizer: { kind: optimizer, args: OPTIMIZERS[optimizer] }, l2: l2 ? 0.01 : 0, clip_norm: clip ? 1 : 0 });
    });

type Feeds = ReturnType<typeof randomFeeds>;

/**
 * Feeds of a train step that keep it finite: the step's learning rate 0.01 and step 1 (a
 * random step near 0 makes Adam's bias correction 1 − β^step zero, and its update infinite),
 * other f32 values scaled by 1/4 so that chains of contractions stay small.
 */
export function finiteFeeds(g: Graph): Feeds {
  const feeds = randomFeeds(g);
  const scaled = (t: Tensor): Tensor => (t.type.dtype === 'f32' ? { type: t.type, data: Float32Array.from(t.data, (x) => x / 4) } : t);
  const inputs = new Map([...feeds.inputs].map(([name, t]): [string, Tensor] => [name, name === STEP.lr ? tensorFrom('f32', [], [0.01]) : name === STEP.step ? tensorFrom('f32', [], [1]) : scaled(t)]));
  return { inputs, params: new Map([...feeds.params].map(([name, t]) => [name, scaled(t)])) };
}

/** Whether the reference keeps every output of two steps and every param finite from these feeds. */
export function staysFinite(g: Graph, feeds: Feeds): boolean {
  const ref = referenceBackend.load(g);
  ref.setParams(feeds.params);
  const names = g.outputs.map((o) => o.name);
  const finite = (m: ReadonlyMap<string, Tensor>): boolean => [...m.values()].every((t) => Array.from(t.data).every(Number.isFinite));
  return finite(ref.run(feeds.inputs, names)) && finite(ref.run(feeds.inputs, names)) && finite(ref.getParams());
}

/** A train step of `ops` with feeds that the reference keeps finite over two steps (finiteFeeds, staysFinite), or null. */
export const arbFiniteTrainStep = (ops: readonly OpName[]) =>
  arbTrainStep(ops).map((step): { step: Graph; feeds: Feeds } | null => {
    if (step === null) return null;
    const feeds = finiteFeeds(step);
    return staysFinite(step, feeds) ? { step, feeds } : null;
  });
