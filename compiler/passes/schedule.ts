// The `schedule` pass: a topological order of kernels chosen to keep the bytes live at once low.
//
// Needs: a fused program (fused.ts). Guarantees: the same kernels (same members) in an order
// where every kernel comes after the kernels it reads from, and, where the data flow allows
// it, after-the-fact constraints for in-place updates: a kernel that writes an output aliasing
// a param comes after every other kernel that reads the param's old value, so the memory
// planner can write the new value over the old one. Does not: change kernels, or promise the
// optimal order (the problem is NP-hard); it is a greedy list schedule.
//
// At each step the ready kernel with the smallest net allocation runs next: the bytes of
// the values it stores minus the bytes of the values it reads for the last time (ties go to
// the earlier kernel in the incoming order). Aliased outputs written in place cost nothing.

import type { ValueId } from '../ir/graph.js';
import { GraphIndex, groupOutputs } from '../kernel/lower-kernel.js';
import { tensorBytes } from '../kernel/target.js';
import type { Fused } from './fused.js';
import { kernelIndex, orderByKernels } from './fused.js';

export function schedule(f: Fused): Fused {
  const ix = new GraphIndex(f.graph);
  const where = kernelIndex(f);
  const n = f.kernels.length;
  const preds = f.kernels.map(() => new Set<number>());
  const readers = new Map<ValueId, Set<number>>();
  f.kernels.forEach((members, k) => {
    for (const v of members) {
      for (const x of ix.defs.get(v)!.inputs) {
        const j = where.get(x);
        if (j !== undefined && j !== k) preds[k]!.add(j);
        if (j !== k) readers.set(x, (readers.get(x) ?? new Set()).add(k));
      }
    }
  });
  const free = new Set<ValueId>();
  addInPlaceOrder(f, ix, where, preds, readers, free);

  const outputs = f.kernels.map((members) => groupOutputs(ix, new Set(members)));
  const reads = f.kernels.map(() => [] as ValueId[]);
  for (const [v, rs] of readers) for (const k of rs) reads[k]!.push(v);
  const remaining = new Map<ValueId, number>([...readers].map(([v, rs]) => [v, rs.size]));
  const done = new Set<number>();
  const order: number[] = [];
  while (order.length < n) {
    let best = -1;
    let bestDelta = Infinity;
    for (let k = 0; k < n; k++) {
      if (done.has(k) || [...preds[k]!].some((j) => !done.has(j))) continue;
      const stored = outputs[k]!.filter((v) => !free.has(v)).reduce((s, v) => s + tensorBytes(ix.typeOf(v)), 0);
      let freed = 0;
      for (const v of reads[k]!) {
        if (remaining.get(v) === 1 && ix.defs.has(v) && !ix.outputs.has(v)) freed += tensorBytes(ix.typeOf(v));
      }
      const delta = stored - freed;
      if (delta < bestDelta) {
        best = k;
        bestDelta = delta;
      }
    }
    if (best < 0) throw new Error('internal: schedule found no ready kernel (a cycle between kernels)');
    done.add(best);
    order.push(best);
    for (const v of reads[best]!) remaining.set(v, remaining.get(v)! - 1);
  }
  const kernels = order.map((k) => f.kernels[k]!);
  return { graph: orderByKernels(f.graph, kernels), kernels, decisions: f.decisions };
}

/**
 * For each output aliasing a param P, written by kernel w: every other reader of P goes
 * before w, unless it depends on w (then P's old value is needed after the new one exists,
 * and the update cannot be in place). Outputs so ordered are added to `free`.
 */
function addInPlaceOrder(f: Fused, ix: GraphIndex, where: Map<ValueId, number>, preds: Set<number>[], readers: Map<ValueId, Set<number>>, free: Set<ValueId>): void {
  const params = new Map(f.graph.params.map((p) => [p.name, p.id]));
  for (const o of f.graph.outputs) {
    if (o.aliases === undefined) continue;
    const p = params.get(o.aliases);
    const w = where.get(o.value);
    if (p === undefined || w === undefined || ix.outputs.has(p)) continue;
    const others = [...(readers.get(p) ?? [])].filter((r) => r !== w);
    if (others.some((r) => dependsOn(r, w, preds))) continue;
    for (const r of others) preds[w]!.add(r);
    free.add(o.value);
  }
}

/** Whether kernel `a` depends (transitively) on kernel `b`. */
function dependsOn(a: number, b: number, preds: readonly Set<number>[]): boolean {
  const stack = [a];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (k === b) return true;
    if (seen.has(k)) continue;
    seen.add(k);
    stack.push(...preds[k]!);
  }
  return false;
}
