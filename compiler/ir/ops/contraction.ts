// Contractions: batched matmul and 2-D convolution (NCHW input, OIHW weight) with its two gradients, float64 accumulation.

import type { Shape, TensorType } from '../types.js';
import { formatType, numel } from '../types.js';
import { expectDType, expectLength, expectRank, fail, result } from './common.js';
import type { WindowTaps } from './indexing.js';
import { int32Dims, packed, windowTaps } from './indexing.js';
import type { ValueId } from '../graph.js';
import type { Attrs, OpDef, Precision, RefTensor, VjpContext, VjpFn } from './op.js';
import { allocRef, boolAttr, defineOps, intAttr, intsAttr } from './op.js';

/** The ops of this family (see ElementwiseOpName for why they are listed apart). */
export type ContractionOpName = 'matmul' | 'conv2d' | 'conv2d_backward_input' | 'conv2d_backward_filter';

/**
 * The input gradient of a stride-1, undilated, ungrouped convolution with a window of more
 * than one tap, as a matmul and a sum of shifted slices (col2im) instead of one transposed
 * convolution: cols[n, (c, ky, kx), p] = Σ_o w[o, c, ky, kx] · dy[n, o, p] multiplies each
 * weight by each output gradient once, where the transposed convolution visits every
 * (input, tap) pair, padding taps included (an im2col of dy with kh·kw times its elements,
 * mostly zeros near the borders); then dx[n, c, y, x] = Σ_{ky,kx} cols[n, c, ky, kx,
 * y + pt − ky, x + pl − kx] over the taps that land inside dy, which fusion makes one
 * gather kernel. Sums run over o, then over the taps: within a contraction's tolerance of
 * conv2d_backward_input's one sum. Null when the convolution does not qualify.
 */
function inputGradByColumns(ctx: VjpContext, dy: ValueId, w: ValueId, xShape: Shape, attrs: Attrs): ValueId | null {
  const stride = intsAttr(attrs, 'stride');
  const dilation = intsAttr(attrs, 'dilation');
  const [pt, , pl] = intsAttr(attrs, 'padding') as [number, number, number, number];
  const [o, c, kh, kw] = ctx.typeOf(w).shape as [number, number, number, number];
  const [n, , oh, ow] = ctx.typeOf(dy).shape as [number, number, number, number];
  const [, , h, wd] = xShape as [number, number, number, number];
  if (stride.some((s) => s !== 1) || dilation.some((d) => d !== 1) || intAttr(attrs, 'groups') !== 1 || kh * kw === 1) return null;
  const taps = c * kh * kw;
  const wRows = ctx.op('broadcast', [ctx.op('reshape', [w], { shape: [o, taps] })], { shape: [n, o, taps], dims: [1, 2] });
  const dyRows = ctx.op('reshape', [dy], { shape: [n, o, oh * ow] });
  const cols = ctx.op('reshape', [ctx.op('matmul', [wRows, dyRows], { transpose_a: true, transpose_b: false })], { shape: [n, c, kh, kw, oh, ow] });
  let dx: ValueId | null = null;
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      // dy row r lands on input row r + ky − pt: keep the rows that land inside, pad the rest.
      const [r0, r1] = [Math.max(0, pt - ky), Math.min(oh, h + pt - ky)];
      const [c0, c1] = [Math.max(0, pl - kx), Math.min(ow, wd + pl - kx)];
      if (r0 >= r1 || c0 >= c1) continue;
      const tap = ctx.op('slice', [cols], { starts: [0, 0, ky, kx, r0, c0], ends: [n, c, ky + 1, kx + 1, r1, c1], steps: [1, 1, 1, 1, 1, 1] });
      const block = ctx.op('reshape', [tap], { shape: [n, c, r1 - r0, c1 - c0] });
      const [top, left] = [r0 + ky - pt, c0 + kx - pl];
      const placed = ctx.op('pad', [block], { low: [0, 0, top, left], high: [0, 0, h - top - (r1 - r0), wd - left - (c1 - c0)], value: 0 });
      dx = dx === null ? placed : ctx.op('add', [dx, placed]);
    }
  }
  return dx;
}

