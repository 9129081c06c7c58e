// The graph as JSON: every field, in a fixed key order, pretty-printed, for tools outside the compiler.
//
// Keys come in the order of the Graph interfaces; attributes in their op's schema order (keys
// a schema lacks follow in insertion order); initializer arguments sorted by name, as the text
// form prints them. JSON cannot write -0.0 or non-finite numbers: -0.0 reads back as 0, and a
// non-finite number (only in graphs the verifier rejects) as null.

import type { Graph, GraphInput, GraphParam, Node } from '../graph.js';
import type { Attrs } from '../ops/op.js';
import { isOpName, opDef } from '../ops/registry.js';
import type { TensorType } from '../types.js';

function typeJson(t: TensorType): object {
  return { dtype: t.dtype, shape: [...t.shape] };
}

function attrsJson(op: string, attrs: Attrs): Record<string, unknown> {
  const order = isOpName(op) ? Object.keys(opDef(op).attrs) : [];
  const keys = [...order.filter((k) => Object.hasOwn(attrs, k)), ...Object.keys(attrs).filter((k) => !order.includes(k))];
  return Object.fromEntries(keys.map((k) => [k, attrs[k]]));
}

function inputJson(i: GraphInput): object {
  return { id: i.id, name: i.name, type: typeJson(i.type) };
}

function paramJson(p: GraphParam): object {
  const args = Object.fromEntries(Object.keys(p.init.args).sort().map((k) => [k, p.init.args[k]]));
  return { id: p.id, name: p.name, type: typeJson(p.type), init: { kind: p.init.kind, args }, trainable: p.trainable };
}

function nodeJson(n: Node): object {
  const base = { id: n.id, op: n.op, inputs: [...n.inputs], attrs: attrsJson(n.op, n.attrs), type: typeJson(n.type) };
  return n.loc ? { ...base, loc: { file: n.loc.file, line: n.loc.line, col: n.loc.col } } : base;
}

export function graphToJson(g: Graph): string {
  const doc = {
    name: g.name,
    inputs: g.inputs.map(inputJson),
    params: g.params.map(paramJson),
    nodes: g.nodes.map(nodeJson),
    outputs: g.outputs.map((o) => (o.aliases === undefined ? { name: o.name, value: o.value } : { name: o.name, value: o.value, aliases: o.aliases })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
