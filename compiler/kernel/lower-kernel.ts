// Lowers a group of graph nodes to one kernel's expressions: the step shared by fusion (to judge a group) and the program builder.
//
// A group's outputs are the members some value outside the group reads (or a graph output
// names); its inputs are the non-members its members read, in first-read order, each a load
// slot. All outputs must have the same element count: the kernel's index space is the first
// output's shape and every output is computed at the same row-major position. A member is
// inlined wherever it is read (memoized per index, so repeated reads share one expression).

import type { Graph, Node, ValueId } from '../ir/graph.js';
import type { OpName } from '../ir/ops/registry.js';
import type { Shape, TensorType } from '../ir/types.js';
import { numel, shapesEqual } from '../ir/types.js';
import type { Expr, IndexVar } from './expr.js';
import { ExprBuilder, topoOrder } from './expr.js';
import type { Access, FusionClass } from './lower-ops.js';
import { LOWERINGS, etype, ravel, unravel } from './lower-ops.js';

/** Lookups over one graph that fusion and lowering share. */
export class GraphIndex {
  readonly defs = new Map<ValueId, Node>();
  readonly types = new Map<ValueId, TensorType>();
  readonly consumers = new Map<ValueId, Node[]>();
  /** Values a graph output names. */
  readonly outputs = new Set<ValueId>();
  /** Each node's position in the graph's node order. */
  readonly position = new Map<ValueId, number>();

  constructor(readonly graph: Graph) {
    for (const v of [...graph.inputs, ...graph.params]) this.types.set(v.id, v.type);
    for (const [i, n] of graph.nodes.entries()) {
      this.position.set(n.id, i);
      this.defs.set(n.id, n);
      this.types.set(n.id, n.type);
      for (const v of new Set(n.inputs)) this.consumers.set(v, [...(this.consumers.get(v) ?? []), n]);
    }
    for (const o of graph.outputs) this.outputs.add(o.value);
  }

  typeOf(v: ValueId): TensorType {
    const t = this.types.get(v);
    if (!t) throw new Error(`internal: no value %${v} in graph @${this.graph.name}`);
    return t;
  }
}

/** The fusion class of an op, or 'opaque' when it has no lowering and runs alone on whole buffers. */
export function fusionClass(op: OpName): FusionClass | 'opaque' {
  return LOWERINGS[op]?.cls ?? 'opaque';
}

export interface LoweredKernel {
  readonly builder: ExprBuilder;
  /** External values read, one per load slot. */
  readonly inputs: readonly ValueId[];
  readonly outputs: readonly { readonly value: ValueId; readonly expr: Expr }[];
  readonly space: Shape;
  readonly vars: readonly IndexVar[];
  /** The flat row-major offset of the current point of the index space. */
  readonly flat: Expr;
}

/** The members of a group that something outside it reads, in graph order. */
export function groupOutputs(ix: GraphIndex, members: ReadonlySet<ValueId>): ValueId[] {
  return [...members]
    .filter((v) => ix.outputs.has(v) || (ix.consumers.get(v) ?? []).some((c) => !members.has(c.id)))
    .sort((a, b) => ix.position.get(a)! - ix.position.get(b)!);
}

/** The values outside a group that its members read. */
export function groupInputs(ix: GraphIndex, members: ReadonlySet<ValueId>): Set<ValueId> {
  const out = new Set<ValueId>();
  for (const v of members) for (const x of ix.defs.get(v)?.inputs ?? []) if (!members.has(x)) out.add(x);
  return out;
}

/** Lowered kernels by graph (graphs are immutable), so passes that look at the same kernel share one lowering. */
const lowerings = new WeakMap<Graph, Map<string, LoweredKernel>>();

export function lowerKernel(ix: GraphIndex, members: ReadonlySet<ValueId>, outputs: readonly ValueId[] = groupOutputs(ix, members)): LoweredKernel {
  let cache = lowerings.get(ix.graph);
  if (!cache) {
    cache = new Map();
    lowerings.set(ix.graph, cache);
  }
  const key = `${[...members].sort((a, b) => a - b).join(',')}|${outputs.join(',')}`;
  let k = cache.get(key);
  if (!k) {
    k = lowerUncached(ix, members, outputs);
    cache.set(key, k);
  }
  return k;
}

function lowerUncached(ix: GraphIndex, members: ReadonlySet<ValueId>, outputs: readonly ValueId[]): LoweredKernel {
  if (outputs.length === 0) throw new Error('internal: a kernel with no outputs');
  const e = new ExprBuilder();
  const space = ix.typeOf(outputs[0]!).shape;
  for (const o of outputs) {
    if (numel(ix.typeOf(o).shape) !== numel(space)) throw new Error(`internal: kernel outputs of different sizes (%${outputs[0]} and %${o})`);
  }
  const vars = space.map((d) => e.newVar(d));
  const point = vars.map((v) => e.v(v));
  const flat = ravel(e, point, space);
  const slots = new Map<ValueId, number>();
  const inputs: ValueId[] = [];
  const memo = new Map<string, Expr>();

  const access = (v: ValueId): Access => (idx) => {
    const node = members.has(v) ? ix.defs.get(v) : undefined;
    if (!node) {
      let slot = slots.get(v);
      if (slot === undefined) {
        slot = inputs.length;
        slots.set(v, slot);
        inputs.push(v);
      }
      const t = ix.typeOf(v);
      return e.load(slot, ravel(e, idx, t.shape), etype(t.dtype));
    }
    const key = `${v}:${idx.map((x) => x.id).join(',')}`;
    const seen = memo.get(key);
    if (seen) return seen;
    const lowering = LOWERINGS[node.op];
    if (!lowering) throw new Error(`internal: op '${node.op}' has no lowering but was grouped with other nodes`);
    const value = lowering.lower(e, node.inputs.map(access), node.inputs.map((i) => ix.typeOf(i)), node.attrs, node.type)(idx);
    memo.set(key, value);
    return value;
  };

  const lowered = outputs.map((o) => {
    const shape = ix.typeOf(o).shape;
    const idx = shapesEqual(shape, space) ? point : unravel(e, flat, shape);
    return { value: o, expr: access(o)(idx) };
  });
  return { builder: e, inputs, outputs: lowered, space, vars, flat };
}

const farReads = new WeakMap<LoweredKernel, Set<number>>();

/** Whether every load of `slot` in the kernel reads the element at the kernel's own position. */
export function readsOnlyAtPoint(k: LoweredKernel, slot: number): boolean {
  let far = farReads.get(k);
  if (!far) {
    far = new Set(topoOrder(k.outputs.map((o) => o.expr)).flatMap((x) => (x.kind === 'load' && x.offset !== k.flat ? [x.slot] : [])));
    farReads.set(k, far);
  }
  return !far.has(slot);
}

/** The reduction nodes of a kernel's expressions. */
export function reductionsOf(k: LoweredKernel): Expr[] {
  return topoOrder(k.outputs.map((o) => o.expr)).filter((x) => x.kind === 'reduce');
}
