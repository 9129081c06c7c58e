// How each graph op computes one output element as a kernel expression: the table fusion and the kernel builder read.
//
// An op's lowering receives one accessor per input (multi-index → element expression) and
// returns the accessor of its output, so lowerings compose: fusing ops is composing their
// accessors, and a movement op is only index arithmetic on its input's accessor. Every
// lowering reproduces its op's reference semantics exactly, including where the reference
// rounds to float32 (f32 expressions round after every operation; reductions and
// contractions accumulate in f64 as the reference does, summing in the reference's order
// where the order is observable). An op with no entry here runs as an opaque kernel (its
// reference semantics on whole buffers); a new op needs at most one entry.
//
// `cls` tells fusion what kind of work an op is: elementwise (reads each input at the output's
// own index), view (index arithmetic only; `injective` when no input element is read twice),
// reduce (a reduction per output element) or contraction (a GEMM-shaped reduction of products
// of two operands, which backends tile).

import type { Attrs } from '../ir/ops/op.js';
import type { OpName } from '../ir/ops/registry.js';
import type { DType, Shape, TensorType } from '../ir/types.js';
import { stridesOf } from '../ir/types.js';
import type { BinaryFn, EType, Expr, ExprBuilder, IndexVar, UnaryFn } from './expr.js';

/** An element of a tensor at a multi-index (one expression per axis). */
export type Access = (idx: readonly Expr[]) => Expr;

export type FusionClass = 'elementwise' | 'view' | 'reduce' | 'contraction';

export interface OpLowering {
  readonly cls: FusionClass;
  /** Reductions one output element of the op computes at most (softmax: a max and a sum; pool gradients over non-overlapping windows skip the sum over windows); 0 when omitted. Fusion budgets workgroup memory with it. */
  readonly reductions?: number;
  /** For views: whether each input element is read at most once (a broadcast or gather repeats reads). */
  readonly injective?: boolean;
  lower(e: ExprBuilder, inputs: readonly Access[], inTypes: readonly TensorType[], attrs: Attrs, out: TensorType): Access;
}

export function etype(d: DType): EType {
  return d;
}

/** The row-major offset of a multi-index. */
export function ravel(e: ExprBuilder, idx: readonly Expr[], shape: Shape): Expr {
  const strides = stridesOf(shape);
  return e.combine(idx.flatMap((x, k) => (shape[k] === 1 ? [] : [[x, strides[k]!] as const])));
}

/** The multi-index of a row-major offset. */
export function unravel(e: ExprBuilder, flat: Expr, shape: Shape): Expr[] {
  const strides = stridesOf(shape);
  return shape.map((d, k) => (d === 1 ? e.int(0) : e.mod(e.floordiv(flat, strides[k]!), d)));
}

const ints = (attrs: Attrs, key: string): readonly number[] => attrs[key] as readonly number[];
const int = (attrs: Attrs, key: string): number => attrs[key] as number;

/** Fresh reduction variables, one per extent, with their expressions. */
function vars(e: ExprBuilder, extents: readonly number[]): { vs: IndexVar[]; xs: Expr[] } {
  const vs = extents.map((n) => e.newVar(n));
  return { vs, xs: vs.map((v) => e.v(v)) };
}

function unary(fn: UnaryFn): OpLowering {
  return { cls: 'elementwise', lower: (e, [x]) => (idx) => e.unary(fn, x!(idx)) };
}

function binary(fn: BinaryFn): OpLowering {
  return { cls: 'elementwise', lower: (e, [a, b]) => (idx) => e.binary(fn, a!(idx), b!(idx)) };
}

/** An f32 element widened to f64, so that products and sums happen in float64 as in the reference. */
function wide(e: ExprBuilder, x: Expr): Expr {
  return e.cast(x, 'f64');
}

function product(e: ExprBuilder, a: Expr, b: Expr): Expr {
  return e.binary('mul', wide(e, a), wide(e, b));
}

/**
 * The input position a window tap reads: `o·stride − padLow + tap·dilation`, and whether it
 * falls inside [0, size) (taps in the padding are skipped).
 */
