// Contraction kernels for CPU-emulated adapters (lavapipe, SwiftShader): GEMMs with no workgroup memory, one operand uniform over each workgroup.
//
// A software adapter runs a workgroup as SIMD lanes of one CPU core: a workgroup-memory read
// at a per-invocation address is a gather, and a barrier suspends and resumes every group of
// lanes. Measured on lavapipe, the tiled form (gemm.ts) spends most of its time in the 4×4
// register block's workgroup-memory gathers (8 per 16 multiply-adds), not in loading tiles.
// This form has neither. A workgroup computes RM = 8 indices of one side (rows or columns),
// taken from its workgroup id and so the same in every invocation, by up to 64·RN indices of
// the other side (RN = 4 per invocation, interleaved so neighbouring lanes read neighbouring
// elements). At each reduction step every invocation computes its RN lane-side operand
// elements and the RM uniform-side ones from memory, the prologue fused in, and does RM·RN
// multiply-adds; nothing is shared through workgroup memory, so there is no barrier. Indices
// past the edge are clamped to the last one (computed, never stored): no divergent branch.
//
// The uniform side is the operand with fewer memory reads per element (rows on a tie): it is
// computed RM times per step, the lane side RN times. Measured on the Fashion CNN's train
// step: the filter gradients (image patches uniform, the ReLU-masked output gradient, three
// reads, on the lanes) ran 1.3–1.7× faster so, the input gradient 1.7× faster the other way
// round. RM = 8 beat 4 and 16 (64 accumulators an invocation), RN = 4 beat 2.
//
// With subgroup operations (WgslOptions.subgroups) the uniform side is computed once per step
// per subgroup, lane i computing element i and subgroupBroadcast handing it to every lane: a
// software adapter loads a value that is the same in every lane once per lane, so this cuts
// the uniform side's loads RM-fold. Measured on lavapipe (subgroups of 8): the Fashion CNN's
// three large convolution GEMMs ran 2.2–2.5× faster, its train step 1.7×.
//
// On a GPU, where workgroup memory is fast, the tiled form is the right one; the backend
// chooses this one only for software adapters (WgslOptions.gemm).

import type { Expr } from '../../kernel/expr.js';
import type { ExprKernel } from '../../kernel/program.js';
import { kernelFlops } from '../cpu/kernel.js';
import { planGemm } from '../cpu/gemm.js';
import { helperSource, indent } from './emit.js';
import { epilogueFunction, operandFunction } from './gemm.js';
import type { MadeKernel } from './kernel.js';
import { loadFunctions, shader, slotTypes } from './kernel.js';
import type { KernelContext } from './lower.js';

/** Uniform-side indices per workgroup, and lane-side indices per invocation. */
const RM = 8;
const RN = 4;
/** Lanes 0…RM-1 of a subgroup, as the first word of a ballot. */
const LANES_MASK = `0x${(2 ** RM - 1).toString(16)}`;

/**
 * The invocations of a workgroup: a power of two up to 64 (and the device's limit), at least
 * 8 (a CPU's SIMD width) unless fewer cover the lane side's n indices, whose workgroups
 * cover them with the fewest computed-but-unused ones (ties: the larger), so that 288
 * columns take 9 workgroups of 8 invocations, not 2 of 64.
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

/** The memory reads of an operand element (distinct loads of its expression): what it costs to compute. */
function loads(e: Expr): number {
  const seen = new Set<number>();
  let n = 0;
  const stack = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (seen.has(x.id)) continue;
    seen.add(x.id);
    if (x.kind === 'load') n++;
    if (x.kind === 'load') stack.push(x.offset);
    else if (x.kind === 'unary' || x.kind === 'cast') stack.push(x.x);
    else if (x.kind === 'binary') stack.push(x.a, x.b);
    else if (x.kind === 'select') stack.push(x.cond, x.a, x.b);
    else if (x.kind === 'reduce') stack.push(x.body, ...(x.where ? [x.where] : []), ...(x.init ? [x.init] : []));
  }
  return n;
}

