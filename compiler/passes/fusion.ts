// The `fusion` pass: groups graph nodes into kernels, and records why each pair of adjacent ops was or was not fused.
//
// Needs: a verified graph (dead nodes are dropped first). Guarantees: a fused program (see
// fused.ts) computing the same values: every node in exactly one kernel, kernels in a
// topological order, each within the target's limits (storage bindings per kernel,
// workgroup memory), no cycle between kernels. Does not: reorder kernels for memory (that is
// `schedule`), or change any op; it only copies cheap nodes (below) and splits a concat with
// more inputs than a kernel can bind into a tree of concats.
//
// Kernels grow in two phases. Phase 1 walks the graph backwards and inlines each node into
// the kernel of its consumers when that is legal and free of duplicated work:
// - elementwise and movement ops (cheap) inline anywhere; a cheap node needed by several
//   kernels is copied into each, so work is duplicated only for cheap ops, at most once per
//   kernel that needs them, unless a copy would bring more than MAX_COPIED_SPAN cheap ops
//   along (then it is stored once); transcendental ops are not copied into a contraction's operand
//   loads, where they would be recomputed for every use; and a computed (elementwise) node
//   that a convolution with a window of more than one tap reads is stored once (for every
//   kernel that reads it), as its operand loads would recompute it per tap;
// - a reduction inlines into the kernel of its consumers (softmax, layernorm and losses become
//   one kernel whose nested reductions are computed once per row), but never into a
//   contraction's operands;
// - a contraction (matmul, conv2d, their gradients) inlines only under elementwise epilogues
//   (bias, activation, residual add), one contraction per kernel;
// - a node read by several kernels (and not cheap), by an op without a lowering, or named
//   by a graph output is stored: it roots a kernel of its own.
// Phase 2 merges whole kernels into multi-output kernels: a kernel into a consumer that reads
// all its outputs at the consumer's own position (a contraction that must also store its
// pre-activation for the backward pass, the moments of an Adam update), and sibling kernels
// of one index space that read a common input. Every merge keeps the limits and is refused if
// it would create a cycle through a third kernel. A refusal's reason is recorded for each
// edge it leaves between two kernels.

import type { Graph, Node, ValueId } from '../ir/graph.js';
import { GraphBuilder } from '../ir/graph.js';
import { opDef } from '../ir/ops/registry.js';
import { numel } from '../ir/types.js';
import type { LoweredKernel } from '../kernel/lower-kernel.js';
import { GraphIndex, fusionClass, groupInputs, groupOutputs, lowerKernel, readsOnlyAtPoint, reductionsOf } from '../kernel/lower-kernel.js';
import { LOWERINGS } from '../kernel/lower-ops.js';
import type { TargetLimits } from '../kernel/target.js';
import { WEBGPU_DEFAULTS, WORKGROUP_BYTES } from '../kernel/target.js';
import type { Fused, FusionDecision } from './fused.js';
import { orderByKernels } from './fused.js';
import { eliminateDeadCode, nodeKey } from './rewrite.js';

/**
 * The fixed list of reasons an edge is left between two kernels, each matching the texts this
 * pass writes for it (kept here, next to those texts, so a new refusal without a kind fails the
 * tests that classify every example's edges). A recorded reason can chain several refusals
 * ("…; then …"): why the producer was not inlined, then why the two kernels did not merge.
 */