/** Output extent of a sliding window; null when the window does not fit. */
export function windowExtent(size: number, kernel: number, stride: number, padLow: number, padHigh: number, dilation: number): number | null {
  const span = dilation * (kernel - 1) + 1;
  const room = size + padLow + padHigh - span;
  return room < 0 ? null : Math.floor(room / stride) + 1;
}

/** Checks stride/padding/dilation attribute lists of a 2-D window op. */
export function expectWindowAttrs(stride: readonly number[], padding: readonly number[], dilation: readonly number[]): void {
  expectLength(stride, 2, 'stride');
  expectLength(padding, 4, 'padding [top, bottom, left, right]');
  expectLength(dilation, 2, 'dilation');
  if (stride.some((s) => s < 1)) fail(`stride must be at least 1, got [${stride.join(', ')}]`);
  if (dilation.some((s) => s < 1)) fail(`dilation must be at least 1, got [${dilation.join(', ')}]`);
  if (padding.some((p) => p < 0)) fail(`padding must be non-negative, got [${padding.join(', ')}]`);
}

/**
 * Σ_q a[aAt + q] · b[bAt + q] for q < length, in float64 and increasing q: the innermost
 * loop of every contraction below, over two rows the caller has made contiguous.
 */
function dot(a: Float64Array, aAt: number, b: Float64Array, bAt: number, length: number): number {
  let sum = 0;
  for (let q = 0; q < length; q++) sum += a[aAt + q]! * b[bAt + q]!;
  return sum;
}

/**
 * c[i, j] = Σ_p op(a)[i, p] · op(b)[p, j]: one float64 dot product over p per output element,
 * rounded to f32 once. Per batch, op(a) is copied to float64 rows [m, k] and op(b) to rows
 * [n, k] (transposed), so both dot operands are contiguous whichever way each is stored.
 */
function matmulReference(a: RefTensor, b: RefTensor, attrs: Attrs, out: TensorType, precision: Precision): RefTensor {
  const outDims = int32Dims(out.shape);
  const aDims = int32Dims(a.type.shape);
  const bDims = int32Dims(b.type.shape);
  const rank = outDims.length;
  const m = outDims[rank - 2]!;
  const n = outDims[rank - 1]!;
  const aRows = aDims[rank - 2]!;
  const aCols = aDims[rank - 1]!;
  const bCols = bDims[rank - 1]!;
  const k = boolAttr(attrs, 'transpose_a') ? aRows : aCols;
  // Steps through a along (i, p) and b along (j, p), whichever way each operand is stored.
  const aStrides = boolAttr(attrs, 'transpose_a') ? [1, aCols] : [aCols, 1];
  const bStrides = boolAttr(attrs, 'transpose_b') ? [bCols, 1] : [1, bCols];
  const batches = numel(outDims.slice(0, -2));
  const aSize = aRows * aCols;
  const bSize = bDims[rank - 2]! * bCols;
  const data = allocRef('f32', batches * m * n, precision);
  for (let bt = 0; bt < batches; bt++) {
    const rows = packed(a.data, [m, k], aStrides, bt * aSize);
    const cols = packed(b.data, [n, k], bStrides, bt * bSize);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) data[(bt * m + i) * n + j] = dot(rows, i * k, cols, j * k, k);
    }
  }
  return { type: out, data };
}

/**
 * The sizes of one conv2d, input [n, c, h, w], weight [o, cg, kh, kw], output [n, o, oh, ow],
 * split by group (og output channels per group), with its window taps over one input plane.
 */
interface ConvLayout {
  readonly n: number;
  readonly c: number;
  readonly o: number;
  readonly groups: number;
  readonly cg: number;
  readonly og: number;
  /** Kernel positions kh·kw, input plane size h·w, output plane size oh·ow. */
  readonly kk: number;
  readonly hw: number;
  /** Output positions per row (ow) and in all (oh·ow). */
  readonly ow: number;
  readonly positions: number;
  /**
   * Null when n·o·cg = 0: every result element is then an empty sum (or there is none), and
   * the window, which no product needs, need not be listed.
   */
  readonly taps: WindowTaps | null;
}

