// The fused program: a graph whose nodes are partitioned into kernels, in execution order, with fusion's reasons.
//
// Invariants (checked by `checkFused`): every node belongs to exactly one kernel; a kernel's
// nodes are contiguous in the graph's node order, and kernels appear in that order (so the
// node order is the kernel schedule); an op without a lowering is alone in its kernel; all
// outputs of a kernel (members read outside it, or named by a graph output) have the same
// element count; and the kernels form a DAG in their order (a kernel reads only values of
// earlier kernels, inputs and params), which the graph's own topological order implies.

import type { Graph, Node, ValueId } from '../ir/graph.js';
import { numel } from '../ir/types.js';
import { GraphIndex, fusionClass, groupOutputs } from '../kernel/lower-kernel.js';
import { eliminateDeadCode } from './rewrite.js';

/** Why two ops ended up in one kernel or in two (for every producer → consumer edge between nodes). */
export interface FusionDecision {
  readonly producer: ValueId;
  readonly consumer: ValueId;
  readonly fused: boolean;
  readonly reason: string;
}

export interface Fused {
  readonly graph: Graph;
  /** Node ids of each kernel, in execution order; their concatenation is the graph's node order. */
  readonly kernels: readonly (readonly ValueId[])[];
  /** Empty for a fused program read from text (reasons are not part of the textual form). */
  readonly decisions: readonly FusionDecision[];
}

/** Every node its own kernel: the program before fusion (nodes no output reaches are dropped, as fusion drops them). */
export function unfused(input: Graph): Fused {
  const g = eliminateDeadCode(input);
  return { graph: g, kernels: g.nodes.map((n) => [n.id]), decisions: [] };
}

/** The kernel index of each node. */
export function kernelIndex(f: Fused): Map<ValueId, number> {
  const m = new Map<ValueId, number>();
  f.kernels.forEach((members, k) => members.forEach((v) => m.set(v, k)));
  return m;
}

/** The graph with its nodes reordered to follow `kernels` (each kernel's nodes in their current relative order). */
export function orderByKernels(g: Graph, kernels: readonly (readonly ValueId[])[]): Fused['graph'] {
  const pos = new Map(g.nodes.map((n, i) => [n.id, i]));
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const nodes: Node[] = [];
  for (const members of kernels) {
    for (const v of [...members].sort((a, b) => pos.get(a)! - pos.get(b)!)) nodes.push(byId.get(v)!);
  }
  return { ...g, nodes };
}

/** The problems with a fused program's invariants; empty when it is well formed. */
export function checkFused(f: Fused): string[] {
  const problems: string[] = [];
  const ix = new GraphIndex(f.graph);
  const where = kernelIndex(f);
  const seen = new Set<ValueId>();
  for (const members of f.kernels) for (const v of members) {
    if (seen.has(v)) problems.push(`node %${v} is in two kernels`);
    seen.add(v);
  }
  for (const n of f.graph.nodes) if (!where.has(n.id)) problems.push(`node %${n.id} (${n.op}) is in no kernel`);
  let at = 0;
  f.kernels.forEach((members, k) => {
    if (members.length === 0) problems.push(`kernel k${k} is empty`);
    const set = new Set(members);
    for (let i = 0; i < members.length; i++) {
      if (!set.has(f.graph.nodes[at + i]?.id ?? -1)) problems.push(`kernel k${k}'s nodes are not contiguous in node order`);
    }
    at += members.length;
    const nodes = members.map((v) => ix.defs.get(v)).filter((n): n is Node => n !== undefined);
    if (nodes.length > 1 && nodes.some((n) => fusionClass(n.op) === 'opaque')) problems.push(`kernel k${k} groups an op without a lowering with other nodes`);
    const outs = groupOutputs(ix, set);
    if (outs.length === 0 && members.length > 0) problems.push(`kernel k${k} computes nothing that is used (dead code)`);
    const sizes = new Set(outs.map((o) => numel(ix.typeOf(o).shape)));
    if (sizes.size > 1) problems.push(`kernel k${k} has outputs of different element counts`);
    for (const n of nodes) {
      for (const v of n.inputs) {
        const kv = where.get(v);
        if (kv !== undefined && kv > k) problems.push(`kernel k${k} reads %${v} of the later kernel k${kv}`);
      }
    }
  });
  return problems;
}
