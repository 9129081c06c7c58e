// The GEMM microkernels generated kernels call: WebAssembly SIMD where the engine has it, else a JavaScript twin with the same sums.
//
// Both compute C[i·ldc + j] = Σ_k P[i][k]·Q[j][k] over panels packed as gemm.ts describes
// (float64, four rows interleaved per k), summing over k in order in float64 from zero, so
// they agree bit for bit with each other and with the reference; `gemm_f32` rounds C to
// float32 as it stores. Addresses are byte offsets in the session's storage.

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
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
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

/** The JavaScript twin: the same tiles, block order and float64 sums, four by four in locals. */
export function jsGemm(buffer: ArrayBufferLike): Gemm {
  const S = new Float64Array(buffer, 0, Math.floor(buffer.byteLength / 8));
  const F = new Float32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
  const make =
    (out: Float32Array | Float64Array, shift: number): GemmFn =>
    (pa, qb, c, m, n, k, ldc, colBlock) => {
      const [p0, q0, c0] = [pa / 8, qb / 8, c >> shift];
      const mp = (m + 3) & ~3;
      const np = (n + 3) & ~3;
      for (let jb = 0; jb < np; jb += colBlock) {
        const je = Math.min(jb + colBlock, np);
        for (let ip = 0; ip < mp; ip += 4) {
          const p = p0 + ip * k;
          for (let jp = jb; jp < je; jp += 4) {
            const q = q0 + jp * k;
            let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
            let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
            for (let kk = 0; kk < 4 * k; kk += 4) {
              const x0 = S[p + kk]!, x1 = S[p + kk + 1]!, x2 = S[p + kk + 2]!, x3 = S[p + kk + 3]!;
              const y0 = S[q + kk]!, y1 = S[q + kk + 1]!, y2 = S[q + kk + 2]!, y3 = S[q + kk + 3]!;
              c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
              c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
              c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
              c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
            }
            const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
            for (let r = 0; r < 4 && ip + r < m; r++) {
              for (let j = 0; j < 4 && jp + j < n; j++) out[c0 + (ip + r) * ldc + jp + j] = tile[r * 4 + j]!;
            }
          }
        }
      }
    };
  return { gemm_f32: make(F, 2), gemm_f64: make(S, 3), kind: 'js' };
}
