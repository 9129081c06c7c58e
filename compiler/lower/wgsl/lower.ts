// The WGSL code generator: a kernel program lowered to a WebGPU executable — memory spaces, one compute shader per kernel, dispatch sizes.
//
// Memory: one storage buffer for the arena, and the persistent buffers (inputs, params,
// optimizer state) packed into "state" buffers of at most one binding each (128 MiB by
// default) — rather than one GPUBuffer per tensor bound at its own binding. Why: a fused
// kernel (an Adam update of several params, a loss with its gradient) reads and writes many
// tensors, and one binding per tensor would run into the 8 storage bindings a stage may
// have; binding arena ranges instead would need every range offset to be a multiple of
// minStorageBufferOffsetAlignment (256) and would still count one binding per range. With
// whole spaces bound, a kernel needs one binding per space it touches (two, in practice),
// every offset is a constant baked into the shader (no dynamic offsets, so no alignment
// rule applies to them; the planner's 256-byte offsets are kept all the same), and a step's
// bind groups never change. Spaces are `array<u32>`, read and written through `bitcast`, so
// f32, i32 and bool (u32 0/1) tensors share them. Every binding is read_write: WebGPU allows
// a buffer in several writable storage bindings of one dispatch, and a read-only binding
// of a space some other binding of the same dispatch writes would not validate.
//
// Storage f16 (WgslOptions.storage) keeps f32 temporaries that are not graph outputs as
// f16, in a memory space of their own, the half arena: an `array<f16>`, planned by the
// memory planner in 2-byte elements (memory-plan.ts). A space of its own because f16 needs
// 16-bit stores — two invocations writing the halves of one u32 word would race — and one
// buffer may not be bound twice writable in a dispatch (WebGPU's aliasing rule), so the
// arena cannot also be viewed as `array<f16>`. Loads convert to the expression's float,
// stores to f16. Inputs, params, optimizer state and outputs stay f32, as in mixed-precision
// training: the session's uploads and read-backs are unchanged.
//
// Precision f16 (WgslOptions.precision) is f16 arithmetic, independent of storage: kernels
// convert on load and store (emit.ts says what stays f32).
//
// Every shader starts with comments naming its kernel, the graph nodes it fuses (op and
// DSL location) and the buffers it binds; user text appears only there, escaped.

import type { Graph, Loc, Node, ValueId } from '../../ir/graph.js';
import type { TensorType } from '../../ir/types.js';
import { numel } from '../../ir/types.js';
import type { Kernel, KernelProgram, Placement, ProgramOutput } from '../../kernel/program.js';
import type { Storage } from '../../kernel/target.js';
import { alignUp, halfBytes, tensorBytes } from '../../kernel/target.js';
import type { Precision } from './emit.js';
import { gemmKernel } from './gemm.js';
import { rowsGemmKernel } from './gemm-rows.js';
import type { MadeKernel } from './kernel.js';
import { opKernel, pointKernel, usesF16 } from './kernel.js';
import type { WgslLimits } from './limits.js';
import { treeKernel } from './reduce-tree.js';
import { WGSL_DEFAULTS, WgslLimitError } from './limits.js';

export interface WgslBuffer {
  readonly id: number;
  readonly type: TensorType;
  readonly placement: Placement;
  /** Its memory space: 0 the arena, 1… the state chunks, then the half arena if there is one. */
  readonly space: number;
  /** Where its elements start in the space, in elements of the space: 4-byte words, or 2-byte halves in the half arena. */
  readonly word: number;
}

export interface WgslKernel {
  readonly name: string;
  /** How it is written: `point` (one invocation per output element), `tree WG xN` (a workgroup per output, reduce-tree.ts), `gemm TMxTN` (tiled contraction), `op`. */
  readonly form: string;
  readonly source: string;
  readonly entryPoint: 'main';
  readonly workgroupSize: readonly [number, number, number];
  readonly dispatch: readonly [number, number, number];
  /** The memory space at each binding, in binding order. */
  readonly spaces: readonly number[];
  readonly nodes: readonly ValueId[];
  readonly loc?: Loc;
  /** Floating-point operations per run (multiply-adds count two), for GFLOP/s. */
  readonly flops: number;
  /** Bytes of the buffers it reads and writes, for GB/s. */
  readonly bytes: number;
  /** The WebGPU features its shader enables (`enable …;`), which the device must have. */
  readonly features: readonly WgslFeature[];
}

/** The optional WebGPU features a shader may need: f16 arithmetic, subgroup operations. */
export type WgslFeature = 'shader-f16' | 'subgroups';

