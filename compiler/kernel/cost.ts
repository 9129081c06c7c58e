// What a program costs: floating-point operations per op, and bytes each kernel reads and writes.
//
// FLOPs count one per output element for elementwise ops (transcendentals included), one
// per input element for reductions, two per multiply-add for contractions (so a conv's
// gradients cost what the conv costs), a window's size per pooling output, nothing for
// movement. Bytes moved assume each kernel reads each buffer it binds once and writes each
// output once (a perfect cache inside a kernel, none between kernels), so before fusion
// (one kernel per node) they are the traffic of running the graph op by op.

import type { Graph, Node, ValueId } from '../ir/graph.js';
import type { OpName } from '../ir/ops/registry.js';
import { opDef } from '../ir/ops/registry.js';
import type { TensorType } from '../ir/types.js';
import { numel } from '../ir/types.js';
import { GraphIndex, groupInputs, groupOutputs } from './lower-kernel.js';
import { tensorBytes } from './target.js';

type FlopRule = (n: Node, inputs: readonly TensorType[]) => number;

const out = (n: Node): number => numel(n.type.shape);
const window = (n: Node): number => (n.attrs['kernel'] as readonly number[]).reduce((a, b) => a * b, 1);
/** Multiply-adds of a conv whose output (or output gradient) is `y` and weight is `w`: 2 per tap. */
const convFlops = (y: TensorType, w: readonly number[]): number => 2 * numel(y.shape) * w[1]! * w[2]! * w[3]!;

/** Per-op rules where the family's default does not fit. */
const FLOPS: Partial<Record<OpName, FlopRule>> = {
  matmul: (n, [a]) => 2 * out(n) * (n.attrs['transpose_a'] ? a!.shape[a!.shape.length - 2]! : a!.shape[a!.shape.length - 1]!),
  conv2d: (n, [, w]) => convFlops(n.type, w!.shape),
  conv2d_backward_input: (_n, [dy, w]) => convFlops(dy!, w!.shape),
  conv2d_backward_filter: (n, [, dy]) => convFlops(dy!, n.type.shape),
  maxpool2d: (n) => out(n) * window(n),
  avgpool2d: (n) => out(n) * window(n),
  maxpool2d_backward: (n, [, dy]) => 2 * numel(dy!.shape) * window(n),
  avgpool2d_backward: (n, [dy]) => numel(dy!.shape) * window(n),
  softmax: (n) => 5 * out(n),
  log_softmax: (n) => 5 * out(n),
  scatter_add: (_n, [, , u]) => numel(u!.shape),
  constant: () => 0,
};

export function nodeFlops(n: Node, inputs: readonly TensorType[]): number {
  const rule = FLOPS[n.op];
  if (rule) return rule(n, inputs);
  switch (opDef(n.op).family) {
    case 'movement':
      return 0;
    case 'reduce':
      return numel(inputs[0]!.shape);
    default:
      return out(n);
  }
}

export function graphFlops(g: Graph): number {
  const ix = new GraphIndex(g);
  return g.nodes.reduce((s, n) => s + nodeFlops(n, n.inputs.map((v) => ix.typeOf(v))), 0);
}

/** Bytes all kernels read and write, each kernel its buffers once. */
export function bytesMoved(g: Graph, kernels: readonly (readonly ValueId[])[]): number {
  const ix = new GraphIndex(g);
  let total = 0;
  for (const members of kernels) {
    const set = new Set(members);
    for (const v of [...groupInputs(ix, set), ...groupOutputs(ix, set)]) total += tensorBytes(ix.typeOf(v));
  }
  return total;
}
