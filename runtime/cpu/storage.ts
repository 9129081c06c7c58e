// The CPU executable's storage: one ArrayBuffer with typed-array views of every buffer, the scratch, and the kernels bound to them.
//
// Views are made once per session (and once per worker thread), and each JavaScript kernel's
// factory runs once with its views as arguments, so a step only calls phase functions with a
// range. Bool tensors are
// stored as 4-byte 0/1 (Uint32Array) as the kernel program lays them out; host tensors keep
// them as bytes, and copies convert. Op kernels (ops without a lowering) run their op's
// reference semantics on copies of their inputs and write the result into their output.

import { geluScalar } from '../../compiler/ir/ops/elementwise.js';
import { OPS } from '../../compiler/ir/ops/registry.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { allocData } from '../../compiler/ir/tensor.js';
import type { CpuBuffer, CpuJsKernel, CpuOpKernel, CpuProgram } from '../../compiler/lower/cpu/lower.js';
import { bufferLength, storageBytes } from '../../compiler/lower/cpu/lower.js';
import type { Gemm, WasmMemory } from './gemm.js';
import { jsGemm, wasmAvailable, wasmGemm, wasmMemory } from './gemm.js';
import { wasmLoops } from './loops-wasm.js';
import { controlBytes } from './threads.js';

export type View = Float32Array | Int32Array | Uint32Array;


export function viewOf(storage: ArrayBufferLike, b: CpuBuffer): View {
  const n = bufferLength(b);
  switch (b.type.dtype) {
    case 'f32':
      return new Float32Array(storage, b.byteOffset, n);
    case 'i32':
      return new Int32Array(storage, b.byteOffset, n);
    case 'bool':
      return new Uint32Array(storage, b.byteOffset, n);
    default:
      return b.type.dtype satisfies never;
  }
}

/** A host tensor with a copy of a buffer's elements. */
export function readTensor(b: CpuBuffer, view: View): Tensor {
  const data = allocData(b.type.dtype, view.length);
  data.set(view);
  return { type: b.type, data };
}

/** A phase of a JavaScript kernel over [lo, hi) of its range, run by thread `tid`; true asks for the fallback phases. */
export type PhaseFn = (lo: number, hi: number, tid: number) => boolean | undefined;

export type BoundKernel =
  | { readonly kind: 'js'; readonly info: CpuJsKernel; readonly phases: readonly PhaseFn[]; readonly fallback: readonly PhaseFn[] | null }
  | { readonly kind: 'op'; readonly run: () => void };

export interface Storage {
  readonly bytes: ArrayBufferLike;
  /** The WebAssembly memory whose buffer `bytes` is, when the SIMD microkernels run. */
  readonly memory: WasmMemory | null;
  readonly views: readonly View[];
  /** The whole float64 scratch: shared part, then each thread's region. */
  readonly scratch: Float64Array;
  readonly gemm: Gemm;
  /** The threads' control words (generation, task, completion; see threads.ts). */
  readonly control: Int32Array;
}

export interface StorageOptions {
  /** Use WebAssembly SIMD microkernels where available (default true); false forces the JavaScript ones. */
  readonly wasm?: boolean;
  /** Threads that will share the storage (default 1); more than one makes it shared memory. */
  readonly threads?: number;
}

/**
 * The program's storage: a WebAssembly memory's buffer when the SIMD microkernels are used
 * (so they and the JavaScript kernels share every byte), else a plain ArrayBuffer; shared
 * (a SharedArrayBuffer) when threads will run kernels on it.
 */
export function allocateStorage(p: CpuProgram, options: StorageOptions = {}): Storage {
  const threads = options.threads ?? 1;
  const shared = threads > 1;
  const size = storageBytes(p, threads) + controlBytes(threads);
  const memory = (options.wasm ?? true) && wasmAvailable() ? wasmMemory(size, shared) : null;
  const bytes = memory ? memory.buffer : shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
  return attachStorage(p, bytes, memory, threads);
}

/** Views of an existing storage buffer (a worker's view of the session's shared memory). */
export function attachStorage(p: CpuProgram, bytes: ArrayBufferLike, memory: WasmMemory | null, threads: number): Storage {
  const views = p.buffers.map((b) => viewOf(bytes, b));
  const scratchEnd = storageBytes(p, threads);
  const scratch = new Float64Array(bytes, p.scratch.byteOffset, (scratchEnd - p.scratch.byteOffset) / 8);
  const gemm = memory ? wasmGemm(memory, threads > 1) : jsGemm(bytes);
  return { bytes, memory, views, scratch, gemm, control: new Int32Array(bytes, scratchEnd, controlBytes(threads) / 4) };
}

/** Binds every kernel of a program to the storage: compiled JavaScript phases, or the op's reference semantics. */
export function bindKernels(p: CpuProgram, s: Storage): BoundKernel[] {
  return p.kernels.map((k) => (k.kind === 'js' ? bindJs(k, s) : bindOp(k, p, s)));
}

function bindJs(k: CpuJsKernel, s: Storage): BoundKernel {
  let factory: (...args: unknown[]) => unknown;
  try {
    factory = new Function('H', 'S', ...k.params, k.source) as (...args: unknown[]) => unknown;
  } catch (e) {
    throw new Error(`internal: generated kernel ${k.name} does not compile (${(e as Error).message}):\n${k.source}`);
  }
  const wasm = k.wasm && s.memory ? wasmLoops(k.wasm, s.memory, geluScalar) : null;
  const helpers = { gelu: geluScalar, gemm_f32: s.gemm.gemm_f32, gemm_f64: s.gemm.gemm_f64, scratchBytes: s.scratch.byteOffset, scratchF32: new Float32Array(s.scratch.buffer, s.scratch.byteOffset, 2 * s.scratch.length), wasm };
  const made = factory(helpers, s.scratch, ...k.bindings.map((id) => s.views[id])) as { phases: PhaseFn[]; fallback: PhaseFn[] | null };
  if (made.phases.length !== k.phases.length || (made.fallback?.length ?? 0) !== (k.fallback?.length ?? 0)) {
    throw new Error(`internal: generated kernel ${k.name} returned ${made.phases.length} phases, its descriptor lists ${k.phases.length}`);
  }
  return { kind: 'js', info: k, phases: made.phases, fallback: made.fallback };
}

function bindOp(k: CpuOpKernel, p: CpuProgram, s: Storage): BoundKernel {
  if (k.outputs.length !== 1) throw new Error(`internal: op kernel ${k.name} has ${k.outputs.length} outputs; ops have one`);
  const out = p.buffers[k.outputs[0]!]!;
  const outView = s.views[out.id]!;
  return {
    kind: 'op',
    run: () => {
      const inputs = k.inputs.map((id) => readTensor(p.buffers[id]!, s.views[id]!));
      outView.set(OPS[k.op].reference(inputs, k.attrs, out.type).data);
    },
  };
}
