// The backend-neutral kernel program: buffers with their placement, and kernels in execution order.
//
// Each kernel is either an expression kernel (an index space and one expression per output
// element, where a contraction kernel's `template` marks the GEMM-shaped reduction the
// backends tile, its operands' loads being the prologue and the expression above it the
// epilogue) or an op kernel (one op without a lowering, run on whole buffers). Buffers are the
// graph's inputs and params (persistent, outside the arena), temporaries placed in the
// arena at byte offsets (or in the half arena, stored as f16: Storage in target.ts), or
// outputs written in place into a param's storage.
//
// A program is built from a graph and its kernels (lists of node ids, in execution order)
// plus a placement for every materialized value; without one, temporaries are laid out one
// after another (the naive plan, never reusing memory).

import type { Graph, Loc, ValueId } from '../ir/graph.js';
import type { Attrs } from '../ir/ops/op.js';
import type { OpName } from '../ir/ops/registry.js';
import type { Shape, TensorType } from '../ir/types.js';
import type { Expr, IndexVar } from './expr.js';
import { GraphIndex, fusionClass, groupOutputs, lowerKernel, reductionsOf } from './lower-kernel.js';
import type { TargetLimits } from './target.js';
import { WEBGPU_DEFAULTS, alignUp, tensorBytes } from './target.js';

export type Placement =
  | { readonly kind: 'input'; readonly name: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'arena'; readonly offset: number }
  /** An f32 temporary stored as f16 at a byte offset of the half arena (Storage 'f16'). */
  | { readonly kind: 'half-arena'; readonly offset: number }
  /** Written over the storage of the named param (an aliased output updated in place). */
  | { readonly kind: 'in-param'; readonly name: string };

export interface KBuffer {
  readonly id: number;
  /** The graph value the buffer holds. */
  readonly value: ValueId;
  readonly type: TensorType;
  readonly placement: Placement;
}

interface KernelBase {
  readonly name: string;
  /** The graph nodes the kernel computes. */
  readonly nodes: readonly ValueId[];
  /** Buffers read, one per load slot (expression kernels) or per op input. */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly loc?: Loc;
}

export interface ExprKernel extends KernelBase {
  readonly kind: 'elementwise' | 'reduction' | 'contraction';
  readonly space: Shape;
  readonly vars: readonly IndexVar[];
  /** One expression per output: its element at the current point of the index space. */
  readonly values: readonly Expr[];
  /** The contraction's reduction, for contraction kernels. */
  readonly template: Expr | null;
}

export interface OpKernel extends KernelBase {
  readonly kind: 'op';
  readonly op: OpName;
  readonly attrs: Attrs;
}

export type Kernel = ExprKernel | OpKernel;

export interface ProgramOutput {
  readonly name: string;
  readonly buffer: number;
  readonly aliases?: string;
}

export interface KernelProgram {
  readonly name: string;
  readonly buffers: readonly KBuffer[];
  readonly kernels: readonly Kernel[];
  readonly outputs: readonly ProgramOutput[];
  readonly arenaBytes: number;
  /** Bytes of the half arena (0 unless temporaries are stored as f16). */
  readonly halfArenaBytes: number;
  readonly limits: TargetLimits;
}

/** Where each materialized node value lives; inputs and params are placed by themselves. */
export interface Placements {
  readonly arenaBytes: number;
  readonly halfArenaBytes: number;
  readonly of: ReadonlyMap<ValueId, Placement>;
}

/** Temporaries one after another at aligned offsets: the plan that reuses nothing. */
export function naivePlacements(g: Graph, kernels: readonly (readonly ValueId[])[], limits: TargetLimits = WEBGPU_DEFAULTS): Placements {
  const ix = new GraphIndex(g);
  const of = new Map<ValueId, Placement>();
  let top = 0;
  for (const members of kernels) {
    for (const v of groupOutputs(ix, new Set(members))) {
      of.set(v, { kind: 'arena', offset: top });
      top += alignUp(tensorBytes(ix.typeOf(v)), limits.offsetAlignment);
    }
  }
  return { arenaBytes: top, halfArenaBytes: 0, of };
}

export function buildKernelProgram(g: Graph, kernels: readonly (readonly ValueId[])[], placements?: Placements, limits: TargetLimits = WEBGPU_DEFAULTS): KernelProgram {
  const ix = new GraphIndex(g);
  const plan = placements ?? naivePlacements(g, kernels, limits);
  const buffers: KBuffer[] = [];
  const bufferOf = new Map<ValueId, number>();
  const addBuffer = (value: ValueId, placement: Placement): number => {
    const id = buffers.length;
    buffers.push({ id, value, type: ix.typeOf(value), placement });
    bufferOf.set(value, id);
    return id;
  };
  for (const i of g.inputs) addBuffer(i.id, { kind: 'input', name: i.name });
  for (const p of g.params) addBuffer(p.id, { kind: 'param', name: p.name });
  const read = (v: ValueId): number => {
    const b = bufferOf.get(v);
    if (b === undefined) throw new Error(`internal: kernel reads %${v} before any kernel writes it`);
    return b;
  };

  const built = kernels.map((members, k): Kernel => {
    const set = new Set(members);
    const name = `k${k}`;
    const first = ix.defs.get(members[0]!);
    if (!first) throw new Error(`internal: kernel ${name} names %${members[0]}, which is not a node`);
    const loc = members.map((m) => ix.defs.get(m)?.loc).find((l) => l !== undefined);
    const outputsOf = groupOutputs(ix, set);
    const place = (v: ValueId): number => {
      const p = plan.of.get(v);
      if (!p) throw new Error(`internal: no placement for kernel output %${v}`);
      return addBuffer(v, p);
    };
    if (fusionClass(first.op) === 'opaque') {
      if (members.length !== 1) throw new Error(`internal: op '${first.op}' has no lowering but kernel ${name} groups it with other nodes`);
      const inputs = first.inputs.map(read);
      return { kind: 'op', name, nodes: [first.id], inputs, outputs: outputsOf.map(place), op: first.op, attrs: first.attrs, ...(loc ? { loc } : {}) };
    }
    const lowered = lowerKernel(ix, set, outputsOf);
    const inputs = lowered.inputs.map(read);
    const contraction = members.find((m) => fusionClass(ix.defs.get(m)!.op) === 'contraction');
    const template = contraction === undefined ? null : (reductionsOf(lowered).find((r) => r.kind === 'reduce' && r.fn === 'sum' && r.body.kind === 'binary' && r.body.fn === 'mul') ?? null);
    const kind = contraction !== undefined ? 'contraction' : reductionsOf(lowered).length > 0 ? 'reduction' : 'elementwise';
    return {
      kind,
      name,
      nodes: [...members],
      inputs,
      outputs: lowered.outputs.map((o) => place(o.value)),
      space: lowered.space,
      vars: lowered.vars,
      values: lowered.outputs.map((o) => o.expr),
      template,
      ...(loc ? { loc } : {}),
    };
  });

  const outputs = g.outputs.map((o): ProgramOutput => {
    const buffer = read(o.value);
    return o.aliases === undefined ? { name: o.name, buffer } : { name: o.name, buffer, aliases: o.aliases };
  });
  return { name: g.name, buffers, kernels: built, outputs, arenaBytes: plan.arenaBytes, halfArenaBytes: plan.halfArenaBytes, limits };
}
