// The CPU executable's storage: one ArrayBuffer with typed-array views of every buffer, the scratch, and the kernels bound to them.
//
// Views are made once per session, and each JavaScript kernel's factory runs once with its
// views as arguments, so a step is only a sequence of argument-less calls. Bool tensors are
// stored as 4-byte 0/1 (Uint32Array) as the kernel program lays them out; host tensors keep
// them as bytes, and copies convert. Op kernels (ops without a lowering) run their op's
// reference semantics on copies of their inputs and write the result into their output.

import { geluScalar } from '../../compiler/ir/ops/elementwise.js';
import { OPS } from '../../compiler/ir/ops/registry.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { allocData } from '../../compiler/ir/tensor.js';
import type { CpuBuffer, CpuKernel, CpuProgram } from '../../compiler/lower/cpu/lower.js';
import { bufferLength } from '../../compiler/lower/cpu/lower.js';
import type { Gemm } from './gemm.js';
import { jsGemm, wasmAvailable, wasmGemm, wasmMemory } from './gemm.js';

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

export type KernelFn = () => void;

export interface Storage {
  readonly bytes: ArrayBufferLike;
  readonly views: readonly View[];
  readonly scratch: Float64Array;
  readonly gemm: Gemm;
}

/** Options of storage allocation. */
export interface StorageOptions {
  /** Use WebAssembly SIMD microkernels where available (default true); false forces the JavaScript ones. */
  readonly wasm?: boolean;
}

/**
 * The program's storage: a WebAssembly memory's buffer when the SIMD microkernels are used
 * (so they and the JavaScript kernels share every byte), else a plain ArrayBuffer.
 */
export function allocateStorage(p: CpuProgram, options: StorageOptions = {}): Storage {
  const useWasm = (options.wasm ?? true) && wasmAvailable();
  const memory = useWasm ? wasmMemory(p.storageBytes) : null;
  const bytes = memory ? memory.buffer : new ArrayBuffer(p.storageBytes);
  const views = p.buffers.map((b) => viewOf(bytes, b));
  const gemm = memory ? wasmGemm(memory) : jsGemm(bytes);
  return { bytes, views, scratch: new Float64Array(bytes, p.scratch.byteOffset, p.scratch.doubles), gemm };
}

/** Binds every kernel of a program to the storage: compiled JavaScript, or the op's reference semantics. */
export function bindKernels(p: CpuProgram, s: Storage): KernelFn[] {
  return p.kernels.map((k) => (k.kind === 'js' ? bindJs(k, s) : bindOp(k, p, s)));
}

function bindJs(k: Extract<CpuKernel, { kind: 'js' }>, s: Storage): KernelFn {
  let factory: (...args: unknown[]) => unknown;
  try {
    factory = new Function('H', 'S', ...k.params, k.source) as (...args: unknown[]) => unknown;
  } catch (e) {
    throw new Error(`internal: generated kernel ${k.name} does not compile (${(e as Error).message}):\n${k.source}`);
  }
  const helpers = { gelu: geluScalar, gemm_f32: s.gemm.gemm_f32, gemm_f64: s.gemm.gemm_f64, scratchBytes: s.scratch.byteOffset };
  const fn = factory(helpers, s.scratch, ...k.bindings.map((id) => s.views[id]));
  if (typeof fn !== 'function') throw new Error(`internal: generated kernel ${k.name} did not return a function`);
  return fn as KernelFn;
}

function bindOp(k: Extract<CpuKernel, { kind: 'op' }>, p: CpuProgram, s: Storage): KernelFn {
  if (k.outputs.length !== 1) throw new Error(`internal: op kernel ${k.name} has ${k.outputs.length} outputs; ops have one`);
  const out = p.buffers[k.outputs[0]!]!;
  const outView = s.views[out.id]!;
  return () => {
    const inputs = k.inputs.map((id) => readTensor(p.buffers[id]!, s.views[id]!));
    outView.set(OPS[k.op].reference(inputs, k.attrs, out.type).data);
  };
}