function convLayout(x: Shape, w: Shape, y: Shape, attrs: Attrs): ConvLayout {
  const [, c, h, wd] = int32Dims(x) as [number, number, number, number];
  const [, cg, kh, kw] = int32Dims(w) as [number, number, number, number];
  const [n, o, oh, ow] = int32Dims(y) as [number, number, number, number];
  // groups divides o, so `| 0` is exact whenever o > 0 (with o = 0 the ops return before reading it).
  const groups = intAttr(attrs, 'groups') | 0;
  const window = { h, w: wd, oh, ow, kh, kw, stride: intsAttr(attrs, 'stride'), padding: intsAttr(attrs, 'padding'), dilation: intsAttr(attrs, 'dilation') };
  return { n, c, o, groups, cg, og: (o / groups) | 0, kk: kh * kw, hw: h * wd, ow, positions: oh * ow, taps: n * o * cg === 0 ? null : windowTaps(window) };
}

/*
 * The three conv references below compute one sum, y[b, o, p] = Σ_ci Σ_t x[b, ci, at[t]] ·
 * w[o, ci, k[t]] over the channels ci of o's group and the in-bounds taps t of output
 * position p, each for a different unknown. Each runs a dot product innermost, over
 * float64 copies of its operands laid out so that what it sums over is contiguous: a
 * kernel row's taps and channels for conv2d, the output channels for the input gradient,
 * the batch for the filter gradient. Sums are float64; each result element is rounded once.
 */

/**
 * Gathers the windows of output positions p0 ≤ p < p1 into patches laid out like the rows
 * of wR: patches[(p − p0)·kk·cg + k[t]·cg + ci] = xT[at[t]·cg + ci] for each in-bounds tap t
 * of p. Entries of padding taps are left as they were; no sum reads them.
 */
function gatherPatches(xT: Float64Array, taps: WindowTaps, cg: number, kk: number, p0: number, p1: number, patches: Float64Array): void {
  const { start, at, k } = taps;
  for (let p = p0; p < p1; p++) {
    const row = (p - p0) * kk * cg;
    for (let t = start[p]!; t < start[p + 1]!; t++) {
      for (let ci = 0; ci < cg; ci++) patches[row + k[t]! * cg + ci] = xT[at[t]! * cg + ci]!;
    }
  }
}

/**
 * conv2d: y[b, o, p] = Σ_t Σ_ci wR[o, k[t]·cg + ci] · xT[at[t], ci], one output row at a time:
 * its windows are gathered into patches laid out like the weight rows wR, where the
 * in-bounds taps of one kernel row are a contiguous run, so the sum is one dot product per run.
 */
function conv2dReference(x: RefTensor, w: RefTensor, attrs: Attrs, out: TensorType, precision: Precision): RefTensor {
  const l = convLayout(x.type.shape, w.type.shape, out.shape, attrs);
  if (l.taps === null) return { type: out, data: allocRef('f32', numel(out.shape), precision) };
  const { start, k, rowRun } = l.taps;
  const { cg, og, kk, hw, ow, positions } = l;
  const row = kk * cg;
  const data = allocRef('f32', numel(out.shape), precision);
  const patches = new Float64Array(ow * row);
  for (let g = 0; g < l.groups; g++) {
    const wR = packed(w.data, [og, kk, cg], [cg * kk, 1, kk], g * og * cg * kk);
    for (let b = 0; b < l.n; b++) {
      const xT = packed(x.data, [hw, cg], [1, hw], (b * l.c + g * cg) * hw);
      for (let p0 = 0; p0 < positions; p0 += ow) {
        gatherPatches(xT, l.taps, cg, kk, p0, p0 + ow, patches);
        for (let o = 0; o < og; o++) {
          const yAt = (b * l.o + g * og + o) * positions;
          for (let p = p0; p < p0 + ow; p++) {
            const run = rowRun[p]!;
            let sum = 0;
            for (let t = start[p]!; t < start[p + 1]!; t += run) sum += dot(wR, o * row + k[t]! * cg, patches, (p - p0) * row + k[t]! * cg, run * cg);
            data[yAt + p] = sum;
          }
        }
      }
    }
  }
  return { type: out, data };
}

