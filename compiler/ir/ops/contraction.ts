// Contractions: batched matmul and 2-D convolution (NCHW input, OIHW weight) with its two gradients, float64 accumulation.

import type { Shape, TensorType } from '../types.js';
import { formatType, numel } from '../types.js';
import { expectDType, expectLength, expectRank, fail, result } from './common.js';
import type { Attrs, OpDef, Precision, RefTensor, VjpFn } from './op.js';
import { allocRef, boolAttr, defineOps, intAttr, intsAttr } from './op.js';

/** The ops of this family (see ElementwiseOpName for why they are listed apart). */
export type ContractionOpName = 'matmul' | 'conv2d' | 'conv2d_backward_input' | 'conv2d_backward_filter';

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

/** Each output element is one float64 dot product over k, rounded to f32 once. */
function matmulReference(a: RefTensor, b: RefTensor, attrs: Attrs, out: TensorType, precision: Precision): RefTensor {
  const rank = out.shape.length;
  const m = out.shape[rank - 2]!;
  const n = out.shape[rank - 1]!;
  const aRows = a.type.shape[rank - 2]!;
  const aCols = a.type.shape[rank - 1]!;
  const bCols = b.type.shape[rank - 1]!;
  const k = boolAttr(attrs, 'transpose_a') ? aRows : aCols;
  // Steps through a along (i, p) and b along (p, j), whichever way each operand is stored.
  const [aI, aP] = boolAttr(attrs, 'transpose_a') ? [1, aCols] : [aCols, 1];
  const [bP, bJ] = boolAttr(attrs, 'transpose_b') ? [1, bCols] : [bCols, 1];
  const batches = numel(out.shape.slice(0, -2));
  const aSize = aRows * aCols;
  const bSize = b.type.shape[rank - 2]! * bCols;
  const data = allocRef('f32', batches * m * n, precision);
  for (let bt = 0; bt < batches; bt++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a.data[bt * aSize + i * aI + p * aP]! * b.data[bt * bSize + p * bP + j * bJ]!;
        data[(bt * m + i) * n + j] = acc;
      }
    }
  }
  return { type: out, data };
}

/** The geometry of one conv2d: input [n, c, h, w], weight [o, cg, kh, kw], output [n, o, oh, ow]. */
interface ConvGeometry {
  readonly x: readonly [number, number, number, number];
  readonly w: readonly [number, number, number, number];
  readonly y: readonly [number, number, number, number];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation: readonly number[];
  readonly groups: number;
}

function convGeometry(x: Shape, w: Shape, y: Shape, attrs: Attrs): ConvGeometry {
  return {
    x: x as ConvGeometry['x'],
    w: w as ConvGeometry['w'],
    y: y as ConvGeometry['y'],
    stride: intsAttr(attrs, 'stride'),
    padding: intsAttr(attrs, 'padding'),
    dilation: intsAttr(attrs, 'dilation'),
    groups: intAttr(attrs, 'groups'),
  };
}

/** Direct loops over the window; taps that fall in the zero padding are skipped. */
function conv2dReference(x: RefTensor, w: RefTensor, attrs: Attrs, out: TensorType, precision: Precision): RefTensor {
  const [sh, sw] = intsAttr(attrs, 'stride') as [number, number];
  const [pt, , pl] = intsAttr(attrs, 'padding') as [number, number, number, number];
  const [dh, dw] = intsAttr(attrs, 'dilation') as [number, number];
  const groups = intAttr(attrs, 'groups');
  const [, c, h, wd] = x.type.shape as [number, number, number, number];
  const [, cg, kh, kw] = w.type.shape as [number, number, number, number];
  const [n, o, oh, ow] = out.shape as [number, number, number, number];
  const perGroup = o / groups;
  const data = allocRef('f32', n * o * oh * ow, precision);
  let at = 0;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const firstChannel = Math.floor(oc / perGroup) * cg;
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          let acc = 0;
          for (let ci = 0; ci < cg; ci++) {
            const plane = (b * c + firstChannel + ci) * h;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xo * sw - pl + kx * dw;
                if (ix < 0 || ix >= wd) continue;
                acc += x.data[(plane + iy) * wd + ix]! * w.data[((oc * cg + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
          data[at++] = acc;
        }
      }
    }
  }
  return { type: out, data };
}

/**
 * Calls `tap(xAt, wAt, yAt)` with the flat offsets of every (input, weight, output) triple
 * conv2d multiplies, in the order conv2dReference visits them; taps that fall in the zero
 * padding are skipped. Both gradients are this walk, accumulating into a different operand.
 */
function forEachTap(g: ConvGeometry, tap: (xAt: number, wAt: number, yAt: number) => void): void {
  const [sh, sw] = g.stride as [number, number];
  const [pt, , pl] = g.padding as [number, number, number, number];
  const [dh, dw] = g.dilation as [number, number];
  const [, c, h, wd] = g.x;
  const [, cg, kh, kw] = g.w;
  const [n, o, oh, ow] = g.y;
  const perGroup = o / g.groups;
  let yAt = 0;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const firstChannel = Math.floor(oc / perGroup) * cg;
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++, yAt++) {
          for (let ci = 0; ci < cg; ci++) {
            const plane = (b * c + firstChannel + ci) * h;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xo * sw - pl + kx * dw;
                if (ix < 0 || ix >= wd) continue;
                tap((plane + iy) * wd + ix, ((oc * cg + ci) * kh + ky) * kw + kx, yAt);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * The two conv2d gradients: each result element is a float64 sum of products of the other
 * two operands over the taps that touch it, in forEachTap's order, rounded once.
 */
function convGradReference(which: 'input' | 'filter', a: RefTensor, b: RefTensor, attrs: Attrs, out: TensorType, precision: Precision): RefTensor {
  const acc = new Float64Array(numel(out.shape));
  if (which === 'input') {
    forEachTap(convGeometry(out.shape, b.type.shape, a.type.shape, attrs), (xAt, wAt, yAt) => {
      acc[xAt]! += a.data[yAt]! * b.data[wAt]!;
    });
  } else {
    forEachTap(convGeometry(a.type.shape, out.shape, b.type.shape, attrs), (xAt, wAt, yAt) => {
      acc[wAt]! += a.data[xAt]! * b.data[yAt]!;
    });
  }
  const data = allocRef('f32', acc.length, precision);
  data.set(acc);
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
      () => ctx.op('conv2d_backward_input', [dy, w!], { ...attrs, input_shape: [...ctx.typeOf(x!).shape] }),
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
    evaluate: ([dy, w], attrs, out, precision) => convGradReference('input', dy!, w!, attrs, out, precision),
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
    evaluate: ([x, dy], attrs, out, precision) => convGradReference('filter', x!, dy!, attrs, out, precision),
    vjp: (ctx, [x, dy], _y, attrs, g) => [
      () => ctx.op('conv2d_backward_input', [dy!, g], { ...convAttrs(attrs), input_shape: [...ctx.typeOf(x!).shape] }),
      () => ctx.op('conv2d', [x!, g], convAttrs(attrs)),
    ],
  },
});
