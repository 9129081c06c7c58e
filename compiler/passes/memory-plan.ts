// The `memory-plan` pass: liveness intervals and byte offsets in one arena for every value a kernel stores.
//
// Needs: a scheduled fused program. Guarantees: a plan that `validatePlan` accepts: each
// stored node value gets a live range [first, last] in kernel indices (from the kernel that
// writes it to the last kernel that reads it; graph outputs live to the end) and a place:
// an offset in the arena, aligned to the target's offset alignment, where no two values live
// at the same time overlap, or, for an output that replaces a param (declared aliasing), that
// param's own storage when the update can be made in place. Inputs and params are persistent
// and outside the arena. Does not: reorder kernels (that is `schedule`).
//
// In-place reuse: a kernel output takes over the storage of an input that dies in that
// kernel when both have the same aligned size and the kernel reads the input only at the
// point it writes (element i is read before element i is written, and never after). An
// aliased output is written into its param when every other reader of the param runs
// earlier, the kernel reads the param only at that point, and no graph output names the
// param itself.
//
// Placement is greedy by size, best fit: storage objects (values sharing storage in place
// form one) are placed largest first, each in the smallest gap between already placed objects
// that are live at the same time, or on top of them. The figures reported: `peakBytes`, the
// arena size; `naiveBytes`, the sum of every stored value's aligned size (nothing shared);
// `lowerBoundBytes`, the largest total size of the storage objects live at one kernel,
// which no placement of those objects can beat.
//
// With storage 'f16' (target.ts), f32 temporaries take 2 bytes an element in a second arena,
// the half arena, planned the same way on its own (`halfPeakBytes`); a value reuses an input
// in place only within its own arena. The figures then count stored bytes of both arenas.
// Which temporaries: what a plan may put there is any f32 value that is not a graph output
// (read back, or copied into a param) and not an op kernel's (random_uniform promises [0, 1),
// and 1 - 2^-24 rounds to 1 in f16). What the planner puts there, as mixed-precision training
// does, is the bulk: values of at least `halfMinElements` elements (1024 by default) made by
// elementwise, view or contraction ops, or by reductions that keep to their inputs' range
// (max, mean, softmax, pooling and its gradient). Sums stay f32 — a sum of squares for
// gradient clipping overflows f16 past 65504, and the clip then zeroes every update without
// any non-finite loss to report it — and small values save nothing.

import type { ValueId } from '../ir/graph.js';
import { numel } from '../ir/types.js';
import type { MemoryRow } from '../ir/print.js';
import { GraphIndex, groupOutputs, lowerKernel, readsOnlyAtPoint, fusionClass } from '../kernel/lower-kernel.js';
import type { Placement, Placements } from '../kernel/program.js';
import type { Storage, TargetLimits } from '../kernel/target.js';
import { WEBGPU_DEFAULTS, alignUp, halfBytes, tensorBytes } from '../kernel/target.js';
import type { Fused } from './fused.js';
import { kernelIndex } from './fused.js';

export interface MemoryPlan {
  /** One row per stored node value, in the order kernels write them. */
  readonly rows: readonly MemoryRow[];
  readonly alignment: number;
  readonly peakBytes: number;
  /** Bytes of the half arena (storage 'f16'; 0 otherwise). */
  readonly halfPeakBytes: number;
  readonly naiveBytes: number;
  readonly lowerBoundBytes: number;
}

/** Reductions whose results stay within their inputs' range (softmax within [0, 1]; pooling gradients sum a few window contributions at most), so f16 holds them as well as their inputs. */
const RANGE_KEEPING: ReadonlySet<string> = new Set(['max', 'mean', 'softmax', 'maxpool2d', 'avgpool2d', 'maxpool2d_backward', 'avgpool2d_backward']);

/** The smallest temporary storage 'f16' puts in the half arena, by default. */
export const HALF_MIN_ELEMENTS = 1024;