/**
 * conv2d_backward_input: dx[b, ci, at[t]] = Σ_{(p, t)} Σ_o wT[ci, k[t], o] · dyT[b][p, o] over
 * the taps t of positions p that read that input element, the dot product over o.
 */
function convInputGradReference(dy: RefTensor, w: RefTensor, attrs: Attrs, out: TensorType, precision: Precision): RefTensor {
  const l = convLayout(out.shape, w.type.shape, dy.type.shape, attrs);
  if (l.taps === null) return { type: out, data: allocRef('f32', numel(out.shape), precision) };
  const { start, at, k } = l.taps;
  const { cg, og, kk, hw, positions } = l;
  const dx = new Float64Array(numel(out.shape));
  for (let g = 0; g < l.groups; g++) {
    const wT = packed(w.data, [cg, kk, og], [kk, 1, cg * kk], g * og * cg * kk);
    for (let b = 0; b < l.n; b++) {
      const dyT = packed(dy.data, [positions, og], [1, positions], (b * l.o + g * og) * positions);
      for (let p = 0; p < positions; p++) {
        for (let ci = 0; ci < cg; ci++) {
          const plane = (b * l.c + g * cg + ci) * hw;
          for (let t = start[p]!; t < start[p + 1]!; t++) dx[plane + at[t]!]! += dot(wT, (ci * kk + k[t]!) * og, dyT, p * og, og);
        }
      }
    }
  }
  const data = allocRef('f32', dx.length, precision);
  data.set(dx);
  return { type: out, data };
}

/**
 * conv2d_backward_filter: dw[o, ci, k] = Σ_{(p, t) with k[t] = k} Σ_b xB[ci, at[t], b] ·
 * dyB[o, p, b], the dot product over the batch, with both operands copied batch-last.
 */
function convFilterGradReference(x: RefTensor, dy: RefTensor, attrs: Attrs, out: TensorType, precision: Precision): RefTensor {
  const l = convLayout(x.type.shape, out.shape, dy.type.shape, attrs);
  if (l.taps === null) return { type: out, data: allocRef('f32', numel(out.shape), precision) };
  const { start, at, k } = l.taps;
  const { n, cg, og, kk, hw, positions } = l;
  const data = allocRef('f32', numel(out.shape), precision);
  const dw = new Float64Array(kk);
  for (let g = 0; g < l.groups; g++) {
    const xB = packed(x.data, [cg, hw, n], [hw, 1, l.c * hw], g * cg * hw);
    const dyB = packed(dy.data, [og, positions, n], [positions, 1, l.o * positions], g * og * positions);
    for (let o = 0; o < og; o++) {
      for (let ci = 0; ci < cg; ci++) {
        dw.fill(0);
        for (let p = 0; p < positions; p++) {
          for (let t = start[p]!; t < start[p + 1]!; t++) dw[k[t]!]! += dot(xB, (ci * hw + at[t]!) * n, dyB, (o * positions + p) * n, n);
        }
        data.set(dw, ((g * og + o) * cg + ci) * kk);
      }
    }
  }
  return { type: out, data };
}

const CONV_ATTRS = { stride: { kind: 'ints' }, padding: { kind: 'ints' }, dilation: { kind: 'ints' }, groups: { kind: 'int' } } as const;

/**
 * The output shape of conv2d for input x and weight w (checking both), the rule all three
 * conv ops share. `what` names the op in messages.
 */
function convOutputShape(x: TensorType, w: TensorType, attrs: Attrs, what: string): number[] {
  expectDType(x, ['f32'], `${what} input`);
  expectDType(w, ['f32'], `${what} weight`);
  expectRank(x, 4, `${what} input [N, C, H, W]`);
  expectRank(w, 4, `${what} weight [O, C/groups, KH, KW]`);
  const stride = intsAttr(attrs, 'stride');
  const padding = intsAttr(attrs, 'padding');
  const dilation = intsAttr(attrs, 'dilation');
  const groups = intAttr(attrs, 'groups');
  expectWindowAttrs(stride, padding, dilation);
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  if (groups < 1 || c % groups !== 0 || o % groups !== 0) fail(`groups ${groups} must divide input channels ${c} and output channels ${o}`);
  if (cg !== c / groups) fail(`${what} weight ${formatType(w)} expects ${cg * groups} input channels, input ${formatType(x)} has ${c}`);
  const oh = windowExtent(h, kh, stride[0]!, padding[0]!, padding[1]!, dilation[0]!);
  const ow = windowExtent(wd, kw, stride[1]!, padding[2]!, padding[3]!, dilation[1]!);
  if (oh === null || ow === null) fail(`${what} kernel ${kh}x${kw} does not fit input ${h}x${wd} with padding [${padding.join(', ')}]`);
  return [n, o, oh, ow];
}

