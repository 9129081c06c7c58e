// Losses and metrics written as IR ops: softmax cross-entropy, mean squared error, binary cross-entropy, accuracy.

import type { GraphBuilder, ValueId } from '../ir/graph.js';
import type { TensorType } from '../ir/types.js';
import { formatType } from '../ir/types.js';

export type LossKind = 'softmax_cross_entropy' | 'mse' | 'binary_cross_entropy';

/** The label input a loss needs for a model output of type `out`. */
export function labelType(kind: LossKind, out: TensorType): TensorType {
  if (kind === 'softmax_cross_entropy') {
    if (out.shape.length !== 2) throw new LossError(`softmax_cross_entropy needs logits [batch, classes], got ${formatType(out)}`);
    return { dtype: 'i32', shape: [out.shape[0]!] };
  }
  return { dtype: 'f32', shape: [...out.shape] };
}

/** A loss that does not fit the model's output (shown to users with the train block's line). */
export class LossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LossError';
  }
}

const all = (t: TensorType): number[] => t.shape.map((_, i) => i);

function scalar(b: GraphBuilder, value: number, shape: readonly number[]): ValueId {
  return b.op('constant', [], { value, dtype: 'f32', shape: [...shape] });
}

/** The mean loss over the batch, as a scalar f32 value. */
export function emitLoss(b: GraphBuilder, kind: LossKind, out: ValueId, label: ValueId): ValueId {
  const t = b.typeOf(out);
  switch (kind) {
    case 'softmax_cross_entropy': {
      // −Σ_c onehot(label)_c · log_softmax(logits)_c per row, then the batch mean; log_softmax
      // subtracts the row maximum, so large logits cannot overflow.
      const logp = b.op('log_softmax', [out], { axis: 1 });
      const onehot = b.op('one_hot', [label], { depth: t.shape[1]! });
      const picked = b.op('sum', [b.op('mul', [onehot, logp])], { axes: [1], keepdims: false });
      return b.op('neg', [b.op('mean', [picked], { axes: [0], keepdims: false })]);
    }
    case 'mse': {
      const d = b.op('sub', [out, label]);
      return b.op('mean', [b.op('mul', [d, d])], { axes: all(t), keepdims: false });
    }
    case 'binary_cross_entropy': {
      // −mean(y log p + (1 − y) log(1 − p)) with p clamped to [ε, 1 − ε] (Keras's ε = 1e-7).
      const eps = 1e-7;
      const p = b.op('minimum', [b.op('maximum', [out, scalar(b, eps, t.shape)]), scalar(b, 1 - eps, t.shape)]);
      const one = scalar(b, 1, t.shape);
      const pos = b.op('mul', [label, b.op('log', [p])]);
      const neg = b.op('mul', [b.op('sub', [one, label]), b.op('log', [b.op('sub', [one, p])])]);
      return b.op('neg', [b.op('mean', [b.op('add', [pos, neg])], { axes: all(t), keepdims: false })]);
    }
    default:
      return kind satisfies never;
  }
}

/**
 * The number of correct predictions in the batch (f32 scalar), so that partial batches add up
 * exactly: argmax = label for class logits; (p > 0.5) = (y > 0.5) for binary outputs.
 */
export function emitCorrect(b: GraphBuilder, kind: LossKind, out: ValueId, label: ValueId): ValueId | null {
  const t = b.typeOf(out);
  let hits: ValueId;
  if (kind === 'softmax_cross_entropy') {
    hits = b.op('equal', [b.op('argmax', [out], { axis: 1, keepdims: false }), label]);
  } else if (kind === 'binary_cross_entropy') {
    const half = scalar(b, 0.5, t.shape);
    hits = b.op('equal', [b.op('cast', [b.op('greater', [out, half])], { to: 'i32' }), b.op('cast', [b.op('greater', [label, half])], { to: 'i32' })]);
  } else {
    return null;
  }
  const f = b.op('cast', [hits], { to: 'f32' });
  return b.op('sum', [f], { axes: all(b.typeOf(f)), keepdims: false });
}