/** The software-adapter GEMM shader of a contraction kernel, or null when it has no GEMM form or its grid would not fit (the caller then tiles it). */
export function rowsGemmKernel(k: ExprKernel, cx: KernelContext, spaces: readonly number[]): MadeKernel | null {
  const p = planGemm(k);
  if (!p) return null;
  const uniform = loads(p.colOperand) < loads(p.rowOperand) ? 'cols' : 'rows';
  const [uExt, lExt, uFn, lFn] = uniform === 'rows' ? [p.m, p.n, 'opRows', 'opCols'] : [p.n, p.m, 'opCols', 'opRows'];
  // A batched GEMM whose uniform side is the same in every batch (a convolution's weights)
  // runs its batches side by side on the lanes: lane index f is batch f / lExt, index f % lExt,
  // so a small lane side (a 3×3 output's 9 columns) still fills the workgroups.
  const fold = p.nb > 1 && !(uniform === 'rows' ? p.rowsPerBatch : p.colsPerBatch);
  const fExt = fold ? p.nb * lExt : lExt;
  // Subgroup broadcasts need RM lanes, so with them a workgroup has at least RM invocations.
  const w = Math.max(invocations(fExt, cx.limits.maxInvocations), cx.subgroups ? Math.min(RM, cx.limits.maxInvocations) : 1);
  const dispatch: [number, number, number] = [Math.ceil(fExt / (w * RN)), Math.ceil(uExt / RM), fold ? 1 : p.nb];
  if (Math.max(...dispatch) > cx.limits.maxWorkgroupsPerDim) return null;
  const a = operandFunction('opRows', p.rowOperand, p.maskSide === 'rows' ? p.mask : null, p.batch, p.rows, p.reduceVars, cx.precision);
  const b = operandFunction('opCols', p.colOperand, p.maskSide === 'cols' ? p.mask : null, p.batch, p.cols, p.reduceVars, cx.precision);
  const epi = epilogueFunction(k, p, cx);
  const helpers = new Set([...a.em.helpers, ...b.em.helpers, ...epi.em.helpers]);
  const us = Array.from({ length: RM }, (_, i) => i);
  const ls = Array.from({ length: RN }, (_, j) => j);
  const vec = `vec${RN}f`;
  /** The batch of lane-side index j: the workgroup's, or the lane's own when batches are folded into lanes. */
  const batchOf = (j: number): string => (fold ? `b${j}` : 'b');
  const store = (i: number, j: number): string => {
    const [u, l] = [`ub + ${i}i`, `l${j}`];
    return `epilogue(${batchOf(j)}, ${uniform === 'rows' ? `${u}, ${l}` : `${l}, ${u}`}, acc${i}[${j}]);`;
  };
  const loop = (uniformOperand: (i: number) => string, before: string[] = []): string[] => [
    `for (var kk = 0i; kk < ${p.k}i; kk++) {`,
    ...indent([...before, `let lv = ${vec}(${ls.map((j) => `${lFn}(${batchOf(j)}, l${j}, kk)`).join(', ')});`, ...us.map((i) => `acc${i} += ${uniformOperand(i)} * lv;`)]),
    '}',
  ];
  const plain = loop((i) => `${uFn}(b, u${i}, kk)`);
  // With subgroups, lane i of each subgroup computes the uniform side's element i and hands it
  // to the others (subgroupBroadcast): one load per step where every lane computing all RM
  // was RM (a software adapter does not share a load that is the same in every lane). It
  // needs lanes 0…RM-1 of the subgroup active, which WGSL does not promise, so the ballot
  // checks it and a subgroup without them runs the plain loop.
  const body = cx.subgroups
    ? [
        `let uLane = min(ub + i32(sid), ${uExt - 1}i);`,
        `let lanes = (subgroupBallot(true).x & ${LANES_MASK}u) == ${LANES_MASK}u;`,
        '@diagnostic(off, subgroup_uniformity) if (lanes) {',
        ...indent(loop((i) => `subgroupBroadcast(uv, ${i}u)`, [`let uv = ${uFn}(b, uLane, kk);`])),
        '} else {',
        ...indent(plain),
        '}',
      ]
    : plain;
  const main = [
    `@compute @workgroup_size(${w})`,
    `fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32${cx.subgroups ? ', @builtin(subgroup_invocation_id) sid: u32' : ''}) {`,
    ...indent([
      // The uniform side reads no batch index when batches are folded into lanes.
      `let b = ${fold ? '0i' : 'i32(wid.z)'};`,
      `let ub = i32(wid.y) * ${RM}i;`,
      `let lb = i32(wid.x) * ${w * RN}i + i32(li);`,
      ...us.map((i) => `let u${i} = min(ub + ${i}i, ${uExt - 1}i);`),
      ...ls.flatMap((j) =>
        fold
          ? [`let f${j} = min(lb + ${j * w}i, ${fExt - 1}i);`, `let b${j} = f${j} / ${lExt}i;`, `let l${j} = f${j} % ${lExt}i;`]
          : [`let l${j} = min(lb + ${j * w}i, ${lExt - 1}i);`],
      ),
      ...us.map((i) => `var acc${i} = ${vec}(0.0f);`),
      ...body,
      ...us.flatMap((i) => [
        `if (ub + ${i}i < ${uExt}i) {`,
        ...ls.map((j) => `  if (lb + ${j * w}i < ${fExt}i) { ${store(i, j)} }`),
        '}',
      ]),
    ]),
    '}',
  ];
  const form = `gemm-rows ${p.m}x${p.n}x${p.k}${p.nb > 1 ? ` x${p.nb}` : ''} block ${RM}x${w * RN}, uniform ${uniform}${fold ? ', batches on lanes' : ''}${cx.subgroups ? ', broadcast' : ''}`;
  const extensions = cx.subgroups ? (['subgroups'] as const) : [];
  const source = shader(cx, spaces, form, [helperSource(helpers), loadFunctions(k, cx, slotTypes(k.values)), a.lines, b.lines, epi.lines, main], extensions);
  return { form, source, workgroupSize: [w, 1, 1], dispatch, flops: kernelFlops(k), extensions };
}