/** Checks that a conv gradient's cotangent dy has the shape conv2d gives for x and w. */
function expectConvCotangent(dy: TensorType, x: TensorType, w: TensorType, attrs: Attrs, what: string): void {
  expectDType(dy, ['f32'], `${what} output gradient`);
  expectRank(dy, 4, `${what} output gradient [N, O, OH, OW]`);
  const want = convOutputShape(x, w, attrs, what);
  if (want.some((d, i) => d !== dy.shape[i])) fail(`${what}: output gradient ${formatType(dy)} does not match the conv2d output [${want.join(', ')}]`);
}

/** The conv attributes without a gradient op's extra shape attribute. */
function convAttrs(attrs: Attrs): Attrs {
  return { stride: attrs['stride']!, padding: attrs['padding']!, dilation: attrs['dilation']!, groups: attrs['groups']! };
}

/**
 * matmul computes C = op(A)·op(B) with op(M) = M or Mᵀ by the flags; then dop(A) = dC·op(B)ᵀ
 * and dop(B) = op(A)ᵀ·dC, and each is transposed back when its operand was. Each case is one
 * matmul whose flags absorb every transpose.
 */
const matmulVjp: VjpFn = (ctx, [a, b], _y, attrs, dy) => {
  const ta = boolAttr(attrs, 'transpose_a');
  const tb = boolAttr(attrs, 'transpose_b');
  const mm = (l: number, r: number, tl: boolean, tr: boolean): number => ctx.op('matmul', [l, r], { transpose_a: tl, transpose_b: tr });
  return [
    () => (ta ? mm(b!, dy, tb, true) : mm(dy, b!, false, !tb)),
    () => (tb ? mm(dy, a!, true, ta) : mm(a!, dy, !ta, false)),
  ];
};

