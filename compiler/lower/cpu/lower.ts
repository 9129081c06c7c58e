// The CPU code generator: a kernel program lowered to a CPU executable — one storage layout and one JavaScript source per kernel.
//
// Why JavaScript first: a JS kernel compiled with `new Function` runs wherever the runtime
// does (Node, every browser), needs no toolchain, is readable in a SINTER_DEBUG=2 dump, and
// V8 compiles the shape-specialized loops to tight machine code; reductions run in doubles,
// so results equal the reference's (float64 accumulation) bit for bit. What it cannot do is
// vector arithmetic or float32 arithmetic. So, through a small WebAssembly emitter of our own
// (wasm.ts: a few dozen opcodes; binaryen would outweigh the whole compiler): GEMMs run a
// SIMD microkernel on panels packed as float32 (gemm-wasm.ts; sums in float32, within the
// contraction tolerance of DESIGN.md), and loops kernels and GEMM epilogues that qualify run
// as Wasm functions computing the JS kernel's very values (wasm-loops.ts). The JS stays as
// the form that runs where storage is not a Wasm memory.
//
// Storage: one ArrayBuffer holds the planned arena at offset 0, then every input and param
// (persistent across steps; an output updated in place shares its param's bytes), then the
// float64 scratch that GEMM kernels pack panels into (kernels run one after another, so they
// share it; each thread has a region of its own for panels packed per batch). Identifiers in generated code are compiler-made; the only user text in a source
// is the kernel's location, in a comment with every character outside printable ASCII and
// every `*` escaped.

import type { Loc } from '../../ir/graph.js';
import type { Attrs } from '../../ir/ops/op.js';
import type { OpName } from '../../ir/ops/registry.js';
import type { DType, TensorType } from '../../ir/types.js';
import { numel } from '../../ir/types.js';
import type { KernelProgram, Placement, ProgramOutput } from '../../kernel/program.js';
import type { TargetLimits } from '../../kernel/target.js';
import { ELEMENT_BYTES, alignUp, tensorBytes } from '../../kernel/target.js';
import type { Phase } from './kernel.js';
import { kernelFlops, kernelSource } from './kernel.js';
import type { WasmLoops } from './wasm-loops.js';

export interface CpuBuffer {
  readonly id: number;
  readonly type: TensorType;
  readonly placement: Placement;
  /** Where its elements start in the storage ArrayBuffer. */
  readonly byteOffset: number;
}

interface CpuKernelBase {
  readonly name: string;
  /** Floating-point operations and bytes read and written per run, for profiles. */
  readonly flops: number;
  readonly bytes: number;
  readonly loc?: Loc;
}

export interface CpuJsKernel extends CpuKernelBase {
  readonly kind: 'js';
  /** What the kernel is, for people: `loops` or `gemm MxNxK ×batch`. */
  readonly form: string;
  /** The factory's parameters after `H` and `S`, and the buffer each one views. */
  readonly params: readonly string[];
  readonly bindings: readonly number[];
  readonly source: string;
  /** The phase functions the factory returns, in order, and the fallback phases (plain loops) a phase may ask for. */
  readonly phases: readonly Phase[];
  readonly fallback: readonly Phase[] | null;
  /** The loops as WebAssembly, which the source calls (`H.wasm`) where storage is a Wasm memory. */
  readonly wasm: WasmLoops | null;
}