export function memoryPlan(f: Fused, limits: TargetLimits = WEBGPU_DEFAULTS, storage: Storage = 'f32', halfMinElements = HALF_MIN_ELEMENTS): MemoryPlan {
  const facts = new Facts(f);
  const align = limits.offsetAlignment;
  const halves = new Set(storage === 'f16' ? facts.stored.filter((v) => facts.halfWorthy(v, halfMinElements)) : []);
  const half = (v: ValueId): boolean => halves.has(v);
  const size = (v: ValueId): number => alignUp(half(v) ? halfBytes(facts.ix.typeOf(v)) : tensorBytes(facts.ix.typeOf(v)), align);
  const inParam = new Map<ValueId, string>();
  for (const v of facts.stored) {
    const p = facts.inPlaceParam(v);
    if (p !== null) inParam.set(v, p);
  }
  // Storage objects: a value that reuses an input in place joins that input's object.
  const objectOf = new Map<ValueId, number>();
  const objects: { bytes: number; first: number; last: number; half: boolean; values: ValueId[] }[] = [];
  for (const v of facts.stored) {
    if (inParam.has(v)) continue;
    const k = facts.producer.get(v)!;
    const fits = (b: ValueId): boolean => {
      const o = objectOf.has(b) ? objects[objectOf.get(b)!]! : null;
      return o !== null && o.last === k && o.half === half(v) && size(b) === size(v) && !o.values.some((x) => x !== b && facts.producer.get(x) === k);
    };
    const host = facts.reusable(k, fits);
    if (host !== null) {
      const o = objects[objectOf.get(host)!]!;
      o.values.push(v);
      o.last = facts.last.get(v)!;
      objectOf.set(v, objectOf.get(host)!);
    } else {
      objectOf.set(v, objects.length);
      objects.push({ bytes: size(v), first: k, last: facts.last.get(v)!, half: half(v), values: [v] });
    }
  }
  const offsets = new Array<number>(objects.length).fill(0);
  const peak = (inHalf: boolean): number => {
    const ids = objects.map((_, i) => i).filter((i) => objects[i]!.half === inHalf);
    const at = place(ids.map((i) => objects[i]!));
    ids.forEach((id, j) => (offsets[id] = at[j]!));
    return ids.reduce((m, i) => Math.max(m, offsets[i]! + objects[i]!.bytes), 0);
  };
  const peakBytes = peak(false);
  const halfPeakBytes = peak(true);
  let lowerBoundBytes = 0;
  for (let t = 0; t < f.kernels.length; t++) {
    lowerBoundBytes = Math.max(lowerBoundBytes, objects.reduce((s, o) => s + (o.first <= t && t <= o.last ? o.bytes : 0), 0));
  }
  const rows = facts.stored.map((v): MemoryRow => {
    const p = inParam.get(v);
    const o = objectOf.get(v);
    const type = facts.ix.typeOf(v);
    return {
      value: v,
      bytes: half(v) ? halfBytes(type) : tensorBytes(type),
      at: p !== undefined ? { param: p } : half(v) ? { half: offsets[o!]! } : { offset: offsets[o!]! },
      first: facts.producer.get(v)!,
      last: facts.last.get(v)!,
    };
  });
  const naiveBytes = facts.stored.reduce((s, v) => s + size(v), 0);
  return { rows, alignment: align, peakBytes, halfPeakBytes, naiveBytes, lowerBoundBytes };
}

/** Best-fit placement, largest object first; returns each object's offset. */
function place(objects: readonly { bytes: number; first: number; last: number }[]): number[] {
  const offsets = new Array<number>(objects.length).fill(0);
  const order = objects.map((_, i) => i).sort((a, b) => objects[b]!.bytes - objects[a]!.bytes || objects[a]!.first - objects[b]!.first || a - b);
  const placed: number[] = [];
  for (const i of order) {
    const o = objects[i]!;
    const busy = placed
      .filter((j) => objects[j]!.first <= o.last && o.first <= objects[j]!.last)
      .map((j) => ({ start: offsets[j]!, end: offsets[j]! + objects[j]!.bytes }))
      .sort((a, b) => a.start - b.start);
    let best = -1;
    let bestGap = Infinity;
    let cursor = 0;
    for (const r of busy) {
      const gap = r.start - cursor;
      if (gap >= o.bytes && gap < bestGap) {
        best = cursor;
        bestGap = gap;
      }
      cursor = Math.max(cursor, r.end);
    }
    offsets[i] = best >= 0 ? best : cursor;
    placed.push(i);
  }
  return offsets;
}

