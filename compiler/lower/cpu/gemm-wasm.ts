// The GEMM microkernel as WebAssembly SIMD: C = P·Qᵀ over packed float64 panels, 4×4 tiles in eight f64x2 accumulators.
//
// Two exports, `gemm_f32` (C stored as float32: an output written directly) and `gemm_f64`
// (C stored as float64: the scratch an epilogue reads), each
// `(pa, qb, c, m, n, k, ldc, colBlock)`: byte addresses of the row panel (⌈m/4⌉ panels of
// 4 rows interleaved per k, as gemm.ts packs them), the column panel and C; the sizes; C's
// row stride in elements; and the column block (a multiple of 4) that keeps a block of the
// column panel in cache while every row panel passes over it.
//
// Per k step a tile loads the four columns' values as two f64x2 vectors and splats each
// row's value, then adds the products into its row's two accumulators. Each accumulator
// lane holds one C element summed over k in order, in float64, and the products of float32
// values are exact in float64: the result equals the JavaScript path and the reference bit
// for bit, at twice JavaScript's scalar rate per instruction. (f32x4 would double the rate
// again but round every partial sum to float32: a tolerance, not equality.)

import type { WasmFunction } from './wasm.js';
import { Code, I32, V128, wasmModule } from './wasm.js';

function gemm(dest: 'f32' | 'f64'): WasmFunction {
  const c = new Code(8);
  const [pa, qb, cAddr, m, n, k, ldc, colBlock] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [mp, np, jb, je, ip, jp, p, q, pEnd, row, rowBytes] = Array.from({ length: 11 }, () => c.local(I32));
  const acc = Array.from({ length: 8 }, () => c.local(V128));
  const [b01, b23, a] = [c.local(V128), c.local(V128), c.local(V128)];
  const esize = dest === 'f32' ? 4 : 8;
  const roundUp4 = (x: number, into: number): void => void c.get(x).i32(3).i32op('add').i32(-4).i32op('and').set(into);

  roundUp4(m, mp);
  roundUp4(n, np);
  c.get(ldc).i32(esize).i32op('mul').set(rowBytes);
  c.i32(0).set(jb);
  c.block().loop();
  {
    c.get(jb).get(np).i32op('ge_s').brIf(1);
    // je = min(jb + colBlock, np)
    c.get(jb).get(colBlock).i32op('add').get(np).get(jb).get(colBlock).i32op('add').get(np).i32op('lt_s').select().set(je);
    c.i32(0).set(ip);
    c.block().loop();
    {
      c.get(ip).get(mp).i32op('ge_s').brIf(1);
      c.get(jb).set(jp);
      c.block().loop();
      {
        c.get(jp).get(je).i32op('ge_s').brIf(1);
        c.get(pa).get(ip).get(k).i32op('mul').i32(8).i32op('mul').i32op('add').tee(p);
        c.get(k).i32(32).i32op('mul').i32op('add').set(pEnd);
        c.get(qb).get(jp).get(k).i32op('mul').i32(8).i32op('mul').i32op('add').set(q);
        for (const x of acc) c.f64(0).simd('f64x2.splat').set(x);
        c.loop();
        {
          c.get(q).mem('v128.load', 0).set(b01);
          c.get(q).mem('v128.load', 16).set(b23);
          for (let r = 0; r < 4; r++) {
            c.get(p).mem('v128.load64_splat', 8 * r).set(a);
            c.get(acc[2 * r]!).get(a).get(b01).simd('f64x2.mul').simd('f64x2.add').set(acc[2 * r]!);
            c.get(acc[2 * r + 1]!).get(a).get(b23).simd('f64x2.mul').simd('f64x2.add').set(acc[2 * r + 1]!);
          }
          c.get(p).i32(32).i32op('add').tee(p);
          c.get(q).i32(32).i32op('add').set(q);
          c.get(pEnd).i32op('lt_s').brIf(0);
        }
        c.end();
        // row = c + (ip·ldc + jp)·esize, the tile's first element.
        c.get(cAddr).get(ip).get(ldc).i32op('mul').get(jp).i32op('add').i32(esize).i32op('mul').i32op('add').set(row);
        c.get(ip).i32(4).i32op('add').get(m).i32op('le_s').get(jp).i32(4).i32op('add').get(n).i32op('le_s').i32op('and').if();
        for (let r = 0; r < 4; r++) {
          for (let h = 0; h < 2; h++) {
            if (dest === 'f64') c.get(row).get(acc[2 * r + h]!).mem('v128.store', 16 * h);
            else c.get(row).get(acc[2 * r + h]!).simd('f32x4.demote_f64x2_zero').mem('v128.store64_lane', 8 * h, 0);
          }
          c.get(row).get(rowBytes).i32op('add').set(row);
        }
        c.else();
        for (let r = 0; r < 4; r++) {
          for (let col = 0; col < 4; col++) {
            c.get(ip).i32(r).i32op('add').get(m).i32op('lt_s').get(jp).i32(col).i32op('add').get(n).i32op('lt_s').i32op('and').if();
            c.get(row).get(acc[2 * r + (col >> 1)]!).simd('f64x2.extract_lane', col & 1);
            if (dest === 'f64') c.f64store(8 * col);
            else c.f32demote().f32store(4 * col);
            c.end();
          }
          c.get(row).get(rowBytes).i32op('add').set(row);
        }
        c.end();
        c.get(jp).i32(4).i32op('add').set(jp);
        c.br(0);
      }
      c.end().end();
      c.get(ip).i32(4).i32op('add').set(ip);
      c.br(0);
    }
    c.end().end();
    c.get(jb).get(colBlock).i32op('add').set(jb);
    c.br(0);
  }
  c.end().end();
  return { name: `gemm_${dest}`, params: [I32, I32, I32, I32, I32, I32, I32, I32], code: c };
}

const modules = new Map<boolean, Uint8Array>();

/** The GEMM module's bytes, for a shared memory (threads) or not; built once per process. */
export function gemmModule(sharedMemory: boolean): Uint8Array {
  let bytes = modules.get(sharedMemory);
  if (!bytes) {
    bytes = wasmModule([gemm('f32'), gemm('f64')], sharedMemory);
    modules.set(sharedMemory, bytes);
  }
  return bytes;
}