export const CONTRACTION_OPS: Record<ContractionOpName, OpDef> = defineOps<ContractionOpName>({
  /**
   * matmul {transpose_a, transpose_b}: a [..., m, k] @ b [..., k, n] → [..., m, n]; the
   * flags swap the last two axes of an operand first. Batch axes must be equal.
   */
  matmul: {
    family: 'contraction',
    arity: 2,
    attrs: { transpose_a: { kind: 'bool' }, transpose_b: { kind: 'bool' } },
    tolerance: 'reduction',
    infer([a, b], attrs: Attrs) {
      expectDType(a!, ['f32'], 'left operand');
      expectDType(b!, ['f32'], 'right operand');
      const ra = a!.shape.length;
      const rb = b!.shape.length;
      if (ra < 2 || ra !== rb) fail(`matmul needs operands of equal rank ≥ 2, got ${formatType(a!)} and ${formatType(b!)}`);
      const batch = a!.shape.slice(0, -2);
      if (batch.some((d, i) => d !== b!.shape[i])) fail(`matmul batch axes differ: ${formatType(a!)} and ${formatType(b!)}`);
      const ta = boolAttr(attrs, 'transpose_a');
      const tb = boolAttr(attrs, 'transpose_b');
      const [m, ka] = ta ? [a!.shape[ra - 1]!, a!.shape[ra - 2]!] : [a!.shape[ra - 2]!, a!.shape[ra - 1]!];
      const [kb, n] = tb ? [b!.shape[rb - 1]!, b!.shape[rb - 2]!] : [b!.shape[rb - 2]!, b!.shape[rb - 1]!];
      if (ka !== kb) fail(`matmul inner dimensions differ: ${formatType(a!)} @ ${formatType(b!)} (${ka} vs ${kb})`);
      return result('f32', [...batch, m, n]);
    },
    evaluate: ([a, b], attrs, out, precision) => matmulReference(a!, b!, attrs, out, precision),
    vjp: matmulVjp,
  },

  /**
   * conv2d {stride, padding, dilation, groups}: x [N, C, H, W] * w [O, C/groups, KH, KW]
   * → [N, O, OH, OW]; padding is [top, bottom, left, right] of zeros (cross-correlation, as in
   * every framework).
   */
  conv2d: {
    family: 'contraction',
    arity: 2,
    attrs: CONV_ATTRS,
    tolerance: 'reduction',
    infer: ([x, w], attrs: Attrs) => result('f32', convOutputShape(x!, w!, attrs, 'conv2d')),
    evaluate: ([x, w], attrs, out, precision) => conv2dReference(x!, w!, attrs, out, precision),
    vjp: (ctx, [x, w], _y, attrs, dy) => [
      () => inputGradByColumns(ctx, dy, w!, ctx.typeOf(x!).shape, attrs) ?? ctx.op('conv2d_backward_input', [dy, w!], { ...attrs, input_shape: [...ctx.typeOf(x!).shape] }),
      () => ctx.op('conv2d_backward_filter', [x!, dy], { ...attrs, filter_shape: [...ctx.typeOf(w!).shape] }),
    ],
  },

  /**
   * conv2d_backward_input {stride, padding, dilation, groups, input_shape}: dy [N, O, OH, OW]
   * and w [O, C/groups, KH, KW] → f32[input_shape], the cotangent of conv2d's input: each input
   * element sums dy·w over every (output, tap) pair that read it (a transposed convolution).
   * dy must have the shape conv2d gives for an input of input_shape and w; input_shape is an
   * attribute because with stride > 1 the input's last rows and columns may be read by no tap.
   */
  conv2d_backward_input: {
    family: 'contraction',
    arity: 2,
    attrs: { ...CONV_ATTRS, input_shape: { kind: 'ints' } },
    tolerance: 'reduction',
    infer([dy, w], attrs: Attrs) {
      const shape = intsAttr(attrs, 'input_shape');
      expectLength(shape, 4, 'conv2d_backward_input input_shape');
      const x = result('f32', shape);
      expectConvCotangent(dy!, x, w!, attrs, 'conv2d_backward_input');
      return x;
    },
    evaluate: ([dy, w], attrs, out, precision) => convInputGradReference(dy!, w!, attrs, out, precision),
    /** Linear in each operand: the cotangent g of the input maps back through conv2d itself. */
    vjp: (ctx, [dy, w], _y, attrs, g) => [
      () => ctx.op('conv2d', [g, w!], convAttrs(attrs)),
      () => ctx.op('conv2d_backward_filter', [g, dy!], { ...convAttrs(attrs), filter_shape: [...ctx.typeOf(w!).shape] }),
    ],
  },

  /**
   * conv2d_backward_filter {stride, padding, dilation, groups, filter_shape}: x [N, C, H, W]
   * and dy [N, O, OH, OW] → f32[filter_shape] = [O, C/groups, KH, KW], the cotangent of
   * conv2d's weight: each weight element sums x·dy over every (batch, output position) whose
   * window it weighted. dy must have the shape conv2d gives for x and a weight of filter_shape.
   */
  conv2d_backward_filter: {
    family: 'contraction',
    arity: 2,
    attrs: { ...CONV_ATTRS, filter_shape: { kind: 'ints' } },
    tolerance: 'reduction',
    infer([x, dy], attrs: Attrs) {
      const shape = intsAttr(attrs, 'filter_shape');
      expectLength(shape, 4, 'conv2d_backward_filter filter_shape');
      const w = result('f32', shape);
      expectConvCotangent(dy!, x!, w, attrs, 'conv2d_backward_filter');
      return w;
    },
    evaluate: ([x, dy], attrs, out, precision) => convFilterGradReference(x!, dy!, attrs, out, precision),
    vjp: (ctx, [x, dy], _y, attrs, g) => [
      () => ctx.op('conv2d_backward_input', [dy!, g], { ...convAttrs(attrs), input_shape: [...ctx.typeOf(x!).shape] }),
      () => ctx.op('conv2d', [x!, g], convAttrs(attrs)),
    ],
  },
});
