// Contraction kernels for CPU-emulated adapters (lavapipe, SwiftShader): GEMMs with no workgroup memory, each workgroup's rows uniform.
//
// A software adapter runs a workgroup as SIMD lanes of one CPU core: a workgroup-memory read
// at a per-invocation address is a gather, and a barrier suspends and resumes every group of
// lanes. Measured on lavapipe, the tiled form (gemm.ts) spends most of its time in the 4×4
// register block's workgroup-memory gathers (8 per 16 multiply-adds), not in loading tiles.
// This form has neither: a workgroup computes RM rows (taken from its workgroup id, so the
// same in every invocation) by up to 64·RN columns (RN adjacent columns per invocation, the
// invocations' columns interleaved so neighbouring lanes read neighbouring elements). At
// each reduction step the RM row-operand elements sit at uniform addresses — the compiler
// loads each once as a scalar and broadcasts it — and each invocation computes its RN
// column-operand elements itself, from memory, with the prologue fused in. No element is
// shared through workgroup memory, so there is no barrier. Columns and rows past the edge
// are clamped to the last one (computed, never stored), so the loop has no divergent branch.
//
// On a GPU, where workgroup memory is fast and uniform loads gain little, the tiled form is
// the right one; the backend chooses this one only for software adapters (WgslOptions.gemm).

import type { ExprKernel } from '../../kernel/program.js';
import { kernelFlops } from '../cpu/kernel.js';
import { planGemm } from '../cpu/gemm.js';
import { helperSource, indent } from './emit.js';
import { epilogueFunction, operandFunction } from './gemm.js';
import type { MadeKernel } from './kernel.js';
import { loadFunctions, shader, slotTypes } from './kernel.js';
import type { KernelContext } from './lower.js';

/** Rows per workgroup (uniform row operands) and adjacent columns per invocation. */
const RM = 8;
const RN = 4;

/**
 * The invocations of a workgroup: a power of two up to 64 (and the device's limit), at least
 * 8 (a CPU's SIMD width) unless fewer cover the columns, whose workgroups cover the columns
 * with the fewest computed-but-unused ones (ties: the larger), so that 288 columns take 9
 * workgroups of 8 invocations, not 2 of 64.
 */
function invocations(n: number, maxInvocations: number): number {
  const max = Math.min(64, maxInvocations);
  let best = 1;
  while (best < Math.min(8, max) && best * RN < n) best *= 2;
  const padded = (x: number): number => Math.ceil(n / (x * RN)) * x * RN;
  for (let w = best * 2; w <= max && (w / 2) * RN < n; w *= 2) {
    if (padded(w) <= padded(best)) best = w;
  }
  return best;
}

/** The rows-uniform GEMM shader of a contraction kernel, or null when it has no GEMM form or its grid would not fit (the caller then tiles it). */
export function rowsGemmKernel(k: ExprKernel, cx: KernelContext, spaces: readonly number[]): MadeKernel | null {
  const p = planGemm(k);
  if (!p) return null;
  const w = invocations(p.n, cx.limits.maxInvocations);
  const dispatch: [number, number, number] = [Math.ceil(p.n / (w * RN)), Math.ceil(p.m / RM), p.nb];
  if (Math.max(...dispatch) > cx.limits.maxWorkgroupsPerDim) return null;
  const a = operandFunction('opRows', p.rowOperand, p.maskSide === 'rows' ? p.mask : null, p.batch, p.rows, p.reduceVars);
  const b = operandFunction('opCols', p.colOperand, p.maskSide === 'cols' ? p.mask : null, p.batch, p.cols, p.reduceVars);
  const epi = epilogueFunction(k, p, cx);
  const helpers = new Set([...a.em.helpers, ...b.em.helpers, ...epi.em.helpers]);
  const rows = Array.from({ length: RM }, (_, i) => i);
  const cols = Array.from({ length: RN }, (_, j) => j);
  const vec = `vec${RN}f`;
  const main = [
    `@compute @workgroup_size(${w})`,
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {',
    ...indent([
      'let b = i32(wid.z);',
      `let row = i32(wid.y) * ${RM}i;`,
      `let col = i32(wid.x) * ${w * RN}i + i32(li);`,
      ...rows.map((i) => `let r${i} = min(row + ${i}i, ${p.m - 1}i);`),
      ...cols.map((j) => `let c${j} = min(col + ${j * w}i, ${p.n - 1}i);`),
      ...rows.map((i) => `var acc${i} = ${vec}(0.0f);`),
      `for (var kk = 0i; kk < ${p.k}i; kk++) {`,
      ...indent([
        `let bv = ${vec}(${cols.map((j) => `opCols(b, c${j}, kk)`).join(', ')});`,
        ...rows.map((i) => `acc${i} += opRows(b, r${i}, kk) * bv;`),
      ]),
      '}',
      ...rows.flatMap((i) => [
        `if (row + ${i}i < ${p.m}i) {`,
        ...cols.map((j) => `  if (col + ${j * w}i < ${p.n}i) { epilogue(b, row + ${i}i, col + ${j * w}i, acc${i}[${j}]); }`),
        '}',
      ]),
    ]),
    '}',
  ];
  const form = `gemm-rows ${p.m}x${p.n}x${p.k}${p.nb > 1 ? ` x${p.nb}` : ''} block ${RM}x${w * RN}`;
  const source = shader(cx, spaces, form, [helperSource(helpers), loadFunctions(k, cx, slotTypes(k.values)), a.lines, b.lines, epi.lines, main]);
  return { form, source, workgroupSize: [w, 1, 1], dispatch, flops: kernelFlops(k) };
}
