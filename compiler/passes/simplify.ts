// The `simplify` pass: constant folding, CSE, DCE and algebraic identities, run to a fixed point.
//
// Needs: a verified graph. Guarantees: a verified graph with the same inputs, params and
// outputs (names, order, aliasing) that computes the same values as the reference on the
// input graph, bit for bit except for the sign of a zero (see simplify-rules.ts); no two
// nodes with the same op, inputs and attributes (CSE); no node that no output reaches
// (DCE); no rule of RULES applies to any node. Nodes keep their source locations, and a node
// a rule builds takes the location of the node it replaces. Does not: reorder independent
// nodes beyond what rebuilding in order implies, fuse anything, or look at values (inputs
// and params are unknown; only `constant` nodes are known values).
//
// The driver rebuilds the graph node by node through a hash-consing Rewriter; after each
// node is made, rules are tried on it (and on whatever replaces it) until none applies.
// Rebuilding repeats until a round changes nothing, which also catches rewrites that expose
// a rule at a node built earlier.

import type { Graph, Node, ValueId } from '../ir/graph.js';
import type { OpName } from '../ir/ops/registry.js';
import { Rewriter } from './rewrite.js';
import type { Rule } from './simplify-rules.js';
import { RULES } from './simplify-rules.js';

export interface SimplifyOptions {
  readonly rules?: readonly Rule<unknown>[];
  /** Called on every rule application (SINTER_DEBUG=4 prints them). */
  readonly onHit?: (rule: string, node: Node) => void;
}

/** Rounds of rebuilding before giving up on a fixed point: a rule set that loops is a bug. */
const MAX_ROUNDS = 50;
/** Rewrites of one node in a row, for the same reason. */
const MAX_REWRITES_PER_NODE = 100;

export function simplify(g: Graph, options: SimplifyOptions = {}): Graph {
  const rules = options.rules ?? RULES;
  const byOp = new Map<OpName | 'any', Rule<unknown>[]>();
  for (const r of rules) {
    for (const op of r.ops === 'any' ? (['any'] as const) : r.ops) byOp.set(op, [...(byOp.get(op) ?? []), r]);
  }
  let current = g;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const { graph, changed } = rebuild(current, byOp, options.onHit);
    current = graph;
    if (!changed) return current;
  }
  throw new Error(`internal: simplify did not reach a fixed point in ${MAX_ROUNDS} rounds (a rule undoes another)`);
}

function rebuild(g: Graph, byOp: ReadonlyMap<OpName | 'any', readonly Rule<unknown>[]>, onHit: SimplifyOptions['onHit']): { graph: Graph; changed: boolean } {
  const rw = new Rewriter(g);
  const map = new Map<ValueId, ValueId>();
  for (const v of [...g.inputs, ...g.params]) map.set(v.id, v.id);
  const get = (v: ValueId): ValueId => {
    const m = map.get(v);
    if (m === undefined) throw new Error(`internal: simplify met %${v} before its definition`);
    return m;
  };
  let hits = 0;
  for (const n of g.nodes) {
    rw.loc = n.loc;
    let v = rw.op(n.op, n.inputs.map(get), n.attrs, n.loc);
    for (let k = 0; ; k++) {
      if (k === MAX_REWRITES_PER_NODE) throw new Error(`internal: simplify rewrote node %${n.id} (${n.op}) ${k} times in a row (a rule undoes another)`);
      const node = rw.def(v);
      const fired = node ? applyFirst(node, rw, [...(byOp.get(node.op) ?? []), ...(byOp.get('any') ?? [])], onHit) : null;
      if (fired === null) break;
      v = fired;
      hits++;
    }
    map.set(n.id, v);
  }
  const outputs = g.outputs.map((o) => ({ ...o, value: get(o.value) }));
  const graph = rw.build(outputs);
  const changed = hits > 0 || rw.merges > 0 || graph.nodes.length !== g.nodes.length;
  return { graph, changed };
}

/** The value the first matching rule rewrites `node` to, or null when none matches. */
function applyFirst(node: Node, rw: Rewriter, rules: readonly Rule<unknown>[], onHit: SimplifyOptions['onHit']): ValueId | null {
  for (const r of rules) {
    const m = r.match(node, rw);
    if (m === null) continue;
    const v = r.rewrite(m, rw, node);
    if (v === node.id) continue;
    onHit?.(r.name, node);
    return v;
  }
  return null;
}
