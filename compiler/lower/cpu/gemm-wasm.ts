// The GEMM microkernel as WebAssembly SIMD: C = P·Qᵀ over packed float32 panels, 4×8 tiles in eight f32x4 accumulators.
//
// Two exports, `gemm_f32` (C stored as float32: an output written directly) and `gemm_f64`
// (C stored as float64: the scratch an epilogue reads), each
// `(pa, qb, c, m, n, k, ldc, colBlock)`: byte addresses of the row panel (⌈m/4⌉ panels of
// 4 rows interleaved per k, as gemm.ts packs them), the column panel (⌈n/8⌉ panels of 8
// columns interleaved per k) and C; the sizes; C's row stride in elements; and the column
// block (a multiple of 8) that keeps a block of the column panel in cache while every row
// panel passes over it.
//
// Per k step a tile loads its eight columns' values as two f32x4 vectors and splats each
// row's value, then adds the products into that row's two accumulators: 32 multiply-adds
// per 22 instructions, with 11 vector registers live (x64 has 16). Each accumulator lane
// sums one C element over k in order, rounding each product and each partial sum to
// float32 (f32x4 has no fused multiply-add without relaxed SIMD): the JavaScript twin
// (runtime/cpu/gemm.ts) does the same roundings in the same order, so the two agree bit
// for bit; against the reference's float64 sums the difference is a contraction's
// tolerance (DESIGN.md). Float64 sums (f64x2) would halve the rate.

import type { WasmFunction } from './wasm.js';
import { Code, I32, V128, wasmModule } from './wasm.js';

function gemm(dest: 'f32' | 'f64'): WasmFunction {
  const c = new Code(8);
  const [pa, qb, cAddr, m, n, k, ldc, colBlock] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [mp, np, jb, je, ip, jp, p, q, pEnd, row, rowBytes] = Array.from({ length: 11 }, () => c.local(I32));
  const acc = Array.from({ length: 8 }, () => c.local(V128));
  const [b0, b1, a] = [c.local(V128), c.local(V128), c.local(V128)];
  const esize = dest === 'f32' ? 4 : 8;
  const roundUp = (x: number, to: number, into: number): void => void c.get(x).i32(to - 1).i32op('add').i32(-to).i32op('and').set(into);
  /** Stores lane `lane` of accumulator `v` at byte `offset` past `row`. */
  const storeLane = (v: number, lane: number, offset: number): void => {
    c.get(row).get(v).simd('f32x4.extract_lane', lane);
    if (dest === 'f64') c.f64promote().f64store(offset);
    else c.f32store(offset);
  };

  roundUp(m, 4, mp);
  roundUp(n, 8, np);
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
        c.get(pa).get(ip).get(k).i32op('mul').i32(4).i32op('mul').i32op('add').tee(p);
        c.get(k).i32(16).i32op('mul').i32op('add').set(pEnd);
        c.get(qb).get(jp).get(k).i32op('mul').i32(4).i32op('mul').i32op('add').set(q);
        for (const x of acc) c.f64(0).f32demote().simd('f32x4.splat').set(x);
        c.loop();
        {
          c.get(q).mem('v128.load', 0).set(b0);
          c.get(q).mem('v128.load', 16).set(b1);
          for (let r = 0; r < 4; r++) {
            c.get(p).mem('v128.load32_splat', 4 * r).set(a);
            c.get(acc[2 * r]!).get(a).get(b0).simd('f32x4.mul').simd('f32x4.add').set(acc[2 * r]!);
            c.get(acc[2 * r + 1]!).get(a).get(b1).simd('f32x4.mul').simd('f32x4.add').set(acc[2 * r + 1]!);
          }
          c.get(p).i32(16).i32op('add').tee(p);
          c.get(q).i32(32).i32op('add').set(q);
          c.get(pEnd).i32op('lt_s').brIf(0);
        }
        c.end();
        // row = c + (ip·ldc + jp)·esize, the tile's first element.
        c.get(cAddr).get(ip).get(ldc).i32op('mul').get(jp).i32op('add').i32(esize).i32op('mul').i32op('add').set(row);
        c.get(ip).i32(4).i32op('add').get(m).i32op('le_s').get(jp).i32(8).i32op('add').get(n).i32op('le_s').i32op('and').if();
        for (let r = 0; r < 4; r++) {
          for (let h = 0; h < 2; h++) {
            if (dest === 'f32') c.get(row).get(acc[2 * r + h]!).mem('v128.store', 16 * h);
            else for (let lane = 0; lane < 4; lane++) storeLane(acc[2 * r + h]!, lane, 8 * (4 * h + lane));
          }
          c.get(row).get(rowBytes).i32op('add').set(row);
        }
        c.else();
        for (let r = 0; r < 4; r++) {
          for (let col = 0; col < 8; col++) {
            c.get(ip).i32(r).i32op('add').get(m).i32op('lt_s').get(jp).i32(col).i32op('add').get(n).i32op('lt_s').i32op('and').if();
            storeLane(acc[2 * r + (col >> 2)]!, col & 3, esize * col);
            c.end();
          }
          c.get(row).get(rowBytes).i32op('add').set(row);
        }
        c.end();
        c.get(jp).i32(8).i32op('add').set(jp);
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
