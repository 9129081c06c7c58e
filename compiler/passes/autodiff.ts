// The autodiff pass: reverse-mode gradients of a scalar loss, appended to the graph as IR ops.
//
// Needs: a well-formed graph with an output `loss` of type f32[] and `wrt`, distinct names of
// f32 inputs or params. Guarantees: a new graph with the same name, inputs, params, forward
// nodes (copied in order, with their attributes and locs) and outputs, followed by the
// backward nodes and one extra output `grad.<name>` per wrt name holding d loss / d name, of
// that value's type. Backward nodes come from each op's registry VJP, visited in reverse
// topological order; a value read by several nodes gets its cotangent summed with `add`.
// Only nodes on an f32 path from a wrt value to the loss are differentiated (integer and
// bool values carry no cotangent), and each backward node carries its forward node's loc.
// A wrt value the loss does not depend on gets a zeros constant. Differentiating through an
// op whose VJP is 'none' throws GradientError naming the op and its loc. It does not
// simplify: shared subexpressions and constants are left to `simplify`.

import type { Graph, Loc, Node, ValueId } from '../ir/graph.js';
import { GraphBuilder } from '../ir/graph.js';
import type { LazyGrad, VjpContext } from '../ir/ops/op.js';
import type { OpName } from '../ir/ops/registry.js';
import { OPS } from '../ir/ops/registry.js';
import type { TensorType } from '../ir/types.js';
import { formatType, typesEqual } from '../ir/types.js';

/** A gradient had to flow through an op that declares none; names the op and where the node came from. */
export class GradientError extends Error {
  constructor(
    readonly op: OpName,
    readonly loc: Loc | undefined,
  ) {
    const where = loc ? ` at ${loc.file}:${loc.line}:${loc.col}` : '';
    super(`cannot differentiate through '${op}'${where}: the op has no gradient, and the loss depends on its result`);
    this.name = 'GradientError';
  }
}

export interface Differentiated {
  readonly graph: Graph;
  /** For each wrt name, the name of the output holding its gradient. */
  readonly grads: Map<string, string>;
}

interface Target {
  readonly name: string;
  readonly id: ValueId;
  readonly type: TensorType;
}

/** The loss value and the wrt values, checked; a bad request is the calling pass's bug. */
function resolve(graph: Graph, loss: string, wrt: readonly string[]): { loss: ValueId; targets: Target[] } {
  const out = graph.outputs.find((o) => o.name === loss);
  if (!out) throw new Error(`internal: differentiate: graph @${graph.name} has no output '${loss}'`);
  const declared = new Map<string, Target>();
  for (const v of [...graph.inputs, ...graph.params]) declared.set(v.name, { name: v.name, id: v.id, type: v.type });
  const lossType = [...graph.inputs, ...graph.params, ...graph.nodes].find((v) => v.id === out.value)?.type;
  if (!lossType || lossType.dtype !== 'f32' || lossType.shape.length !== 0) {
    throw new Error(`internal: differentiate: loss '${loss}' must be f32[], got ${lossType ? formatType(lossType) : 'an undefined value'}`);
  }
  const outputNames = new Set(graph.outputs.map((o) => o.name));
  const targets = wrt.map((name) => {
    const t = declared.get(name);
    if (!t) throw new Error(`internal: differentiate: graph @${graph.name} has no input or param '${name}'`);
    if (t.type.dtype !== 'f32') throw new Error(`internal: differentiate: '${name}' is ${formatType(t.type)}; only f32 values have gradients`);
    if (outputNames.has(gradName(name))) throw new Error(`internal: differentiate: graph @${graph.name} already has an output '${gradName(name)}'`);
    return t;
  });
  if (new Set(wrt).size !== wrt.length) throw new Error(`internal: differentiate: wrt names repeat: ${wrt.join(', ')}`);
  return { loss: out.value, targets };
}

function gradName(name: string): string {
  return `grad.${name}`;
}

/**
 * The values that need a cotangent: f32 values that depend on a wrt value through f32
 * values, and on which the loss depends.
 */