/** Liveness and access facts about a scheduled fused program. */
class Facts {
  readonly ix: GraphIndex;
  /** Stored node values in the order kernels write them. */
  readonly stored: ValueId[] = [];
  readonly producer = new Map<ValueId, number>();
  readonly last = new Map<ValueId, number>();
  /** The kernels reading each value (inputs and params included), excluding its producer. */
  readonly readers = new Map<ValueId, number[]>();
  private readonly lowered = new Map<number, ReturnType<typeof lowerKernel> | null>();

  constructor(readonly f: Fused) {
    this.ix = new GraphIndex(f.graph);
    const where = kernelIndex(f);
    const end = f.kernels.length - 1;
    f.kernels.forEach((members, k) => {
      for (const v of groupOutputs(this.ix, new Set(members))) {
        this.stored.push(v);
        this.producer.set(v, k);
        this.last.set(v, this.ix.outputs.has(v) ? end : k);
      }
      for (const v of members) {
        for (const x of this.ix.defs.get(v)!.inputs) {
          if (where.get(x) === k) continue;
          const rs = this.readers.get(x) ?? [];
          if (!rs.includes(k)) rs.push(k);
          this.readers.set(x, rs);
          if (this.last.has(x)) this.last.set(x, Math.max(this.last.get(x)!, k));
        }
      }
    });
  }

  /** The lowered kernel k, or null for an op kernel (whose reads are whole buffers). */
  kernel(k: number): ReturnType<typeof lowerKernel> | null {
    if (!this.lowered.has(k)) {
      const members = new Set(this.f.kernels[k]!);
      const opaque = [...members].some((v) => fusionClass(this.ix.defs.get(v)!.op) === 'opaque');
      this.lowered.set(k, opaque ? null : lowerKernel(this.ix, members));
    }
    return this.lowered.get(k)!;
  }

  /** Whether kernel k reads x only at the position it writes (true when it does not read x). */
  readsAtPointOnly(k: number, x: ValueId): boolean {
    const lk = this.kernel(k);
    if (!lk) return !this.f.kernels[k]!.some((v) => this.ix.defs.get(v)!.inputs.includes(x));
    const slot = lk.inputs.indexOf(x);
    return slot < 0 || readsOnlyAtPoint(lk, slot);
  }

  /** Whether a plan may store v in the half arena: an f32 temporary, not a graph output, not made by an op kernel. */
  halfAllowed(v: ValueId): boolean {
    const op = this.ix.defs.get(v)?.op;
    return this.producer.has(v) && this.ix.typeOf(v).dtype === 'f32' && !this.ix.outputs.has(v) && op !== undefined && fusionClass(op) !== 'opaque';
  }

  /** Whether the planner stores v in the half arena: allowed, at least `minElements` elements, and not the result of a summing reduction. */
  halfWorthy(v: ValueId, minElements: number): boolean {
    const op = this.ix.defs.get(v)!.op;
    const cls = fusionClass(op);
    return this.halfAllowed(v) && numel(this.ix.typeOf(v).shape) >= minElements && (cls === 'elementwise' || cls === 'view' || cls === 'contraction' || RANGE_KEEPING.has(op));
  }

  /** The param an aliased output v can be written over in place, or null. */
  inPlaceParam(v: ValueId): string | null {
    const out = this.f.graph.outputs.find((o) => o.value === v && o.aliases !== undefined);
    const param = out && this.f.graph.params.find((p) => p.name === out.aliases);
    if (!param || this.ix.outputs.has(param.id)) return null;
    const w = this.producer.get(v)!;
    if ((this.readers.get(param.id) ?? []).some((r) => r > w)) return null;
    return this.readsAtPointOnly(w, param.id) ? param.name : null;
  }

  /** An input of kernel k that dies there and that an output may take over in place (`fits` checks sizes and sharing), or null. */
  reusable(k: number, fits: (b: ValueId) => boolean): ValueId | null {
    const dying = [...new Set(this.f.kernels[k]!.flatMap((v) => this.ix.defs.get(v)!.inputs))].filter((b) => this.producer.has(b) && this.producer.get(b) !== k && !this.ix.outputs.has(b) && this.last.get(b) === k && fits(b));
    if (dying.length === 0 || !this.kernel(k)) return null;
    return dying.find((b) => this.readsAtPointOnly(k, b)) ?? null;
  }
}

