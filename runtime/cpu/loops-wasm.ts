// The loops kernels' WebAssembly functions (compiler/lower/cpu/wasm-loops.ts), instantiated on a session's memory.

import type { WasmLoops } from '../../compiler/lower/cpu/wasm-loops.js';
import type { WasmMemory } from './gemm.js';
import { wasmApi } from './gemm.js';

const compiled = new WeakMap<Uint8Array, object>();

/**
 * A kernel's function on this memory (the module for a shared memory where threads share
 * it), with the JavaScript functions it may call: Math's and the reference's gelu. Each
 * module is compiled once per realm (every worker compiles its own).
 */
export function wasmLoops(modules: WasmLoops, memory: WasmMemory, gelu: (x: number) => number): { readonly run: (...args: number[]) => void } {
  const wasm = wasmApi();
  if (!wasm) throw new Error('internal: wasmLoops called where WebAssembly is unavailable');
  const bytes = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer ? modules.shared : modules.plain;
  let module = compiled.get(bytes);
  if (!module) {
    module = new wasm.Module(bytes);
    compiled.set(bytes, module);
  }
  const env = { memory, exp: Math.exp, log: Math.log, tanh: Math.tanh, pow: Math.pow, gelu };
  return new wasm.Instance(module, { env }).exports as { run: (...args: number[]) => void };
}