export interface CpuOpKernel extends CpuKernelBase {
  readonly kind: 'op';
  readonly op: OpName;
  readonly attrs: Attrs;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

export type CpuKernel = CpuJsKernel | CpuOpKernel;

/**
 * A lowered program: plain data (it could be written to disk and loaded without the
 * compiler). Storage is one buffer: arena and persistent buffers below `scratch.byteOffset`,
 * then the float64 scratch: `sharedDoubles`, then `threadDoubles` for each thread.
 */
export interface CpuProgram {
  readonly name: string;
  readonly buffers: readonly CpuBuffer[];
  readonly kernels: readonly CpuKernel[];
  readonly outputs: readonly ProgramOutput[];
  readonly scratch: { readonly byteOffset: number; readonly sharedDoubles: number; readonly threadDoubles: number };
}

/** Bytes of a program's storage when run on `threads` threads. */
export function storageBytes(p: CpuProgram, threads: number): number {
  return p.scratch.byteOffset + 8 * (p.scratch.sharedDoubles + threads * p.scratch.threadDoubles);
}

/** Persistent buffers and the scratch start at cache-line boundaries. */
const LINE = 64;

/** A location as a comment: printable ASCII only, so user text cannot end the comment or the line. */
export function locComment(loc: Loc | undefined): string {
  if (!loc) return '';
  const text = `${loc.file}:${loc.line}:${loc.col}`.replace(/[^ -)+-~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `// at ${text}\n`;
}

export function lowerToCpu(p: KernelProgram): CpuProgram {
  let top = alignUp(p.arenaBytes, LINE);
  const persistent = new Map<string, number>();
  const buffers = p.buffers.map((b): CpuBuffer => {
    const pl = b.placement;
    switch (pl.kind) {
      case 'arena':
        return { id: b.id, type: b.type, placement: pl, byteOffset: pl.offset };
      case 'input':
      case 'param': {
        const at = top;
        persistent.set(`${pl.kind}:${pl.name}`, at);
        top = alignUp(top + tensorBytes(b.type), LINE);
        return { id: b.id, type: b.type, placement: pl, byteOffset: at };
      }
      case 'in-param': {
        const at = persistent.get(`param:${pl.name}`);
        if (at === undefined) throw new Error(`internal: output %${b.value} is placed in param '${pl.name}', which the program lacks`);
        return { id: b.id, type: b.type, placement: pl, byteOffset: at };
      }
      case 'half-arena':
        throw new Error(`internal: %${b.value} is stored as f16, which the CPU backend does not do (storage f16 is for WebGPU)`);
      default:
        return pl satisfies never;
    }
  });
  const bytesOf = (ids: readonly number[]): number => [...new Set(ids)].reduce((s, id) => s + tensorBytes(p.buffers[id]!.type), 0);
  let sharedDoubles = 0;
  let threadDoubles = 0;
  const kernels = p.kernels.map((k, i): CpuKernel => {
    const name = `k${i}`;
    const common = { name, bytes: bytesOf([...k.inputs, ...k.outputs]), ...(k.loc ? { loc: k.loc } : {}) };
    if (k.kind === 'op') return { kind: 'op', ...common, flops: 0, op: k.op, attrs: k.attrs, inputs: k.inputs, outputs: k.outputs };
    const src = kernelSource(k, name);
    sharedDoubles = Math.max(sharedDoubles, src.sharedScratch);
    threadDoubles = Math.max(threadDoubles, src.threadScratch);
    const g = src.gemm;
    const form = g ? `gemm ${g.m}x${g.n}x${g.k}${g.nb > 1 ? ` x${g.nb}` : ''}${g.direct ? '' : ' +epilogue'}${g.mask ? ' masked' : ''}` : 'loops';
    return {
      kind: 'js',
      ...common,
      flops: kernelFlops(k),
      form,
      params: [...k.inputs.map((_, s) => `a${s}`), ...k.outputs.map((_, o) => `o${o}`)],
      bindings: [...k.inputs, ...k.outputs],
      source: `${locComment(k.loc)}${src.source}`,
      phases: src.phases,
      fallback: src.fallback,
      wasm: src.wasm,
    };
  });
  return { name: p.name, buffers, kernels, outputs: p.outputs, scratch: { byteOffset: alignUp(top, LINE), sharedDoubles, threadDoubles } };
}

/** Elements of a buffer. */
export function bufferLength(b: CpuBuffer): number {
  return numel(b.type.shape);
}

/** Bytes per element in storage (bool as a 4-byte 0/1). */
export function elementBytes(d: DType): number {
  return ELEMENT_BYTES[d];
}

/**
 * What fusion and memory planning must respect on the CPU: no binding or workgroup-memory
 * limits of its own (these generous caps only bound kernel size), and buffers aligned to
 * cache lines rather than WebGPU's 256 bytes.
 */
export const CPU_LIMITS: TargetLimits = { maxStorageBindings: 16, maxWorkgroupBytes: 65536, offsetAlignment: LINE };