/** The placements a kernel program needs, from a plan. */
export function placementsOf(plan: MemoryPlan): Placements {
  const of = new Map<ValueId, Placement>();
  for (const r of plan.rows) {
    of.set(r.value, 'offset' in r.at ? { kind: 'arena', offset: r.at.offset } : 'half' in r.at ? { kind: 'half-arena', offset: r.at.half } : { kind: 'in-param', name: r.at.param });
  }
  return { arenaBytes: plan.peakBytes, halfArenaBytes: plan.halfPeakBytes, of };
}

/**
 * The problems of a plan for a scheduled fused program; empty when it is sound. Checked:
 * one row per stored value and none other; sizes (2 bytes an element in the half arena, which
 * may hold f32 temporaries that are not graph outputs or op kernels' results); aligned offsets inside their arena; live
 * ranges that start at the writer and cover every reader (graph outputs to the end); no two
 * values of one arena that are live at the same kernel overlapping in bytes, except a value
 * written in place over an input that dies in that kernel and is read only at the written
 * position; in-param values only for an output aliasing that param, with every other reader
 * earlier.
 */
export function validatePlan(f: Fused, plan: MemoryPlan): string[] {
  const facts = new Facts(f);
  const problems: string[] = [];
  const rows = new Map<ValueId, MemoryRow>();
  for (const r of plan.rows) {
    if (rows.has(r.value)) problems.push(`%${r.value} has two rows`);
    rows.set(r.value, r);
  }
  for (const v of facts.stored) if (!rows.has(v)) problems.push(`stored value %${v} has no row`);
  const placed: { row: MemoryRow; offset: number; half: boolean }[] = [];
  for (const r of plan.rows) {
    const v = r.value;
    if (!facts.producer.has(v)) {
      problems.push(`%${v} has a row but no kernel stores it`);
      continue;
    }
    const type = facts.ix.typeOf(v);
    const half = 'half' in r.at;
    if (half && !facts.halfAllowed(v)) problems.push(`%${v} is in the half arena, which holds only f32 temporaries that are not graph outputs or op kernels' results`);
    const want = half ? halfBytes(type) : tensorBytes(type);
    if (r.bytes !== want) problems.push(`%${v}: ${r.bytes} bytes, but its type needs ${want}${half ? ' as f16' : ''}`);
    if (r.first !== facts.producer.get(v)) problems.push(`%${v}: live from ${r.first}, but kernel ${facts.producer.get(v)} writes it`);
    if (r.last < facts.last.get(v)!) problems.push(`%${v}: live to ${r.last}, but it is read (or returned) until ${facts.last.get(v)}`);
    if ('param' in r.at) {
      if (facts.inPlaceParam(v) !== r.at.param) problems.push(`%${v} is written over param %${r.at.param}, which is not an aliased output's param updated safely in place`);
      continue;
    }
    const offset = 'half' in r.at ? r.at.half : r.at.offset;
    const [arena, top] = half ? ['half arena', plan.halfPeakBytes] : ['arena', plan.peakBytes];
    if (offset % plan.alignment !== 0) problems.push(`%${v}: offset ${offset} is not a multiple of ${plan.alignment}`);
    if (offset < 0 || offset + r.bytes > top) problems.push(`%${v}: bytes ${offset}..${offset + r.bytes} are outside the ${top}-byte ${arena}`);
    placed.push({ row: r, offset, half });
  }
  for (let i = 0; i < placed.length; i++) {
    for (let j = i + 1; j < placed.length; j++) {
      const [a, b] = [placed[i]!, placed[j]!];
      if (a.half !== b.half) continue;
      const timeOverlap = a.row.first <= b.row.last && b.row.first <= a.row.last;
      const spaceOverlap = a.offset < b.offset + b.row.bytes && b.offset < a.offset + a.row.bytes;
      if (!timeOverlap || !spaceOverlap) continue;
      const [early, late] = a.row.first <= b.row.first ? [a.row, b.row] : [b.row, a.row];
      const inPlace = early.last === late.first && a.offset === b.offset && late.first !== early.first && facts.readsAtPointOnly(late.first, early.value) && alignUp(early.bytes, plan.alignment) === alignUp(late.bytes, plan.alignment);
      if (!inPlace) problems.push(`%${a.row.value} and %${b.row.value} are live at the same time and overlap in the ${a.half ? 'half arena' : 'arena'}`);
    }
  }
  return problems;
}
