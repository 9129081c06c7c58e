// Contraction kernels as tiled GEMMs in WGSL: workgroup-memory tiles of both operands, a 4×4 register block per invocation, the epilogue fused.
//
// The GEMM form of a contraction (which index variables are batch, rows, columns and the
// reduction, and which operand the rows read) is the CPU backend's analysis
// (compiler/lower/cpu/gemm.ts, planGemm): the template `sum_K(P · Q)` over an index space that
// splits into batch, then rows only P reads, then columns only Q reads. A conv is an implicit
// GEMM this way — weights [out channel][tap] times image patches [tap][position], the patch
// tile gathered straight from the image (no im2col buffer), padding taps (the template's
// `where`) loaded as zeros.
//
// One workgroup computes a TM×TN tile of C for one batch index (the grid's z): per step of KT
// along the reduction, its invocations load a KT×TM tile of P and a KT×TN tile of Q into
// workgroup memory (each operand element computed by its prologue expression, with the
// index arithmetic of movement ops fused in), then each invocation multiplies a 4×4 block
// from them in registers (four vec4 accumulators). The epilogue (bias, activation, an
// optimizer update fused above the reduction) then runs per output point with the
// accumulator in place of the template. Tiles shrink for small operands (a Dense layer of
// 10 units gets 16-wide tiles) and to fit the workgroup memory and invocation limits.
// Sums run in float32 in k-tile order, so results differ from the reference's float64
// sums within the contraction tolerance of DESIGN.md. At precision f16 the operands are
// computed in f16 and handed to the tiles as f32: products and sums stay f32.

import type { Expr, IndexVar } from '../../kernel/expr.js';
import type { ExprKernel } from '../../kernel/program.js';
import { kernelFlops } from '../cpu/kernel.js';
import type { GemmPlan } from '../cpu/gemm.js';
import { planGemm } from '../cpu/gemm.js';
import type { Precision } from './emit.js';
import { WgslEmitter, conjuncts, helperSource, indent, newBlock, wgslType } from './emit.js';
import type { MadeKernel } from './kernel.js';
import { loadContext, loadFunctions, shader, slotTypes, storeText, unravelLines } from './kernel.js';
import type { KernelContext } from './lower.js';
import { WgslLimitError } from './limits.js';

/** The tile shape of a GEMM kernel. */
export interface Tiling {
  readonly tm: number;
  readonly tn: number;
  readonly kt: number;
}

/** Register block per invocation: 4×4 outputs. */
const R = 4;

/** Tiles of 64, 32 or 16 rows/columns (the smallest that covers a small side), shrunk until the workgroup fits the limits; null when no tile fits. */
export function chooseTiling(m: number, n: number, maxWorkgroupBytes: number, maxInvocations: number): Tiling | null {
  const side = (x: number): number => (x > 32 ? 64 : x > 16 ? 32 : 16);
  let [tm, tn, kt] = [side(m), side(n), 16];
  while ((tm / R) * (tn / R) > maxInvocations && (tm > R || tn > R)) {
    if (tm >= tn && tm > R) tm /= 2;
    else tn /= 2;
  }
  while ((tm + tn) * kt * 4 > maxWorkgroupBytes && kt > 1) kt /= 2;
  while ((tm + tn) * kt * 4 > maxWorkgroupBytes && (tm > R || tn > R)) {
    if (tm >= tn && tm > R) tm /= 2;
    else tn /= 2;
  }
  if ((tm + tn) * kt * 4 > maxWorkgroupBytes || (tm / R) * (tn / R) > maxInvocations) return null;
  return { tm, tn, kt };
}

/** A function `name(b, x, kk) -> f32` computing one operand element: its batch, row (or column) and reduction position decoded into the template's variables. */
export function operandFunction(name: string, operand: Expr, mask: Expr | null, batch: readonly IndexVar[], side: readonly IndexVar[], reduce: readonly IndexVar[], precision: Precision): { lines: string[]; em: WgslEmitter } {
  const tests = conjuncts(mask);
  const em = new WgslEmitter([operand, ...tests], { load: loadContext(), precision });
  const top = newBlock(null);
  const conds = tests.map((c) => em.gen(c, [top], top));
  const value = em.gen(operand, [top], top);
  const lines = [
    `fn ${name}(b: i32, x: i32, kk: i32) -> f32 {`,
    ...indent([
      ...unravelLines(batch, 'b'),
      ...unravelLines(side, 'x'),
      ...unravelLines(reduce, 'kk'),
      ...top.lines,
      ...(conds.length > 0 ? [`if (!(${conds.join(' && ')})) { return 0.0f; }`] : []),
      `return f32(${value});`,
    ]),
    '}',
  ];
  return { lines, em };
}

/** The epilogue at one output point: the kernel's values with the accumulator for the template, stored. */
export function epilogueFunction(k: ExprKernel, p: GemmPlan, cx: KernelContext): { lines: string[]; em: WgslEmitter } {
  // The accumulator is f32; the epilogue computes in the precision's float.
  const acc = wgslType(p.template.type, cx.precision) === 'f16' ? 'f16(acc)' : 'acc';
  const em = new WgslEmitter(k.values, { load: loadContext(), replaced: new Map([[p.template.id, acc]]), precision: cx.precision });
  const top = newBlock(null);
  const ys = k.values.map((v) => {
    const text = em.gen(v, [top], top);
    const y = em.fresh('y');
    top.lines.push(`let ${y} = ${text};`);
    return y;
  });
  const lines = [
    'fn epilogue(b: i32, r: i32, c: i32, acc: f32) {',
    ...indent([
      ...unravelLines(p.batch, 'b'),
      ...unravelLines(p.rows, 'r'),
      ...unravelLines(p.cols, 'c'),
      `let q = (b * ${p.m}i + r) * ${p.n}i + c;`,
      ...top.lines,
      ...k.outputs.map((id, o) => storeText(cx.buffers[id]!, 'q', ys[o]!, cx)),
    ]),
    '}',
  ];
  return { lines, em };
}