export const UNFUSED_REASONS = [
  { kind: 'bindings', label: 'bindings would exceed the limit', match: /would bind \d+ storage buffers|a concat of \d+ inputs is split/ },
  { kind: 'workgroup-memory', label: 'workgroup memory would exceed the limit', match: /bytes of workgroup memory/ },
  { kind: 'contraction-feeds-contraction', label: 'contraction output feeds contraction', match: /kernel already holds the contraction|each kernel holds one contraction/ },
  { kind: 'contraction-not-epilogue', label: 'contraction read other than by an elementwise epilogue', match: /other than as an elementwise epilogue/ },
  { kind: 'reduction-with-contraction', label: 'reduction next to a contraction', match: /a contraction kernel takes only elementwise epilogues/ },
  { kind: 'operand-recompute', label: "would be recomputed in a contraction's operand", match: /in a contraction's operand/ },
  { kind: 'copy-cost', label: 'too many cheap ops to copy into several kernels', match: /cheap ops it reads would be recomputed in each of/ },
  { kind: 'window-recompute', label: 'would be recomputed per convolution tap, so stored', match: /for every tap of a convolution window/ },
  { kind: 'reduction-repeated', label: 'reduction would be recomputed per element of another reduction', match: /would be reduced again/ },
  { kind: 'reduction-feeds-broadcast', label: 'read at other positions (reduction or window feeds broadcast)', match: /at other positions than its own/ },
  { kind: 'shared', label: 'read by several kernels, too costly to recompute', match: /is read by \d+ kernels|stored: read by another kernel/ },
  { kind: 'graph-output', label: 'graph output, stored', match: /is a graph output/ },
  { kind: 'no-lowering', label: 'op without a kernel lowering runs alone', match: /no kernel lowering|without a kernel lowering/ },
  { kind: 'cycle', label: 'merging would create a cycle', match: /would create a cycle/ },
  { kind: 'index-space', label: 'index spaces of different sizes', match: /index spaces of different sizes/ },
] as const;

export type UnfusedReasonKind = (typeof UNFUSED_REASONS)[number]['kind'];

/** The kinds of each refusal a recorded reason chains, in order; a part that matches no kind is `null`. */
export function unfusedReasonKinds(reason: string): (UnfusedReasonKind | null)[] {
  return reason.split('; then ').map((part) => UNFUSED_REASONS.find((r) => r.match.test(part))?.kind ?? null);
}

export interface FusionOptions {
  readonly limits?: TargetLimits;
}

export function fusion(input: Graph, options: FusionOptions = {}): Fused {
  const limits = options.limits ?? WEBGPU_DEFAULTS;
  const reasons = new Reasons();
  const g = splitWideConcats(eliminateDeadCode(input), limits, reasons);
  const phase1 = new Phase1(g, limits, reasons).run();
  const copied = materializeCopies(g, phase1, reasons);
  return new Phase2(copied.graph, copied.kernels, limits, reasons).run();
}

/**
 * Reasons keyed by edge. A fusion replaces what came before; a refusal after a refusal is
 * added to it (why the node was not inlined, then why the two kernels could not merge).
 */
class Reasons {
  private readonly m = new Map<string, { fused: boolean; reason: string }>();
  set(p: ValueId, c: ValueId, fused: boolean, reason: string): void {
    const key = `${p}>${c}`;
    const old = this.m.get(key);
    const text = !fused && old && !old.fused && !old.reason.includes(reason) ? `${old.reason}; then ${reason}` : reason;
    this.m.set(key, { fused, reason: text });
  }
  get(p: ValueId, c: ValueId): { fused: boolean; reason: string } | undefined {
    return this.m.get(`${p}>${c}`);
  }
}

const cheap = (op: Node['op']): boolean => {
  const c = fusionClass(op);
  return c === 'elementwise' || c === 'view';
};

/** concat with more inputs than a kernel can bind becomes a tree of concats that each fit. */
function splitWideConcats(g: Graph, limits: TargetLimits, reasons: Reasons): Graph {
  const most = limits.maxStorageBindings - 1;
  if (!g.nodes.some((n) => n.op === 'concat' && new Set(n.inputs).size > most)) return g;
  const b = new GraphBuilder(g.name);
  const map = new Map<ValueId, ValueId>();
  for (const i of g.inputs) map.set(i.id, b.input(i.name, i.type));
  for (const p of g.params) map.set(p.id, b.param(p.name, p.type, p.init, p.trainable));
  for (const n of g.nodes) {
    let ins = n.inputs.map((v) => map.get(v)!);
    const parts: ValueId[] = [];
    if (n.op === 'concat') {
      while (new Set(ins).size > most) {
        const part = b.op('concat', ins.slice(0, most), n.attrs, n.loc);
        parts.push(part);
        ins = [part, ...ins.slice(most)];
      }
    }
    const v = b.op(n.op, ins, n.attrs, n.loc);
    for (const part of parts) reasons.set(part, v, false, `a concat of ${n.inputs.length} inputs is split: a kernel binds at most ${limits.maxStorageBindings} buffers`);
    map.set(n.id, v);
  }
  for (const o of g.outputs) b.output(o.name, map.get(o.value)!, o.aliases);
  return b.build();
}

/** A kernel while phase 1 grows it. */
interface Growing {
  readonly members: Set<ValueId>;
  /** External values read (constants excluded: they always inline). */
  readonly inputs: Set<ValueId>;
  /** The node it stores; an op without a lowering there makes the kernel opaque. */
  readonly root: ValueId;
  readonly rootOp: Node['op'];
  readonly opaque: boolean;
  contraction: ValueId | null;
  reductions: number;
  /** Members whose every path to the root passes through elementwise ops only. */
  readonly epilogue: Set<ValueId>;
  /** Members read (transitively) by a contraction's operand loads. */
  readonly prologue: Set<ValueId>;
}

class Phase1 {
  private readonly ix: GraphIndex;
  private readonly kernels: Growing[] = [];
  /** The kernels a node belongs to (several for a copied cheap node). */
  private readonly homes = new Map<ValueId, number[]>();

  constructor(
    private readonly g: Graph,
    private readonly limits: TargetLimits,
    private readonly reasons: Reasons,
  ) {
    this.ix = new GraphIndex(g);
  }

  run(): { members: Set<ValueId>[]; roots: ValueId[] } {
    for (let k = this.g.nodes.length - 1; k >= 0; k--) this.place(this.g.nodes[k]!);
    return { members: this.kernels.map((k) => k.members), roots: this.kernels.map((k) => k.root) };
  }

  private isConstant(v: ValueId): boolean {
    return this.ix.defs.get(v)?.op === 'constant';
  }

  private place(n: Node): void {
    const consumers = this.ix.consumers.get(n.id) ?? [];
    const op = n.op;
    if (fusionClass(op) === 'opaque') return this.root(n, consumers, `${op} has no kernel lowering and runs alone`);
    const targets = [...new Set(consumers.flatMap((c) => this.homes.get(c.id) ?? []))];
    const why = new Map(targets.map((k) => [k, this.kernels[k]!.opaque ? `${this.kernels[k]!.rootOp} has no kernel lowering and reads whole buffers` : this.refusal(n, k)]));
    const output = this.ix.outputs.has(n.id) ? `%${n.id} is a graph output, so it is stored` : null;
    if (!cheap(op)) {
      const refused = output ?? [...why.values()].find((r) => r !== null) ?? (targets.length > 1 ? `${op} is read by ${targets.length} kernels and only elementwise and movement ops are recomputed` : null);
      if (refused) return this.root(n, consumers, refused);
      this.join(n, targets[0]!);
      for (const c of consumers) this.reasons.set(n.id, c.id, true, this.joinReason(n));
      return;
    }
    // A cheap node is copied into every consumer kernel that can take it, and stored for the
    // rest (a consumer copied into several kernels reads it in each of them).
    // Inlining is cheap per element, but a convolution's operand loads read each element once
    // per tap of its window (an im2col panel holds every element kh·kw times): a computed
    // node there is stored once instead, for every kernel that reads it, and its producers
    // can then fuse into it (a pooling gradient and the ReLU mask after it become one kernel).
    if (fusionClass(op) === 'elementwise' && targets.some((k) => why.get(k) === null && this.inWindowedOperand(n, k))) {
      return this.root(n, consumers, `${op} would be recomputed for every tap of a convolution window, so it is stored once`);
    }
    const legal = targets.filter((k) => why.get(k) === null);
    // Copies are cheap one op at a time, but a copied node brings the cheap ops it reads
    // along: past a point (a col2im's shifted slices and their sum) storing it once costs less.
    const span = legal.length > 1 ? this.cheapSpan(n) : 0;
    if (span > MAX_COPIED_SPAN) {
      return this.root(n, consumers, `${op} and the ${span - 1} cheap ops it reads would be recomputed in each of ${legal.length} kernels, so it is stored once`);
    }
    for (const k of legal) this.join(n, k);
    const how = legal.length > 1 ? `cheap ${op} recomputed in each of ${legal.length} kernels` : this.joinReason(n);
    const refusedIn = (c: Node): string | null => (this.homes.get(c.id) ?? []).map((h) => why.get(h) ?? null).find((r) => r !== null) ?? null;
    for (const c of consumers) if (refusedIn(c) === null) this.reasons.set(n.id, c.id, true, how);
    const rest = consumers.filter((c) => refusedIn(c) !== null);
    if (output || rest.length > 0) this.root(n, rest, output ?? refusedIn(rest[0]!)!);
  }

  /**
   * How many cheap nodes a copy of n recomputes: n and the cheap nodes it reads through cheap
   * nodes (constants aside), counted only up to MAX_COPIED_SPAN + 1 (all the rule asks).
   */
  private cheapSpan(n: Node): number {
    const seen = new Set<ValueId>();
    const stack = [n];
    while (stack.length > 0 && seen.size <= MAX_COPIED_SPAN) {
      const m = stack.pop()!;
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      for (const v of m.inputs) {
        const d = this.ix.defs.get(v);
        if (d && cheap(d.op) && d.op !== 'constant' && !this.ix.outputs.has(d.id)) stack.push(d);
      }
    }
    return seen.size;
  }

  /** Whether n would sit in kernel k's operand loads of a convolution with more than one tap. */
  private inWindowedOperand(n: Node, k: number): boolean {
    const K = this.kernels[k]!;
    if (K.contraction === null) return false;
    const inside = (this.ix.consumers.get(n.id) ?? []).filter((c) => K.members.has(c.id));
    const inOperand = inside.some((c) => fusionClass(c.op) === 'contraction' || K.prologue.has(c.id));
    return inOperand && convTaps(this.ix, this.ix.defs.get(K.contraction)!) > 1;
  }

  private joinReason(n: Node): string {
    const cls = fusionClass(n.op);
    if (cls === 'contraction') return `elementwise epilogue fused into ${n.op}`;
    if (cls === 'reduce') return `${n.op} fused with its consumers (computed once per row)`;
    return `${n.op} inlined into its consumer`;
  }

  private root(n: Node, consumers: readonly Node[], why: string): void {
    const k = this.kernels.length;
    const opaque = fusionClass(n.op) === 'opaque';
    const kernel: Growing = { members: new Set(), inputs: new Set(), root: n.id, rootOp: n.op, opaque, contraction: null, reductions: 0, epilogue: new Set(), prologue: new Set() };
    this.kernels.push(kernel);
    this.join(n, k);
    for (const c of consumers) this.reasons.set(n.id, c.id, false, why);
  }

  /** Why n may not join kernel k, or null when it may. */
  private refusal(n: Node, k: number): string | null {
    const K = this.kernels[k]!;
    const cls = fusionClass(n.op);
    const inside = (this.ix.consumers.get(n.id) ?? []).filter((c) => K.members.has(c.id));
    if (cls === 'contraction') {
      if (K.contraction !== null) return `kernel already holds the contraction ${this.ix.defs.get(K.contraction)!.op}; one per kernel`;
      const bad = inside.find((c) => fusionClass(c.op) !== 'elementwise' || !K.epilogue.has(c.id));
      if (bad) return `${bad.op} reads ${n.op} other than as an elementwise epilogue, which would recompute the ${n.op}`;
      if (K.reductions > 0) return `a contraction kernel takes only elementwise epilogues, and this one reduces`;
    }
    const inOperand = inside.some((c) => fusionClass(c.op) === 'contraction' || K.prologue.has(c.id));
    if (cls === 'reduce') {
      if (inOperand) return `${n.op} would sit in a contraction's operand and be recomputed for every use`;
      if (K.contraction !== null) return `a contraction kernel takes only elementwise epilogues, not ${n.op}`;
      if (this.repeats(K, n)) return `${n.op} would be reduced again for each element of another reduction (duplicated work)`;
    }
    if (inOperand && opDef(n.op).tolerance === 'transcendental') return `transcendental ${n.op} would be recomputed in a contraction's operand loads`;
    const inputs = new Set(K.inputs);
    inputs.delete(n.id);
    for (const v of n.inputs) if (!K.members.has(v) && !this.isConstant(v)) inputs.add(v);
    const bindings = inputs.size + 1;
    if (bindings > this.limits.maxStorageBindings) return `the kernel would bind ${bindings} storage buffers; the limit is ${this.limits.maxStorageBindings}`;
    const wg = workgroupBytes(K.contraction !== null || cls === 'contraction', K.reductions + reductionCount(n));
    if (wg > this.limits.maxWorkgroupBytes) return `the kernel would need ${wg} bytes of workgroup memory; the limit is ${this.limits.maxWorkgroupBytes}`;
    return null;
  }

  /**
   * Whether inlining reduction n makes the kernel evaluate some reduction at more than one
   * index per point (its lowering has more reductions than its members have on their own):
   * e.g. a softmax over axis 0 read by a softmax over axis 1 needs every row's sums anew.
   */
  private repeats(K: Growing, n: Node): boolean {
    const members = new Set([...K.members, n.id]);
    const expected = [...members].reduce((s, v) => s + ownReductions(this.ix.defs.get(v)!), 0);
    return reductionsOf(lowerKernel(this.ix, members, [K.root])).length > expected;
  }

  private join(n: Node, k: number): void {
    const K = this.kernels[k]!;
    const inside = (this.ix.consumers.get(n.id) ?? []).filter((c) => K.members.has(c.id));
    K.members.add(n.id);
    K.inputs.delete(n.id);
    for (const v of n.inputs) if (!K.members.has(v) && !this.isConstant(v)) K.inputs.add(v);
    const cls = fusionClass(n.op);
    if (cls === 'contraction') K.contraction = n.id;
    K.reductions += reductionCount(n);
    if (inside.length === 0 || inside.every((c) => fusionClass(c.op) === 'elementwise' && K.epilogue.has(c.id))) K.epilogue.add(n.id);
    if (inside.some((c) => fusionClass(c.op) === 'contraction' || K.prologue.has(c.id))) K.prologue.add(n.id);
    this.homes.set(n.id, [...(this.homes.get(n.id) ?? []), k]);
  }
}

/** Taps of a convolution's window (kh·kw); 1 for any other contraction. */
function convTaps(ix: GraphIndex, n: Node): number {
  const spatial = (shape: readonly number[] | undefined): number => (shape ? shape.slice(2).reduce((a, b) => a * b, 1) : 1);
  switch (n.op) {
    case 'conv2d':
    case 'conv2d_backward_input':
      return spatial(ix.typeOf(n.inputs[1]!).shape);
    case 'conv2d_backward_filter':
      return spatial(n.attrs['filter_shape'] as number[] | undefined);
    default:
      return 1;
  }
}

/** A cheap node that would bring more cheap nodes than this into each of several kernels is stored instead (see Phase1.place). */
const MAX_COPIED_SPAN = 16;

/** The reductions a node's own lowering makes (a contraction's GEMM included). */
function ownReductions(n: Node): number {
  return LOWERINGS[n.op]?.reductions ?? 0;
}

/** Reductions a node adds to a kernel's workgroup memory, besides a contraction's own (which its tiles cover). */
function reductionCount(n: Node): number {
  return fusionClass(n.op) === 'contraction' ? 0 : ownReductions(n);
}

function workgroupBytes(contraction: boolean, reductions: number): number {
  return (contraction ? WORKGROUP_BYTES.contractionTiles : 0) + reductions * WORKGROUP_BYTES.perReduction;
}

/**
 * Makes copies real: a node in several kernels keeps its id in the kernel that stores it (or
 * else the first) and gets a fresh copy in each other, whose members then read the copy. The
 * copies' edges inherit the reasons of the edges they copy. Returns the graph ordered kernel
 * by kernel, with the kernels in topological order.
 */
function materializeCopies(g: Graph, p: { members: Set<ValueId>[]; roots: ValueId[] }, reasons: Reasons): { graph: Graph; kernels: ValueId[][] } {
  const pos = new Map(g.nodes.map((n, i) => [n.id, i]));
  // A kernel's root is its last member in graph order; reading a kernel's root always comes
  // after computing it, so ordering kernels by root position is topological.
  const order = p.members
    .map((m, k) => ({ k, root: Math.max(...[...m].map((v) => pos.get(v)!)) }))
    .sort((a, b) => a.root - b.root)
    .map((x) => x.k);
  let nextId = Math.max(-1, ...g.inputs.map((i) => i.id), ...g.params.map((q) => q.id), ...g.nodes.map((n) => n.id)) + 1;
  // A node keeps its id where it is stored (the kernel it roots), else in its first kernel.
  const owner = new Map<ValueId, number>(p.roots.map((v, k) => [v, k]));
  for (const k of order) for (const v of p.members[k]!) if (!owner.has(v)) owner.set(v, k);
  const original = new Map<ValueId, ValueId>();
  const nodes: Node[] = [];
  const kernels: ValueId[][] = [];
  for (const k of order) {
    const members = [...p.members[k]!].sort((a, b) => pos.get(a)! - pos.get(b)!);
    const local = new Map<ValueId, ValueId>();
    for (const v of members) {
      const id = owner.get(v) === k ? v : nextId++;
      local.set(v, id);
      original.set(id, v);
    }
    for (const v of members) {
      const n = g.nodes[pos.get(v)!]!;
      nodes.push({ ...n, id: local.get(v)!, inputs: n.inputs.map((x) => local.get(x) ?? x) });
    }
    kernels.push(members.map((v) => local.get(v)!));
  }
  for (const n of nodes) {
    for (const x of n.inputs) {
      const [ox, on] = [original.get(x) ?? x, original.get(n.id)!];
      if (ox === x && on === n.id) continue;
      const r = reasons.get(ox, on);
      if (r) reasons.set(x, n.id, r.fused, r.reason);
    }
  }
  return { graph: { ...g, nodes }, kernels };
}

/** A kernel during phase 2, with its neighbours in the kernel graph. */
interface PKernel {
  readonly id: number;
  readonly members: Set<ValueId>;
  readonly preds: Set<PKernel>;
  readonly succs: Set<PKernel>;
  alive: boolean;
}

/** Phase 2: whole-kernel merges into multi-output kernels. */
class Phase2 {
  private readonly ix: GraphIndex;
  private readonly where = new Map<ValueId, PKernel>();
  private readonly all: PKernel[] = [];
  private readonly refusals = new Map<string, string | null>();
  private readonly lowerings = new Map<PKernel, LoweredKernel>();

  /** Each kernel's descendants as a bitset over kernel ids (merges make at most as many new ids as there were kernels). */
  private readonly desc: Uint32Array[] = [];
  private readonly words: number;

  constructor(
    private readonly g: Graph,
    kernels: ValueId[][],
    private readonly limits: TargetLimits,
    private readonly reasons: Reasons,
  ) {
    this.ix = new GraphIndex(g);
    this.words = Math.ceil((2 * kernels.length + 1) / 32);
    for (const members of kernels) this.add(new Set(members));
    for (const k of this.all) {
      for (const v of k.members) for (const x of this.ix.defs.get(v)!.inputs) {
        const from = this.where.get(x);
        if (from && from !== k) {
          k.preds.add(from);
          from.succs.add(k);
        }
      }
    }
    for (const k of this.topological().reverse()) {
      for (const s of k.succs) {
        this.desc[k.id]![s.id >> 5]! |= 1 << (s.id & 31);
        this.orInto(k.id, s.id);
      }
    }
  }

  private orInto(to: number, from: number): void {
    const t = this.desc[to]!;
    const f = this.desc[from]!;
    for (let w = 0; w < this.words; w++) t[w]! |= f[w]!;
  }

  private has(from: PKernel, to: PKernel): boolean {
    return (this.desc[from.id]![to.id >> 5]! & (1 << (to.id & 31))) !== 0;
  }

  private add(members: Set<ValueId>): PKernel {
    const k: PKernel = { id: this.all.length, members, preds: new Set(), succs: new Set(), alive: true };
    this.all.push(k);
    this.desc.push(new Uint32Array(this.words));
    for (const v of members) this.where.set(v, k);
    return k;
  }

  run(): Fused {
    this.vertical();
    this.horizontal();
    const kernels = this.topological().map((k) => [...k.members]);
    const ordered = orderByKernels(this.g, kernels);
    const order = new Map(ordered.nodes.map((n, i) => [n.id, i]));
    const { graph, kernels: unique } = this.dedupe(ordered, kernels.map((k) => k.sort((a, b) => order.get(a)! - order.get(b)!)));
    return { graph, kernels: unique, decisions: this.decisions(graph, unique) };
  }

  /**
   * Drops a node identical to an earlier one of the same kernel (a copy that met its original
   * when their kernels merged), redirecting its uses; the kernel computed it once anyway.
   */
  private dedupe(g: Graph, kernels: ValueId[][]): { graph: Graph; kernels: ValueId[][] } {
    const remap = new Map<ValueId, ValueId>();
    const get = (v: ValueId): ValueId => remap.get(v) ?? v;
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    const nodes: Node[] = [];
    const kept = kernels.map((members) => {
      const seen = new Map<string, ValueId>();
      return members.filter((v) => {
        const n = byId.get(v)!;
        const inputs = n.inputs.map(get);
        const key = nodeKey(n.op, inputs, n.attrs);
        const first = seen.get(key);
        if (first !== undefined) {
          remap.set(v, first);
          for (const c of this.ix.consumers.get(v) ?? []) {
            const r = this.reasons.get(v, c.id);
            if (r) this.reasons.set(first, c.id, r.fused, r.reason);
          }
          return false;
        }
        seen.set(key, v);
        nodes.push({ ...n, inputs });
        return true;
      });
    });
    return { graph: { ...g, nodes, outputs: g.outputs.map((o) => ({ ...o, value: get(o.value) })) }, kernels: kept };
  }

  /** Merges kernels into consumers that read them at their own position, consumers first in topological order. */
  private vertical(): void {
    const queue = this.topological();
    while (queue.length > 0) {
      const b = queue.shift()!;
      if (!b.alive) continue;
      for (const a of [...b.preds].sort((x, y) => x.id - y.id)) {
        if (this.reaches(a, b, true)) {
          this.note(a, b, 'merging would create a cycle through a third kernel');
          continue;
        }
        const why = this.refusal(a, b, true);
        if (why) {
          this.note(a, b, why);
          continue;
        }
        queue.unshift(this.merge(a, b, 'kernels merged: the consumer reads each value at its own position'));
        break;
      }
    }
  }

  /** Merges sibling kernels of one index space that read a common input and do not depend on each other. */
  private horizontal(): void {
    const values = [...this.g.inputs.map((i) => i.id), ...this.g.params.map((p) => p.id), ...this.g.nodes.map((n) => n.id)];
    for (const x of values) {
      for (let merged = true; merged; ) {
        merged = false;
        const readers = [...new Set((this.ix.consumers.get(x) ?? []).map((c) => this.where.get(c.id)!))].filter((k) => !k.members.has(x));
        for (let i = 0; i < readers.length && !merged; i++) {
          for (let j = i + 1; j < readers.length && !merged; j++) {
            const [a, b] = [readers[i]!, readers[j]!];
            if (this.size(a) !== this.size(b) || this.reaches(a, b, false) || this.reaches(b, a, false)) continue;
            if (this.refusal(a, b, false) !== null) continue;
            this.merge(a, b, 'sibling kernels merged: same index space, a common input');
            merged = true;
          }
        }
      }
    }
  }

  private readonly sizes = new Map<PKernel, number>();

  private size(k: PKernel): number {
    let n = this.sizes.get(k);
    if (n === undefined) {
      n = numel(this.ix.typeOf(groupOutputs(this.ix, k.members)[0]!).shape);
      this.sizes.set(k, n);
    }
    return n;
  }

  /** Whether `to` is reachable from `from` (through a third kernel only, when `indirect`). */
  private reaches(from: PKernel, to: PKernel, indirect: boolean): boolean {
    if (!indirect) return this.has(from, to);
    return [...from.succs].some((s) => s !== to && this.has(s, to));
  }

  /** Why kernels a and b may not become one kernel, or null; cached, as a pair's answer never changes. */
  private refusal(a: PKernel, b: PKernel, vertical: boolean): string | null {
    const key = `${a.id}:${b.id}:${vertical}`;
    if (!this.refusals.has(key)) this.refusals.set(key, this.judge(a, b, vertical));
    return this.refusals.get(key)!;
  }

  private judge(a: PKernel, b: PKernel, vertical: boolean): string | null {
    const nodes = [...a.members, ...b.members].map((v) => this.ix.defs.get(v)!);
    if (nodes.some((n) => fusionClass(n.op) === 'opaque')) return 'an op without a kernel lowering runs alone';
    const merged = new Set([...a.members, ...b.members]);
    const outs = groupOutputs(this.ix, merged);
    if (new Set(outs.map((o) => numel(this.ix.typeOf(o).shape))).size > 1) return 'the kernels have index spaces of different sizes';
    const contractions = nodes.filter((n) => fusionClass(n.op) === 'contraction').length;
    if (contractions > 1) return 'each kernel holds one contraction';
    // A contraction's own reduction is covered by its tiles; any other makes it not an epilogue.
    const reductions = nodes.reduce((s, n) => s + reductionCount(n), 0);
    if (contractions > 0 && reductions > 0) return 'a contraction kernel takes only elementwise epilogues';
    const bindings = groupInputs(this.ix, merged).size + outs.length;
    if (bindings > this.limits.maxStorageBindings) return `one kernel would bind ${bindings} storage buffers; the limit is ${this.limits.maxStorageBindings}`;
    const wg = workgroupBytes(contractions > 0, reductions);
    if (wg > this.limits.maxWorkgroupBytes) return `one kernel would need ${wg} bytes of workgroup memory; the limit is ${this.limits.maxWorkgroupBytes}`;
    if (vertical) {
      const alone = this.lowered(b);
      const far = alone.inputs.find((v, slot) => a.members.has(v) && !readsOnlyAtPoint(alone, slot));
      if (far !== undefined) return `the consumer reads %${far} at other positions than its own (a broadcast, window or reduction)`;
    }
    return null;
  }

  private lowered(k: PKernel): LoweredKernel {
    let l = this.lowerings.get(k);
    if (!l) {
      l = lowerKernel(this.ix, k.members);
      this.lowerings.set(k, l);
    }
    return l;
  }

  private note(a: PKernel, b: PKernel, why: string): void {
    for (const v of b.members) for (const x of this.ix.defs.get(v)!.inputs) if (a.members.has(x)) this.reasons.set(x, v, false, why);
  }

  private merge(a: PKernel, b: PKernel, why: string): PKernel {
    for (const v of b.members) for (const x of this.ix.defs.get(v)!.inputs) if (a.members.has(x)) this.reasons.set(x, v, true, why);
    const m = this.add(new Set([...a.members, ...b.members]));
    // Descendants of the merge are those of either part; whatever reached a part now reaches the merge.
    this.orInto(m.id, a.id);
    this.orInto(m.id, b.id);
    for (const k of this.all) {
      if (!k.alive || k === a || k === b || !(this.has(k, a) || this.has(k, b))) continue;
      this.orInto(k.id, m.id);
      this.desc[k.id]![m.id >> 5]! |= 1 << (m.id & 31);
    }
    for (const old of [a, b]) {
      old.alive = false;
      for (const p of old.preds) {
        p.succs.delete(old);
        if (p !== a && p !== b) {
          p.succs.add(m);
          m.preds.add(p);
        }
      }
      for (const s of old.succs) {
        s.preds.delete(old);
        if (s !== a && s !== b) {
          s.preds.add(m);
          m.succs.add(s);
        }
      }
    }
    return m;
  }

  /** Live kernels in a topological order, ties broken by their first node's position in the graph. */
  private topological(): PKernel[] {
    const alive = this.all.filter((k) => k.alive);
    const first = new Map(alive.map((k) => [k, Math.min(...[...k.members].map((v) => this.ix.position.get(v)!))]));
    const waiting = new Map(alive.map((k) => [k, k.preds.size]));
    const ready = alive.filter((k) => k.preds.size === 0);
    const out: PKernel[] = [];
    while (ready.length > 0) {
      ready.sort((x, y) => first.get(x)! - first.get(y)!);
      const k = ready.shift()!;
      out.push(k);
      for (const s of k.succs) {
        const w = waiting.get(s)! - 1;
        waiting.set(s, w);
        if (w === 0) ready.push(s);
      }
    }
    if (out.length !== alive.length) throw new Error('internal: fusion made a cycle between kernels');
    return out;
  }

  private decisions(g: Graph, kernels: readonly ValueId[][]): FusionDecision[] {
    const where = new Map<ValueId, number>();
    kernels.forEach((k, i) => k.forEach((v) => where.set(v, i)));
    const out: FusionDecision[] = [];
    for (const n of g.nodes) {
      for (const p of new Set(n.inputs)) {
        if (!where.has(p)) continue;
        const fused = where.get(p) === where.get(n.id);
        const r = this.reasons.get(p, n.id);
        const reason = r && r.fused === fused ? r.reason : fused ? 'fused' : 'stored: read by another kernel';
        out.push({ producer: p, consumer: n.id, fused, reason });
      }
    }
    return out;
  }
}
