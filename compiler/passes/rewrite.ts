// A graph rebuilder for rewriting passes: hash-consed node creation (so CSE is free), defs by id, and dead-code elimination.
//
// A pass copies a graph node by node into a Rewriter, possibly replacing nodes; `op` returns
// the existing value when an identical node (op, inputs, attributes) was made before, so
// common subexpressions merge as the graph is rebuilt. Locations are not part of a node's
// identity: the first node made keeps its location. `build` keeps only nodes that an output
// reaches, in creation order, which is a topological order because inputs exist before use.

import type { Graph, GraphOutput, Loc, Node, ValueId } from '../ir/graph.js';
import type { AttrValue, Attrs } from '../ir/ops/op.js';
import type { OpName } from '../ir/ops/registry.js';
import { inferType, opDef } from '../ir/ops/registry.js';
import type { TensorType } from '../ir/types.js';

/** An attribute value as text that tells -0 from 0 (JSON.stringify would not). */
function attrKey(v: AttrValue): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (Array.isArray(v)) return `[${v.map((x) => attrKey(x)).join(',')}]`;
  return JSON.stringify(v);
}

/** The identity of a node for CSE: op, inputs, and attributes in schema order. */
export function nodeKey(op: OpName, inputs: readonly ValueId[], attrs: Attrs): string {
  const keys = Object.keys(opDef(op).attrs);
  const parts = keys.map((k) => (attrs[k] === undefined ? '' : attrKey(attrs[k]!)));
  return `${op}(${inputs.join(',')}){${parts.join(';')}}`;
}

export class Rewriter {
  private readonly nodes: Node[] = [];
  private readonly defs = new Map<ValueId, Node>();
  private readonly types = new Map<ValueId, TensorType>();
  private readonly byKey = new Map<string, ValueId>();
  private nextId: number;
  /** Nodes `op` returned instead of making a new one: each is a CSE merge. */
  merges = 0;
  /** The location given to nodes made without one (the node a rule is rewriting). */
  loc: Loc | undefined;

  constructor(private readonly source: Graph) {
    let max = -1;
    for (const v of [...source.inputs, ...source.params]) {
      this.types.set(v.id, v.type);
      max = Math.max(max, v.id);
    }
    for (const n of source.nodes) max = Math.max(max, n.id);
    this.nextId = max + 1;
  }

  /** A node of `op`, or the identical node made before; runs the op's type rule. */
  op(op: OpName, inputs: readonly ValueId[], attrs: Attrs = {}, loc: Loc | undefined = this.loc): ValueId {
    const key = nodeKey(op, inputs, attrs);
    const seen = this.byKey.get(key);
    if (seen !== undefined) {
      this.merges++;
      return seen;
    }
    const type = inferType(op, inputs.map((v) => this.typeOf(v)), attrs);
    const id = this.nextId++;
    const node: Node = loc ? { id, op, inputs: [...inputs], attrs, type, loc } : { id, op, inputs: [...inputs], attrs, type };
    this.nodes.push(node);
    this.defs.set(id, node);
    this.types.set(id, type);
    this.byKey.set(key, id);
    return id;
  }

  /** The node defining `v`; undefined for inputs and params. */
  def(v: ValueId): Node | undefined {
    return this.defs.get(v);
  }

  typeOf(v: ValueId): TensorType {
    const t = this.types.get(v);
    if (!t) throw new Error(`internal: rewriter has no value %${v}`);
    return t;
  }

  /** The graph with these outputs, keeping only the nodes they reach. */
  build(outputs: readonly GraphOutput[]): Graph {
    const live = new Set<ValueId>(outputs.map((o) => o.value));
    for (let k = this.nodes.length - 1; k >= 0; k--) {
      const n = this.nodes[k]!;
      if (live.has(n.id)) for (const v of n.inputs) live.add(v);
    }
    return {
      name: this.source.name,
      inputs: this.source.inputs,
      params: this.source.params,
      nodes: this.nodes.filter((n) => live.has(n.id)),
      outputs,
    };
  }

  /** How many nodes were made (live or not). */
  get size(): number {
    return this.nodes.length;
  }
}

/** The graph without nodes that no output reaches. */
export function eliminateDeadCode(g: Graph): Graph {
  const live = new Set<ValueId>(g.outputs.map((o) => o.value));
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (live.has(n.id)) for (const v of n.inputs) live.add(v);
  }
  const nodes = g.nodes.filter((n) => live.has(n.id));
  return nodes.length === g.nodes.length ? g : { ...g, nodes };
}