/** The tiled GEMM shader of a contraction kernel, or null when it has no GEMM form (it then runs as a point kernel). */
export function gemmKernel(k: ExprKernel, cx: KernelContext, spaces: readonly number[]): MadeKernel | null {
  const p = planGemm(k);
  if (!p) return null;
  const t = chooseTiling(p.m, p.n, cx.limits.maxWorkgroupBytes, cx.limits.maxInvocations);
  if (!t) return null;
  const max = cx.limits.maxWorkgroupsPerDim;
  const dispatch: [number, number, number] = [Math.ceil(p.n / t.tn), Math.ceil(p.m / t.tm), p.nb];
  const worst = Math.max(...dispatch);
  if (worst > max) throw new WgslLimitError('maxComputeWorkgroupsPerDimension', max, worst, k.loc, `contraction ${k.name} (${p.nb}×${p.m}×${p.n}, tiles ${t.tm}×${t.tn})`, 'use a smaller batch or split the layer');
  const { tm, tn, kt } = t;
  const threads = (tm / R) * (tn / R);
  const a = operandFunction('opRows', p.rowOperand, p.maskSide === 'rows' ? p.mask : null, p.batch, p.rows, p.reduceVars, cx.precision);
  const b = operandFunction('opCols', p.colOperand, p.maskSide === 'cols' ? p.mask : null, p.batch, p.cols, p.reduceVars, cx.precision);
  const epi = epilogueFunction(k, p, cx);
  const helpers = new Set([...a.em.helpers, ...b.em.helpers, ...epi.em.helpers]);
  const tileLoad = (tile: string, fn: string, extent: number, size: number): string[] => [
    `for (var i = i32(li); i < ${kt * size}i; i += ${threads}i) {`,
    `  let x = x0${tile} + i % ${size}i;`,
    '  let kk = k0 + i / ' + `${size}i;`,
    '  var v = 0.0f;',
    `  if (x < ${extent}i && kk < ${p.k}i) { v = ${fn}(b, x, kk); }`,
    `  ${tile}[i] = v;`,
    '}',
  ];
  const main = [
    `var<workgroup> ta: array<f32, ${kt * tm}>;`,
    `var<workgroup> tb: array<f32, ${kt * tn}>;`,
    '',
    `@compute @workgroup_size(${tn / R}, ${tm / R})`,
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {',
    ...indent([
      'let b = i32(wid.z);',
      `let x0ta = i32(wid.y) * ${tm}i;`,
      `let x0tb = i32(wid.x) * ${tn}i;`,
      `let tr = i32(lid.y) * ${R}i;`,
      `let tc = i32(lid.x) * ${R}i;`,
      'var c0 = vec4f(0.0f);',
      'var c1 = vec4f(0.0f);',
      'var c2 = vec4f(0.0f);',
      'var c3 = vec4f(0.0f);',
      `for (var k0 = 0i; k0 < ${p.k}i; k0 += ${kt}i) {`,
      ...indent([
        ...tileLoad('ta', 'opRows', p.m, tm),
        ...tileLoad('tb', 'opCols', p.n, tn),
        'workgroupBarrier();',
        `for (var kk = 0i; kk < ${kt}i; kk++) {`,
        `  let av = vec4f(ta[kk * ${tm}i + tr], ta[kk * ${tm}i + tr + 1i], ta[kk * ${tm}i + tr + 2i], ta[kk * ${tm}i + tr + 3i]);`,
        `  let bv = vec4f(tb[kk * ${tn}i + tc], tb[kk * ${tn}i + tc + 1i], tb[kk * ${tn}i + tc + 2i], tb[kk * ${tn}i + tc + 3i]);`,
        '  c0 += av.x * bv;',
        '  c1 += av.y * bv;',
        '  c2 += av.z * bv;',
        '  c3 += av.w * bv;',
        '}',
        'workgroupBarrier();',
      ]),
      '}',
      'var cs = array<vec4f, 4>(c0, c1, c2, c3);',
      `for (var i = 0i; i < ${R}i; i++) {`,
      '  let r = x0ta + tr + i;',
      `  for (var j = 0i; j < ${R}i; j++) {`,
      '    let c = x0tb + tc + j;',
      `    if (r < ${p.m}i && c < ${p.n}i) { epilogue(b, r, c, cs[i][j]); }`,
      '  }',
      '}',
    ]),
    '}',
  ];
  const form = `gemm ${p.m}x${p.n}x${p.k}${p.nb > 1 ? ` x${p.nb}` : ''} tiles ${tm}x${tn}x${kt}`;
  const source = shader(cx, spaces, form, [helperSource(helpers), loadFunctions(k, cx, slotTypes(k.values)), a.lines, b.lines, epi.lines, main]);
  return { form, source, workgroupSize: [tn / R, tm / R, 1], dispatch, flops: kernelFlops(k) };
}