function tap(e: ExprBuilder, o: Expr, t: Expr, stride: number, padLow: number, dilation: number, size: number): { at: Expr; inside: Expr } {
  const at = e.add(e.affine(o, stride, -padLow), e.mul(t, e.int(dilation)));
  return { at, inside: e.inRange(at, size) };
}

/**
 * For a gradient that scatters back through a window: the output position `o` whose window
 * put tap `t` on input position `i` (`o·stride − padLow + t·dilation = i`), and whether it
 * exists: the division is exact and o is within [0, outSize).
 */
function windowOf(e: ExprBuilder, i: Expr, t: Expr, stride: number, padLow: number, dilation: number, outSize: number): { o: Expr; valid: Expr } {
  const num = e.add(e.affine(i, 1, padLow), e.mul(t, e.int(-dilation)));
  const o = e.floordiv(num, stride);
  const exact = e.binary('equal', e.mod(num, stride), e.int(0));
  const valid = e.and(e.and(e.unary('not', e.binary('less', num, e.int(0))), exact), e.binary('less', o, e.int(outSize)));
  return { o, valid };
}

/** Pooling windows: tap positions and their clip test for output (oy, ox), kernel (ky, kx). */
function poolTaps(e: ExprBuilder, attrs: Attrs, x: Shape, oy: Expr, ox: Expr, ky: Expr, kx: Expr): { iy: Expr; ix: Expr; inside: Expr } {
  const [sh, sw] = ints(attrs, 'stride') as [number, number];
  const [pt, , pl] = ints(attrs, 'padding') as [number, number, number, number];
  const y = tap(e, oy, ky, sh, pt, 1, x[2]!);
  const xx = tap(e, ox, kx, sw, pl, 1, x[3]!);
  return { iy: y.at, ix: xx.at, inside: e.and(y.inside, xx.inside) };
}

/** The number of input elements in the clipped pooling window of output (oy, ox), as f64. */
function windowCount(e: ExprBuilder, attrs: Attrs, x: Shape, oy: Expr, ox: Expr): Expr {
  const [kh, kw] = ints(attrs, 'kernel') as [number, number];
  const [sh, sw] = ints(attrs, 'stride') as [number, number];
  const [pt, , pl] = ints(attrs, 'padding') as [number, number, number, number];
  const extent = (o: Expr, s: number, p: number, k: number, size: number): Expr => {
    const start = e.affine(o, s, -p);
    const hi = e.min(e.add(start, e.int(k)), e.int(size));
    return e.binary('sub', hi, e.max(start, e.int(0)));
  };
  return e.cast(e.mul(extent(oy, sh, pt, kh, x[2]!), extent(ox, sw, pl, kw, x[3]!)), 'f64');
}

/**
 * Pooling gradients: for input position (h, w), the windows (oy, ox) that cover it, visited
 * in increasing (oy, ox) as the reference visits windows, so float64 sums match it exactly.
 */
function poolBackward(e: ExprBuilder, attrs: Attrs, dyShape: Shape, idx: readonly Expr[], body: (oy: Expr, ox: Expr, ky: Expr, kx: Expr) => { value: Expr; keep: Expr }): Expr {
  const [kh, kw] = ints(attrs, 'kernel') as [number, number];
  const [sh, sw] = ints(attrs, 'stride') as [number, number];
  const [pt, pb, pl, pr] = ints(attrs, 'padding') as [number, number, number, number];
  if (sh === kh && sw === kw && pt === 0 && pb === 0 && pl === 0 && pr === 0) {
    // Windows tile the input without overlap: an element lies in at most one window, found
    // by division, so there is no sum over covering windows (the reference's one-term sum,
    // in float64 then cast, is the term itself).
    const inWindow = (i: Expr, k: number, size: number) => ({ o: e.floordiv(i, k), t: e.mod(i, k), valid: e.binary('less', e.floordiv(i, k), e.int(size)) });
    const y = inWindow(idx[2]!, kh, dyShape[2]!);
    const x = inWindow(idx[3]!, kw, dyShape[3]!);
    const { value, keep } = body(e.clamp(y.o, 0, dyShape[2]! - 1), e.clamp(x.o, 0, dyShape[3]! - 1), y.t, x.t);
    return e.cast(e.select(e.and(e.and(y.valid, x.valid), keep), value, e.const(0, 'f64')), 'f32');
  }
  const { vs, xs } = vars(e, [kh, kw]);
  // Taps taken in reverse, so that the window index increases along the reduction.
  const ky = e.affine(xs[0]!, -1, kh - 1);
  const kx = e.affine(xs[1]!, -1, kw - 1);
  const wy = windowOf(e, idx[2]!, ky, sh, pt, 1, dyShape[2]!);
  const wx = windowOf(e, idx[3]!, kx, sw, pl, 1, dyShape[3]!);
  const oy = e.clamp(wy.o, 0, dyShape[2]! - 1);
  const ox = e.clamp(wx.o, 0, dyShape[3]! - 1);
  const { value, keep } = body(oy, ox, ky, kx);
  return e.cast(e.reduce('sum', vs, value, 'f64', e.and(e.and(wy.valid, wx.valid), keep)), 'f32');
}