/** A lowered program: plain data, written to disk by `sinter compile --target wgsl` and loadable without the compiler. */
export interface WgslProgram {
  readonly name: string;
  readonly buffers: readonly WgslBuffer[];
  readonly kernels: readonly WgslKernel[];
  readonly outputs: readonly ProgramOutput[];
  /** Bytes of each memory space (space 0 is the arena), multiples of 16. */
  readonly spaceBytes: readonly number[];
  /** The element type of each memory space: `u32` (bitcast to f32, i32 and bool), or `f16` for the half arena. */
  readonly spaceTypes: readonly SpaceType[];
  readonly limits: WgslLimits;
  /** The float type kernels compute in: f16 shaders need a device with `shader-f16`. */
  readonly precision: Precision;
  /** The WebGPU features some kernel needs: a device without one of them cannot run the program. */
  readonly features: readonly WgslFeature[];
}

export type SpaceType = 'u32' | 'f16';

export interface WgslOptions {
  readonly limits?: WgslLimits;
  /**
   * How f32 temporaries are stored: `f32` (the default), or `f16` in the half arena (the
   * shaders that touch it need `shader-f16`). Read by compileForWebgpu, which plans memory
   * with it; lowerToWgsl takes the kernel program's placements as they are.
   */
  readonly storage?: Storage;
  /** With storage f16, the smallest temporary put in the half arena (memory-plan.ts; default 1024 elements). */
  readonly halfMinElements?: number;
  /**
   * How contractions are written: `tiled` (workgroup-memory tiles, for GPUs; the default) or
   * `rows` (no workgroup memory, uniform row operands: for software adapters, gemm-rows.ts).
   */
  readonly gemm?: 'tiled' | 'rows';
  /** The float type of arithmetic: `f32` (the default) or `f16` (`enable f16;`, f32 storage and sums; emit.ts). */
  readonly precision?: Precision;
  /**
   * Whether kernels may use subgroup operations (`enable subgroups;`, the WebGPU feature
   * `subgroups`): tree reductions then sum within subgroups first (reduce-tree.ts), and the
   * rows form of GEMMs loads its uniform operand once per subgroup and broadcasts it
   * (gemm-rows.ts). Off by default, so a compiled program runs on every device; the runtime
   * turns it on where the device has the feature.
   */
  readonly subgroups?: boolean;
}

/** What a kernel generator needs: the layout, the graph's nodes for comments, the limits. */
export interface KernelContext {
  readonly program: KernelProgram;
  readonly buffers: readonly WgslBuffer[];
  readonly limits: WgslLimits;
  readonly precision: Precision;
  readonly subgroups: boolean;
  /** The memory space of the half arena, or null when nothing is stored as f16. */
  readonly halfSpace: number | null;
  readonly header: string[];
  /** The binding of a memory space in this kernel (`m<space>` in the source). */
  readonly bind: (space: number) => void;
}

