// The GEMM microkernels generated kernels call: WebAssembly SIMD where the engine has it, else a JavaScript twin with the same sums.
//
// Both compute C[i·ldc + j] = Σ_k P[i][k]·Q[j][k] over panels packed as gemm.ts describes
// (float32; four rows, or eight columns, interleaved per k), summing over k in order from
// zero and rounding each product and each partial sum to float32, so they agree bit for bit
// with each other; `gemm_f64` widens C to float64 as it stores. Addresses are byte offsets
// in the session's storage.

import { gemmModule } from '../../compiler/lower/cpu/gemm-wasm.js';

export type GemmFn = (pa: number, qb: number, c: number, m: number, n: number, k: number, ldc: number, colBlock: number) => void;

export interface Gemm {
  readonly gemm_f32: GemmFn;
  readonly gemm_f64: GemmFn;
  /** 'wasm-simd' or 'js', for profiles and tests. */
  readonly kind: 'wasm-simd' | 'js';
}

/** The part of the WebAssembly JS API used here (the project's type libraries omit it). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** The engine's WebAssembly API, or undefined where there is none. */
export function wasmApi(): WasmApi | undefined {
  return wasm;
}

const compiled = new Map<boolean, object | null>();

/** The compiled GEMM module, or null where WebAssembly or its SIMD is missing. */
function gemmWasm(shared: boolean): object | null {
  if (!compiled.has(shared)) {
    const bytes = gemmModule(shared);
    compiled.set(shared, wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null);
  }
  return compiled.get(shared)!;
}

/** A WebAssembly memory of at least `bytes` bytes, for storage the microkernels can address; shared for threads. */
export function wasmMemory(bytes: number, shared: boolean): WasmMemory {
  if (!wasm) throw new Error('internal: wasmMemory called where WebAssembly is unavailable');
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  return new wasm.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages });
}

/** Whether storage can be a WebAssembly memory that the SIMD microkernels run on. */
export function wasmAvailable(): boolean {
  return gemmWasm(false) !== null;
}

export function wasmGemm(memory: WasmMemory, shared: boolean): Gemm {
  const module = gemmWasm(shared);
  if (!module || !wasm) throw new Error('internal: wasmGemm called where WebAssembly SIMD is unavailable');
  const e = new wasm.Instance(module, { env: { memory } }).exports as Record<'gemm_f32' | 'gemm_f64', GemmFn>;
  return { gemm_f32: e.gemm_f32, gemm_f64: e.gemm_f64, kind: 'wasm-simd' };
}

/** The JavaScript twin: the same 4×8 tiles, block order and float32 roundings (Math.fround after every product and sum). */
export function jsGemm(buffer: ArrayBufferLike): Gemm {
  const P = new Float32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
  const S = new Float64Array(buffer, 0, Math.floor(buffer.byteLength / 8));
  const tile = new Float32Array(32);
  const make =
    (out: Float32Array | Float64Array, shift: number): GemmFn =>
    (pa, qb, c, m, n, k, ldc, colBlock) => {
      const [p0, q0, c0] = [pa / 4, qb / 4, c >> shift];
      const mp = (m + 3) & ~3;
      const np = (n + 7) & ~7;
      for (let jb = 0; jb < np; jb += colBlock) {
        const je = Math.min(jb + colBlock, np);
        for (let ip = 0; ip < mp; ip += 4) {
          const p = p0 + ip * k;
          for (let jp = jb; jp < je; jp += 8) {
            const q = q0 + jp * k;
            tile.fill(0);
            for (let kk = 0; kk < k; kk++) {
              for (let r = 0; r < 4; r++) {
                const x = P[p + 4 * kk + r]!;
                for (let j = 0; j < 8; j++) tile[8 * r + j] = Math.fround(tile[8 * r + j]! + Math.fround(x * P[q + 8 * kk + j]!));
              }
            }
            for (let r = 0; r < 4 && ip + r < m; r++) {
              for (let j = 0; j < 8 && jp + j < n; j++) out[c0 + (ip + r) * ldc + jp + j] = tile[r * 8 + j]!;
            }
          }
        }
      }
    };
  return { gemm_f32: make(P, 2), gemm_f64: make(S, 3), kind: 'js' };
}