function softmaxLike(kind: 'softmax' | 'log_softmax'): OpLowering {
  return {
    cls: 'reduce',
    reductions: 2,
    lower: (e, [x], [t], attrs) => (idx) => {
      const axis = int(attrs, 'axis');
      const along = (r: Expr): Expr[] => idx.map((v, k) => (k === axis ? r : v));
      const m = vars(e, [t!.shape[axis]!]);
      const max = wide(e, e.reduce('max', m.vs, x!(along(m.xs[0]!)), 'f32'));
      const s = vars(e, [t!.shape[axis]!]);
      const sum = e.reduce('sum', s.vs, e.unary('exp', e.binary('sub', wide(e, x!(along(s.xs[0]!))), max)), 'f64');
      const shifted = e.binary('sub', wide(e, x!(idx)), max);
      const y = kind === 'softmax' ? e.binary('div', e.unary('exp', shifted), sum) : e.binary('sub', shifted, e.unary('log', sum));
      return e.cast(y, 'f32');
    },
  };
}

function reduction(fn: 'sum' | 'mean' | 'max'): OpLowering {
  return {
    cls: 'reduce',
    reductions: 1,
    lower: (e, [x], [t], attrs, out) => (idx) => {
      const axes = ints(attrs, 'axes');
      const keep = attrs['keepdims'] as boolean;
      const r = vars(e, axes.map((a) => t!.shape[a]!));
      let k = 0;
      const inIdx = t!.shape.map((_, a) => {
        const j = axes.indexOf(a);
        if (j >= 0) {
          if (keep) k++;
          return r.xs[j]!;
        }
        return idx[k++]!;
      });
      return e.reduce(fn, r.vs, x!(inIdx), etype(out.dtype));
    },
  };
}