function valuesOnPath(graph: Graph, loss: ValueId, targets: readonly Target[]): Set<ValueId> {
  const active = new Set(targets.map((t) => t.id));
  for (const n of graph.nodes) {
    if (n.type.dtype === 'f32' && n.inputs.some((v) => active.has(v))) active.add(n.id);
  }
  const needed = new Set<ValueId>();
  if (active.has(loss)) needed.add(loss);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    if (!needed.has(n.id)) continue;
    for (const v of n.inputs) if (active.has(v)) needed.add(v);
  }
  return needed;
}

export function differentiate(graph: Graph, loss: string, wrt: readonly string[]): Differentiated {
  const { loss: lossId, targets } = resolve(graph, loss, wrt);
  const b = new GraphBuilder(graph.name);
  const ids = new Map<ValueId, ValueId>();
  const at = (old: ValueId): ValueId => {
    const v = ids.get(old);
    if (v === undefined) throw new Error(`internal: differentiate: value %${old} of graph @${graph.name} is used before it is defined`);
    return v;
  };
  for (const i of graph.inputs) ids.set(i.id, b.input(i.name, i.type));
  for (const p of graph.params) ids.set(p.id, b.param(p.name, p.type, p.init, p.trainable));
  for (const n of graph.nodes) ids.set(n.id, b.op(n.op, n.inputs.map(at), n.attrs, n.loc));
  for (const o of graph.outputs) b.output(o.name, at(o.value));

  const needed = valuesOnPath(graph, lossId, targets);
  const locOf = new Map<ValueId, Loc | undefined>(graph.nodes.map((n) => [n.id, n.loc]));
  /** Cotangent contributions per forward value (old id), summed when the value is reached. */
  const parts = new Map<ValueId, ValueId[]>();
  const contribute = (old: ValueId, g: ValueId): void => {
    const list = parts.get(old);
    if (list) list.push(g);
    else parts.set(old, [g]);
  };
  const total = (old: ValueId): ValueId | null => {
    const list = parts.get(old);
    if (!list) return null;
    const loc = locOf.get(old);
    return list.reduce((acc, g) => b.op('add', [acc, g], {}, loc));
  };

  if (needed.has(lossId)) contribute(lossId, b.op('constant', [], { value: 1, dtype: 'f32', shape: [] }, locOf.get(lossId)));
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    if (!needed.has(n.id)) continue;
    const dy = total(n.id);
    // Every consumer on the path declined to pass a gradient: the cotangent is zero.
    if (dy === null) continue;
    backward(b, n, n.inputs.map(at), at(n.id), dy).forEach((grad, i) => {
      const input = n.inputs[i]!;
      if (grad === null || !needed.has(input)) return;
      const g = grad();
      const want = b.typeOf(at(input));
      if (!typesEqual(b.typeOf(g), want)) {
        throw new Error(`internal: the VJP of '${n.op}' gave input ${i} a cotangent of ${formatType(b.typeOf(g))}, but the input is ${formatType(want)}`);
      }
      contribute(input, g);
    });
  }

  const grads = new Map<string, string>();
  for (const t of targets) {
    const g = total(t.id) ?? b.op('constant', [], { value: 0, dtype: 'f32', shape: [...t.type.shape] });
    b.output(gradName(t.name), g);
    grads.set(t.name, gradName(t.name));
  }
  return { graph: b.build(), grads };
}

/** Runs one node's VJP with a context that emits into `b` at the node's loc. */
function backward(b: GraphBuilder, n: Node, inputs: readonly ValueId[], output: ValueId, dy: ValueId): readonly (LazyGrad | null)[] {
  const rule = OPS[n.op].vjp;
  if (rule === 'none') throw new GradientError(n.op, n.loc);
  const ctx: VjpContext = {
    typeOf: (v) => b.typeOf(v),
    op: (op, ins, attrs = {}) => b.op(op, ins, attrs, n.loc),
  };
  const grads = rule(ctx, inputs, output, n.attrs, dy);
  if (grads.length !== inputs.length) throw new Error(`internal: the VJP of '${n.op}' gave ${grads.length} cotangents for ${inputs.length} inputs`);
  return grads;
}