/** A location as comment text: printable ASCII only, so user text cannot end the comment's line. */
export function escapeComment(text: string): string {
  return text.replace(/[^ -~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function locText(loc: Loc | undefined): string {
  return loc ? escapeComment(`${loc.file}:${loc.line}:${loc.col}`) : 'no source location';
}

/** Packs the persistent buffers into state chunks no larger than a binding; the arena is space 0, the half arena (if any) the last. */
function layout(p: KernelProgram, limits: WgslLimits): { buffers: WgslBuffer[]; spaceBytes: number[]; spaceTypes: SpaceType[] } {
  for (const [bytes, what] of [[p.arenaBytes, 'arena'], [p.halfArenaBytes, 'half arena']] as const) {
    if (bytes > limits.maxBindingBytes) {
      throw new WgslLimitError('maxStorageBufferBindingSize', limits.maxBindingBytes, bytes, p.kernels[0]?.loc, `the ${what} of temporaries of @${p.name}`, 'use a smaller batch, or compile for the adapter\'s own limits');
    }
  }
  const spaceBytes = [alignUp(Math.max(p.arenaBytes, 16), 16)];
  const home = new Map<string, { space: number; word: number }>();
  const HALF = -1;
  const laid = p.buffers.map((b): WgslBuffer => {
    const pl = b.placement;
    if (pl.kind === 'arena') {
      if (pl.offset % 4 !== 0) throw new Error(`internal: arena offset ${pl.offset} of %${b.value} is not a multiple of 4`);
      return { id: b.id, type: b.type, placement: pl, space: 0, word: pl.offset / 4 };
    }
    if (pl.kind === 'half-arena') {
      if (pl.offset % 2 !== 0 || pl.offset + halfBytes(b.type) > p.halfArenaBytes) throw new Error(`internal: half-arena offset ${pl.offset} of %${b.value} is odd or outside the half arena`);
      return { id: b.id, type: b.type, placement: pl, space: HALF, word: pl.offset / 2 };
    }
    if (pl.kind === 'in-param') {
      const at = home.get(`param:${pl.name}`);
      if (!at) throw new Error(`internal: output %${b.value} is placed in param '${pl.name}', which the program lacks`);
      return { id: b.id, type: b.type, placement: pl, ...at };
    }
    const bytes = tensorBytes(b.type);
    if (bytes > limits.maxBindingBytes) {
      const reader = p.kernels.find((k) => k.inputs.includes(b.id));
      throw new WgslLimitError('maxStorageBufferBindingSize', limits.maxBindingBytes, bytes, reader?.loc, `${pl.kind} '${escapeComment(pl.name)}'`, `split the ${pl.kind} into smaller tensors, or compile for the adapter's own limits`);
    }
    let space = spaceBytes.length - 1;
    if (space === 0 || spaceBytes[space]! + bytes > limits.maxBindingBytes) {
      spaceBytes.push(0);
      space++;
    }
    const at = { space, word: spaceBytes[space]! / 4 };
    spaceBytes[space] = alignUp(spaceBytes[space]! + Math.max(bytes, 4), limits.offsetAlignment);
    home.set(`${pl.kind}:${pl.name}`, at);
    return { id: b.id, type: b.type, placement: pl, ...at };
  });
  const spaceTypes: SpaceType[] = spaceBytes.map(() => 'u32');
  if (p.halfArenaBytes > 0) {
    spaceBytes.push(p.halfArenaBytes);
    spaceTypes.push('f16');
  }
  const buffers = laid.map((b) => (b.space === HALF ? { ...b, space: spaceBytes.length - 1 } : b));
  return { buffers, spaceBytes: spaceBytes.map((n) => alignUp(Math.max(n, 16), 16)), spaceTypes };
}

function nodeLines(k: Kernel, defs: ReadonlyMap<ValueId, Node>): string[] {
  return k.nodes.map((v) => {
    const n = defs.get(v);
    return `//   %${v} = ${n ? n.op : '?'} at ${locText(n?.loc)}`;
  });
}

export function lowerToWgsl(p: KernelProgram, graph: Graph, options: WgslOptions = {}): WgslProgram {
  const limits = options.limits ?? WGSL_DEFAULTS;
  const precision = options.precision ?? 'f32';
  const { buffers, spaceBytes, spaceTypes } = layout(p, limits);
  const half = spaceTypes.indexOf('f16');
  const halfSpace = half < 0 ? null : half;
  const defs = new Map(graph.nodes.map((n) => [n.id, n]));
  const kernels = p.kernels.map((k): WgslKernel => {
    const spaces: number[] = [];
    const header = [`// Sinter kernel ${k.name} of @${escapeComment(p.name)} (${k.kind}), from ${locText(k.loc)}`, '// fuses the graph nodes:', ...nodeLines(k, defs)];
    const cx: KernelContext = { program: p, buffers, limits, precision, subgroups: options.subgroups ?? false, halfSpace, header, bind: (s) => void (spaces.includes(s) ? null : spaces.push(s)) };
    for (const id of [...k.inputs, ...k.outputs]) cx.bind(buffers[id]!.space);
    spaces.sort((a, b) => a - b);
    if (spaces.length > limits.maxStorageBindings) {
      throw new WgslLimitError('maxStorageBuffersPerShaderStage', limits.maxStorageBindings, spaces.length, k.loc, `kernel ${k.name}`, 'the model\'s state spans too many 128 MiB chunks; compile for the adapter\'s own limits');
    }
    const contraction = (): MadeKernel | null => (k.kind !== 'contraction' ? null : (options.gemm === 'rows' ? rowsGemmKernel(k, cx, spaces) : null) ?? gemmKernel(k, cx, spaces));
    const made = k.kind === 'op' ? opKernel(k, cx, spaces) : contraction() ?? treeKernel(k, cx, spaces) ?? pointKernel(k, cx, spaces);
    const bytes = [...new Set([...k.inputs, ...k.outputs])].reduce((s, id) => s + (buffers[id]!.space === halfSpace ? halfBytes(p.buffers[id]!.type) : tensorBytes(p.buffers[id]!.type)), 0);
    const features: WgslFeature[] = [...(usesF16(cx, spaces) ? (['shader-f16'] as const) : []), ...(made.extensions ?? [])];
    const { extensions: _, ...rest } = made;
    return { name: k.name, nodes: k.nodes, ...(k.loc ? { loc: k.loc } : {}), spaces, entryPoint: 'main', bytes, features, ...rest };
  });
  const features = (['shader-f16', 'subgroups'] as const).filter((f) => kernels.some((k) => k.features.includes(f)));
  return { name: p.name, buffers, kernels, outputs: p.outputs, spaceBytes, spaceTypes, limits, precision, features };
}

/** Elements of a buffer. */
export function bufferLength(b: WgslBuffer): number {
  return numel(b.type.shape);
}