export const LOWERINGS: Readonly<Partial<Record<OpName, OpLowering>>> = {
  neg: unary('neg'),
  abs: unary('abs'),
  exp: unary('exp'),
  log: unary('log'),
  sqrt: unary('sqrt'),
  rsqrt: unary('rsqrt'),
  relu: unary('relu'),
  sigmoid: unary('sigmoid'),
  tanh: unary('tanh'),
  gelu: unary('gelu'),
  add: binary('add'),
  sub: binary('sub'),
  mul: binary('mul'),
  div: binary('div'),
  maximum: binary('maximum'),
  minimum: binary('minimum'),
  pow: binary('pow'),
  greater: binary('greater'),
  less: binary('less'),
  equal: binary('equal'),
  select: { cls: 'elementwise', lower: (e, [c, a, b]) => (idx) => e.select(c!(idx), a!(idx), b!(idx)) },
  cast: { cls: 'elementwise', lower: (e, [x], _t, _a, out) => (idx) => e.cast(x!(idx), etype(out.dtype)) },
  constant: { cls: 'elementwise', lower: (e, _x, _t, attrs, out) => () => e.const(attrs['value'] as number, etype(out.dtype)) },

  sum: reduction('sum'),
  mean: reduction('mean'),
  max: reduction('max'),
  argmax: {
    cls: 'reduce',
    reductions: 1,
    lower: (e, [x], [t], attrs) => (idx) => {
      const axis = int(attrs, 'axis');
      const keep = attrs['keepdims'] as boolean;
      const r = vars(e, [t!.shape[axis]!]);
      const outer = keep ? idx.filter((_, k) => k !== axis) : idx;
      const inIdx = [...outer.slice(0, axis), r.xs[0]!, ...outer.slice(axis)];
      return e.reduce('argmax', r.vs, x!(inIdx), 'i32');
    },
  },

  reshape: {
    cls: 'view',
    injective: true,
    lower: (e, [x], [t], _a, out) => (idx) => x!(unravel(e, ravel(e, idx, out.shape), t!.shape)),
  },
  transpose: {
    cls: 'view',
    injective: true,
    lower: (_e, [x], _t, attrs) => (idx) => {
      const perm = ints(attrs, 'perm');
      const inIdx = new Array<Expr>(perm.length);
      perm.forEach((p, i) => (inIdx[p] = idx[i]!));
      return x!(inIdx);
    },
  },
  broadcast: {
    cls: 'view',
    injective: false,
    lower: (e, [x], [t], attrs) => (idx) => x!(ints(attrs, 'dims').map((d, i) => (t!.shape[i] === 1 ? e.int(0) : idx[d]!))),
  },
  slice: {
    cls: 'view',
    injective: true,
    lower: (e, [x], _t, attrs) => (idx) => x!(idx.map((v, k) => e.affine(v, ints(attrs, 'steps')[k]!, ints(attrs, 'starts')[k]!))),
  },
  pad: {
    cls: 'view',
    injective: true,
    lower: (e, [x], [t], attrs, out) => (idx) => {
      const low = ints(attrs, 'low');
      const at = idx.map((v, k) => e.affine(v, 1, -low[k]!));
      let inside = e.const(1, 'bool');
      at.forEach((a, k) => (inside = e.and(inside, e.inRange(a, t!.shape[k]!))));
      const clamped = at.map((a, k) => e.clamp(a, 0, t!.shape[k]! - 1));
      return e.select(inside, x!(clamped), e.const(attrs['value'] as number, etype(out.dtype)));
    },
  },
  concat: {
    cls: 'view',
    injective: true,
    lower: (e, xs, ts, attrs) => (idx) => {
      const axis = int(attrs, 'axis');
      const starts: number[] = [];
      ts.reduce((s, t) => (starts.push(s), s + t.shape[axis]!), 0);
      const part = (p: number): Expr => xs[p]!(idx.map((v, k) => (k === axis ? e.clamp(e.affine(v, 1, -starts[p]!), 0, ts[p]!.shape[axis]! - 1) : v)));
      let acc = part(xs.length - 1);
      for (let p = xs.length - 2; p >= 0; p--) acc = e.select(e.binary('less', idx[axis]!, e.int(starts[p + 1]!)), part(p), acc);
      return acc;
    },
  },
  gather: {
    cls: 'view',
    injective: false,
    lower: (e, [x, ind], [t, it], attrs) => (idx) => {
      const axis = int(attrs, 'axis');
      const r = it!.shape.length;
      const picked = e.clamp(ind!(idx.slice(axis, axis + r)), 0, t!.shape[axis]! - 1);
      return x!([...idx.slice(0, axis), picked, ...idx.slice(axis + r)]);
    },
  },
  /** x plus, in index order, every update whose clamped index lands here (the reference's order). */
  scatter_add: {
    cls: 'reduce',
    reductions: 1,
    lower: (e, [x, ind, upd], [t, it], attrs) => (idx) => {
      const axis = int(attrs, 'axis');
      const j = vars(e, it!.shape);
      const lands = e.binary('equal', e.clamp(ind!(j.xs), 0, t!.shape[axis]! - 1), idx[axis]!);
      const u = upd!([...idx.slice(0, axis), ...j.xs, ...idx.slice(axis + 1)]);
      return e.cast(e.reduce('sum', j.vs, wide(e, u), 'f64', lands, wide(e, x!(idx))), 'f32');
    },
  },

  matmul: {
    cls: 'contraction',
    reductions: 1,
    lower: (e, [a, b], [ta], attrs) => (idx) => {
      const rank = idx.length;
      const k = attrs['transpose_a'] ? ta!.shape[rank - 2]! : ta!.shape[rank - 1]!;
      const p = vars(e, [k]);
      const batch = idx.slice(0, -2);
      const i = idx[rank - 2]!;
      const j = idx[rank - 1]!;
      const av = a!([...batch, ...(attrs['transpose_a'] ? [p.xs[0]!, i] : [i, p.xs[0]!])]);
      const bv = b!([...batch, ...(attrs['transpose_b'] ? [j, p.xs[0]!] : [p.xs[0]!, j])]);
      return e.reduce('sum', p.vs, product(e, av, bv), 'f32');
    },
  },
  /** Taps in (channel, ky, kx) order, padding taps skipped, as the reference loops. */
  conv2d: {
    cls: 'contraction',
    reductions: 1,
    lower: (e, [x, w], [xt, wt], attrs, out) => (idx) => {
      const [stride, pad, dil] = [ints(attrs, 'stride'), ints(attrs, 'padding'), ints(attrs, 'dilation')];
      const [, cg, kh, kw] = wt!.shape as [number, number, number, number];
      const perGroup = out.shape[1]! / int(attrs, 'groups');
      const [n, o, oy, ox] = idx as [Expr, Expr, Expr, Expr];
      const r = vars(e, [cg, kh, kw]);
      const [ci, ky, kx] = r.xs as [Expr, Expr, Expr];
      const y = tap(e, oy, ky, stride[0]!, pad[0]!, dil[0]!, xt!.shape[2]!);
      const xx = tap(e, ox, kx, stride[1]!, pad[2]!, dil[1]!, xt!.shape[3]!);
      const channel = e.add(e.mul(e.floordiv(o, perGroup), e.int(cg)), ci);
      return e.reduce('sum', r.vs, product(e, x!([n, channel, y.at, xx.at]), w!([o, ci, ky, kx])), 'f32', e.and(y.inside, xx.inside));
    },
  },
  /** The transposed convolution: each input position sums dy·w over the (output channel, tap) pairs that read it. */
  conv2d_backward_input: {
    cls: 'contraction',
    reductions: 1,
    lower: (e, [dy, w], [dyt, wt], attrs) => (idx) => {
      const [stride, pad, dil] = [ints(attrs, 'stride'), ints(attrs, 'padding'), ints(attrs, 'dilation')];
      const [oc, cg, kh, kw] = wt!.shape as [number, number, number, number];
      const perGroup = oc / int(attrs, 'groups');
      const [n, c, h, wd] = idx as [Expr, Expr, Expr, Expr];
      const r = vars(e, [perGroup, kh, kw]);
      const [oo, ky, kx] = r.xs as [Expr, Expr, Expr];
      const o = e.add(e.mul(e.floordiv(c, cg), e.int(perGroup)), oo);
      const y = windowOf(e, h, ky, stride[0]!, pad[0]!, dil[0]!, dyt!.shape[2]!);
      const x = windowOf(e, wd, kx, stride[1]!, pad[2]!, dil[1]!, dyt!.shape[3]!);
      const at = [n, o, e.clamp(y.o, 0, dyt!.shape[2]! - 1), e.clamp(x.o, 0, dyt!.shape[3]! - 1)];
      return e.reduce('sum', r.vs, product(e, dy!(at), w!([o, e.mod(c, cg), ky, kx])), 'f32', e.and(y.valid, x.valid));
    },
  },
  /** Each weight sums x·dy over the (batch, output position) pairs whose window it weighted. */
  conv2d_backward_filter: {
    cls: 'contraction',
    reductions: 1,
    lower: (e, [x, dy], [xt, dyt], attrs, out) => (idx) => {
      const [stride, pad, dil] = [ints(attrs, 'stride'), ints(attrs, 'padding'), ints(attrs, 'dilation')];
      const [oc, cg] = out.shape as [number, number];
      const perGroup = oc / int(attrs, 'groups');
      const [o, ci, ky, kx] = idx as [Expr, Expr, Expr, Expr];
      const r = vars(e, [dyt!.shape[0]!, dyt!.shape[2]!, dyt!.shape[3]!]);
      const [n, oy, ox] = r.xs as [Expr, Expr, Expr];
      const y = tap(e, oy, ky, stride[0]!, pad[0]!, dil[0]!, xt!.shape[2]!);
      const xx = tap(e, ox, kx, stride[1]!, pad[2]!, dil[1]!, xt!.shape[3]!);
      const channel = e.add(e.mul(e.floordiv(o, perGroup), e.int(cg)), ci);
      return e.reduce('sum', r.vs, product(e, x!([n, channel, y.at, xx.at]), dy!([n, o, oy, ox])), 'f32', e.and(y.inside, xx.inside));
    },
  },

  maxpool2d: {
    cls: 'reduce',
    reductions: 1,
    lower: (e, [x], [t], attrs) => (idx) => {
      const [kh, kw] = ints(attrs, 'kernel') as [number, number];
      const r = vars(e, [kh, kw]);
      const p = poolTaps(e, attrs, t!.shape, idx[2]!, idx[3]!, r.xs[0]!, r.xs[1]!);
      return e.reduce('max', r.vs, x!([idx[0]!, idx[1]!, p.iy, p.ix]), 'f32', p.inside);
    },
  },
  avgpool2d: {
    cls: 'reduce',
    reductions: 1,
    lower: (e, [x], [t], attrs) => (idx) => {
      const [kh, kw] = ints(attrs, 'kernel') as [number, number];
      const r = vars(e, [kh, kw]);
      const p = poolTaps(e, attrs, t!.shape, idx[2]!, idx[3]!, r.xs[0]!, r.xs[1]!);
      const sum = e.reduce('sum', r.vs, wide(e, x!([idx[0]!, idx[1]!, p.iy, p.ix])), 'f64', p.inside);
      return e.cast(e.binary('div', sum, windowCount(e, attrs, t!.shape, idx[2]!, idx[3]!)), 'f32');
    },
  },
  /** dy of every window whose first maximum (in the window's row-major order) is this element. */
  maxpool2d_backward: {
    cls: 'reduce',
    reductions: 2,
    lower: (e, [x, dy], [xt, dyt], attrs) => (idx) =>
      poolBackward(e, attrs, dyt!.shape, idx, (oy, ox, ky, kx) => {
        const [kh, kw] = ints(attrs, 'kernel') as [number, number];
        const w = vars(e, [kh, kw]);
        const p = poolTaps(e, attrs, xt!.shape, oy, ox, w.xs[0]!, w.xs[1]!);
        const first = e.reduce('argmax', w.vs, x!([idx[0]!, idx[1]!, p.iy, p.ix]), 'i32', p.inside);
        const mine = e.binary('equal', first, e.add(e.mul(ky, e.int(kw)), kx));
        return { value: wide(e, dy!([idx[0]!, idx[1]!, oy, ox])), keep: mine };
      }),
  },
  /** dy of every covering window divided by that window's in-bounds count. */
  avgpool2d_backward: {
    cls: 'reduce',
    reductions: 1,
    lower: (e, [dy], [dyt], attrs, out) => (idx) =>
      poolBackward(e, attrs, dyt!.shape, idx, (oy, ox) => ({
        value: e.binary('div', wide(e, dy!([idx[0]!, idx[1]!, oy, ox])), windowCount(e, attrs, out.shape, oy, ox)),
        keep: e.const(1, 'bool'),
      })),
  },
  softmax: softmaxLike('softmax'),
  log_softmax: softmaxLike('log_softmax'),
  one_hot: {
    cls: 'view',
    injective: false,
    lower: (e, [x]) => (idx) => {
      const hit = e.binary('equal', x!(idx.slice(0, -1)), idx[idx.length - 1]!);
      return e.select(hit, e.const(1, 'f32'), e.const(0, 'f32'));
    },
  },
};
