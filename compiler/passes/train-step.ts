// The train step and eval step as graphs: forward, loss, metrics, backward, clipping, optimizer update.
//
// Needs: a verified forward graph and a checked train configuration. Guarantees: the train
// step is one graph with the forward graph's inputs plus the label, `lr` and `step` (f32
// scalars the host's schedule feeds each step); outputs `loss` (batch mean, including the L2
// penalty), `correct` (count of correct predictions, when the loss has a notion of it), and
// one `next.<name>` output per trainable parameter and optimizer state tensor, each aliasing
// the value it replaces. Optimizer state tensors are non-trainable parameters initialized to
// zeros. The eval step is the forward graph with the same `loss` and `correct` outputs.
//
// The forward graph is simplified before it is differentiated, so the gradient is taken of
// the simpler program: a ReLU moved after max pooling (see simplify-rules.ts) is then masked
// on the pooled values, and the pooling gradient compares the convolution's output itself.

import type { Graph, ValueId } from '../ir/graph.js';
import { GraphBuilder } from '../ir/graph.js';
import { differentiate } from './autodiff.js';
import { simplify } from './simplify.js';
import type { LossKind } from './losses.js';
import { emitCorrect, emitLoss, labelType, LossError } from './losses.js';
import type { OptimizerKind } from './optimizers.js';
import { emitUpdate, stateName } from './optimizers.js';

export interface TrainStepConfig {
  readonly loss: { readonly kind: LossKind; readonly output: string; readonly label: string };
  readonly optimizer: { readonly kind: OptimizerKind; readonly args: Readonly<Record<string, number>> };
  /** L2 penalty coefficient on weights (parameters of rank ≥ 2); 0 for none. */
  readonly l2: number;
  /** Global-norm gradient clipping threshold; 0 for none. */
  readonly clip_norm: number;
}

/** Names of the inputs and outputs a training loop drives. */
export const STEP = { lr: 'lr', step: 'step', loss: 'loss', correct: 'correct' } as const;

export function nextName(target: string): string {
  return `next.${target}`;
}

/** Forward graph + label input + loss (with L2) + correct count, outputs `loss` and `correct`. */
function withLoss(forward: Graph, cfg: TrainStepConfig, name: string): GraphBuilder {
  const out = forward.outputs.find((o) => o.name === cfg.loss.output);
  if (!out) throw new LossError(`the loss reads output '${cfg.loss.output}', which ${forward.name} does not have`);
  const b = GraphBuilder.extend(forward, name);
  b.clearOutputs();
  // The training forward pass's own state updates (batchnorm running statistics) stay outputs.
  for (const o of forward.outputs) if (o.aliases !== undefined) b.output(o.name, o.value, o.aliases);
  const label = b.input(cfg.loss.label, labelType(cfg.loss.kind, b.typeOf(out.value)));
  let loss = emitLoss(b, cfg.loss.kind, out.value, label);
  if (cfg.l2 > 0) {
    const weights = forward.params.filter((p) => p.trainable && p.type.shape.length >= 2);
    for (const w of weights) {
      const sq = b.op('sum', [b.op('mul', [w.id, w.id])], { axes: w.type.shape.map((_, i) => i), keepdims: false });
      loss = b.op('add', [loss, b.op('mul', [b.op('constant', [], { value: cfg.l2, dtype: 'f32', shape: [] }), sq])]);
    }
  }
  b.output(STEP.loss, loss);
  const correct = emitCorrect(b, cfg.loss.kind, out.value, label);
  if (correct !== null) b.output(STEP.correct, correct);
  return b;
}

export function buildEvalStep(forward: Graph, cfg: TrainStepConfig): Graph {
  return withLoss(forward, cfg, `${forward.name}.eval`).build();
}

/** Scales every gradient by clip / max(‖g‖, clip), ‖g‖ the global L2 norm over all of them. */
function clipByGlobalNorm(b: GraphBuilder, grads: ValueId[], clip: number): ValueId[] {
  let sq: ValueId | null = null;
  for (const g of grads) {
    const t = b.typeOf(g);
    const s = b.op('sum', [b.op('mul', [g, g])], { axes: t.shape.map((_, i) => i), keepdims: false });
    sq = sq === null ? s : b.op('add', [sq, s]);
  }
  if (sq === null) return grads;
  const c = b.op('constant', [], { value: clip, dtype: 'f32', shape: [] });
  const scale = b.op('div', [c, b.op('maximum', [b.op('sqrt', [sq]), c])]);
  return grads.map((g) => {
    const shape = [...b.typeOf(g).shape];
    return b.op('mul', [g, shape.length ? b.op('broadcast', [scale], { shape, dims: [] }) : scale]);
  });
}

export interface TrainStepOptions {
  /** Simplify the forward graph before differentiating it (default true; false gives the step as written, for measurements). */
  readonly simplifyForward?: boolean;
}

export function buildTrainStep(forward: Graph, cfg: TrainStepConfig, options: TrainStepOptions = {}): Graph {
  const lossGraph = withLoss(options.simplifyForward === false ? forward : simplify(forward), cfg, `${forward.name}.train`).build();
  const { graph: withGrads, grads } = differentiate(lossGraph, STEP.loss, forward.params.filter((p) => p.trainable).map((p) => p.name));
  // Value ids are per graph: take the parameters from the differentiated graph, not the forward one.
  const trainable = withGrads.params.filter((p) => p.trainable);
  const b = GraphBuilder.extend(withGrads);
  const gradIds = trainable.map((p) => withGrads.outputs.find((o) => o.name === grads.get(p.name))!.value);
  const aliasOf = new Map(lossGraph.outputs.map((o) => [o.name, o.aliases]));
  const kept = withGrads.outputs.filter((o) => aliasOf.has(o.name));
  b.clearOutputs();
  for (const o of kept) b.output(o.name, o.value, aliasOf.get(o.name));
  const scalars = { lr: b.input(STEP.lr, { dtype: 'f32', shape: [] }), step: b.input(STEP.step, { dtype: 'f32', shape: [] }) };
  const clipped = cfg.clip_norm > 0 ? clipByGlobalNorm(b, gradIds, cfg.clip_norm) : gradIds;
  trainable.forEach((p, i) => {
    const slots = new Map<string, ValueId>();
    const state = (slot: string): ValueId => {
      let id = slots.get(slot);
      if (id === undefined) {
        id = b.param(stateName(slot, p.name), p.type, { kind: 'zeros', args: {} }, false);
        slots.set(slot, id);
      }
      return id;
    };
    for (const u of emitUpdate(b, cfg.optimizer.kind, cfg.optimizer.args, { name: p.name, value: p.id }, clipped[i]!, scalars, state)) {
      b.output(nextName(u.target), u.next, u.target);
    }
  });
  return b.build();
}
