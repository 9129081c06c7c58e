// Neural-network ops with their own semantics: pooling windows and their gradients, softmax, log_softmax, one_hot.

import type { Shape, TensorType } from '../types.js';
import { formatType, numel } from '../types.js';
import { expectDType, expectLength, expectRank, fail, noGradient, result, unreduce } from './common.js';
import { expectWindowAttrs, windowExtent } from './contraction.js';
import { beats, int32Dims, splitAtAxis } from './indexing.js';
import type { Attrs, OpDef, OpRule, Precision, RefData, RefTensor } from './op.js';
import { allocRef, defineOps, intAttr, intsAttr } from './op.js';

/** The ops of this family (see ElementwiseOpName for why they are listed apart). */
export type NnOpName = PoolKind | 'maxpool2d_backward' | 'avgpool2d_backward' | SoftmaxKind | 'one_hot';

type PoolKind = 'maxpool2d' | 'avgpool2d';
type SoftmaxKind = 'softmax' | 'log_softmax';

const POOL_ATTRS = { kernel: { kind: 'ints' }, stride: { kind: 'ints' }, padding: { kind: 'ints' } } as const;

/**
 * One pooling window clipped to the input: rows y0 ≤ iy < y1 and columns x0 ≤ ix < x1 of
 * the input plane starting at flat offset `base`. Padding never enters a max or an average.
 */
interface PoolWindow {
  base: number;
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/**
 * Calls `window(outAt, win)` for each output element of a pooling over input shape `x` and
 * output shape `y`, with its window clipped to the input. `win` is reused between calls.
 */
function forEachWindow(x: Shape, y: Shape, attrs: Attrs, window: (outAt: number, win: PoolWindow) => void): void {
  const [kh, kw] = intsAttr(attrs, 'kernel') as [number, number];
  const [sh, sw] = intsAttr(attrs, 'stride') as [number, number];
  const [pt, , pl] = intsAttr(attrs, 'padding') as [number, number, number, number];
  const [, , h, w] = int32Dims(x) as [number, number, number, number];
  const [n, c, oh, ow] = int32Dims(y) as [number, number, number, number];
  const win: PoolWindow = { base: 0, y0: 0, y1: 0, x0: 0, x1: 0 };
  let outAt = 0;
  for (let plane = 0; plane < n * c; plane++) {
    win.base = plane * h * w;
    for (let oy = 0; oy < oh; oy++) {
      // Clamped into [0, h], so `| 0` is exact and keeps the element loops in integers.
      win.y0 = Math.max(oy * sh - pt, 0) | 0;
      win.y1 = Math.min(oy * sh - pt + kh, h) | 0;
      for (let ox = 0; ox < ow; ox++) {
        win.x0 = Math.max(ox * sw - pl, 0) | 0;
        win.x1 = Math.min(ox * sw - pl + kw, w) | 0;
        window(outAt++, win);
      }
    }
  }
}

/** The flat input offset of a window's first maximum, in row-major order (NaN counting as largest). */
function firstMax(data: RefData, win: PoolWindow, w: number): number {
  let best = win.base + win.y0 * w + win.x0;
  for (let iy = win.y0; iy < win.y1; iy++) {
    for (let i = win.base + iy * w + win.x0, end = i + win.x1 - win.x0; i < end; i++) {
      if (beats(data[i]!, data[best]!)) best = i;
    }
  }
  return best;
}

/** max or mean of each window's in-bounds elements; the mean's sum is float64, divided by the count. */
function poolReference(kind: PoolKind, x: RefTensor, attrs: Attrs, out: TensorType, precision: Precision): RefTensor {
  const w = x.type.shape[3]! | 0;
  const data = allocRef('f32', numel(out.shape), precision);
  forEachWindow(x.type.shape, out.shape, attrs, (outAt, win) => {
    if (kind === 'maxpool2d') {
      data[outAt] = x.data[firstMax(x.data, win, w)]!;
      return;
    }
    let sum = 0;
    for (let iy = win.y0; iy < win.y1; iy++) {
      for (let i = win.base + iy * w + win.x0, end = i + win.x1 - win.x0; i < end; i++) sum += x.data[i]!;
    }
    data[outAt] = sum / ((win.y1 - win.y0) * (win.x1 - win.x0));
  });
  return { type: out, data };
}

/**
 * The gradients of pooling: each window's cotangent goes to its first maximum in x (max
 * pooling, given x) or is shared equally among its in-bounds elements (average pooling, x
 * null), summed in float64 where windows overlap and rounded once.
 */
function poolBackwardReference(x: RefTensor | null, dy: RefTensor, attrs: Attrs, out: TensorType, precision: Precision): RefTensor {
  const w = out.shape[3]! | 0;
  const acc = new Float64Array(numel(out.shape));
  forEachWindow(out.shape, dy.type.shape, attrs, (outAt, win) => {
    const g = dy.data[outAt]!;
    if (x !== null) {
      acc[firstMax(x.data, win, w)]! += g;
      return;
    }
    const share = g / ((win.y1 - win.y0) * (win.x1 - win.x0));
    for (let iy = win.y0; iy < win.y1; iy++) {
      for (let i = win.base + iy * w + win.x0, end = i + win.x1 - win.x0; i < end; i++) acc[i]! += share;
    }
  });
  const data = allocRef('f32', acc.length, precision);
  data.set(acc);
  return { type: out, data };
}

/** Subtracts the row maximum before exp so no term overflows; the sum is float64. */
function softmaxReference(kind: SoftmaxKind, x: RefTensor, axis: number, out: TensorType, precision: Precision): RefTensor {
  const { outer, extent, inner } = splitAtAxis(x.type.shape, axis);
  const data = allocRef('f32', numel(out.shape), precision);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * extent * inner + i;
      let max = -Infinity;
      for (let a = 0; a < extent; a++) {
        const v = x.data[base + a * inner]!;
        if (beats(v, max)) max = v;
      }
      let sum = 0;
      for (let a = 0; a < extent; a++) sum += Math.exp(x.data[base + a * inner]! - max);
      const logSum = Math.log(sum);
      for (let a = 0; a < extent; a++) {
        const shifted = x.data[base + a * inner]! - max;
        data[base + a * inner] = kind === 'softmax' ? Math.exp(shifted) / sum : shifted - logSum;
      }
    }
  }
  return { type: out, data };
}

/**
 * The output shape of a 2-D pooling of input type x (checking x and the attributes), the
 * rule the pooling ops and their gradients share. `what` names the op in messages.
 */
function poolOutputShape(x: TensorType, attrs: Attrs, what: string): number[] {
  expectDType(x, ['f32'], 'input');
  expectRank(x, 4, `${what} input [N, C, H, W]`);
  const kernel = intsAttr(attrs, 'kernel');
  const stride = intsAttr(attrs, 'stride');
  const padding = intsAttr(attrs, 'padding');
  expectWindowAttrs(stride, padding, [1, 1]);
  if (kernel.length !== 2 || kernel.some((k) => k < 1)) fail(`kernel must be two positive sizes, got [${kernel.join(', ')}]`);
  if (padding[0]! >= kernel[0]! || padding[1]! >= kernel[0]! || padding[2]! >= kernel[1]! || padding[3]! >= kernel[1]!) {
    fail(`padding [${padding.join(', ')}] must be smaller than the kernel [${kernel.join(', ')}]`);
  }
  const [n, c, h, w] = x.shape as [number, number, number, number];
  // With padding smaller than the kernel every window meets the input, unless the input is empty.
  if (h === 0 || w === 0) fail(`${what} needs a non-empty spatial extent, got ${formatType(x)}`);
  const oh = windowExtent(h, kernel[0]!, stride[0]!, padding[0]!, padding[1]!, 1);
  const ow = windowExtent(w, kernel[1]!, stride[1]!, padding[2]!, padding[3]!, 1);
  if (oh === null || ow === null) fail(`${what} window ${kernel[0]}x${kernel[1]} does not fit input ${formatType(x)}`);
  return [n, c, oh, ow];
}

/** Checks that a pooling gradient's cotangent dy has the pooling's output shape for input x. */
function expectPoolCotangent(dy: TensorType, x: TensorType, attrs: Attrs, what: string): void {
  expectDType(dy, ['f32'], `${what} output gradient`);
  const want = poolOutputShape(x, attrs, what);
  if (dy.shape.length !== 4 || want.some((d, i) => d !== dy.shape[i])) fail(`${what}: output gradient ${formatType(dy)} does not match the pooling output [${want.join(', ')}]`);
}

/**
 * A 2-D pooling window over [N, C, H, W]. Max pooling ignores padding (pads with −∞);
 * average pooling divides by the number of in-bounds elements of each window.
 */
function pool(name: PoolKind): OpRule {
  return {
    family: 'nn',
    arity: 1,
    attrs: POOL_ATTRS,
    tolerance: name === 'maxpool2d' ? 'exact' : 'reduction',
    infer: ([x], attrs: Attrs) => result('f32', poolOutputShape(x!, attrs, name)),
    evaluate: ([x], attrs, out, precision) => poolReference(name, x!, attrs, out, precision),
    vjp:
      name === 'maxpool2d'
        ? (ctx, [x], _y, attrs, dy) => [() => ctx.op('maxpool2d_backward', [x!, dy], attrs)]
        : (ctx, [x], _y, attrs, dy) => [() => ctx.op('avgpool2d_backward', [dy], { ...attrs, input_shape: [...ctx.typeOf(x!).shape] })],
  };
}

function softmaxLike(name: SoftmaxKind): OpRule {
  return {
    family: 'nn',
    arity: 1,
    attrs: { axis: { kind: 'int' } },
    tolerance: 'reduction',
    infer([x], attrs: Attrs) {
      expectDType(x!, ['f32'], 'operand');
      const axis = intAttr(attrs, 'axis');
      if (axis < 0 || axis >= x!.shape.length) fail(`${name} axis ${axis} is out of range for ${formatType(x!)}`);
      if (x!.shape[axis] === 0) fail(`${name} over an empty axis`);
      return result('f32', x!.shape);
    },
    evaluate: ([x], attrs, out, precision) => softmaxReference(name, x!, intAttr(attrs, 'axis'), out, precision),
    /**
     * softmax: dx = y ⊙ (dy − Σ_axis dy ⊙ y); log_softmax: dx = dy − softmax(x) ⊙ Σ_axis dy,
     * with softmax(x) = exp(y). Both come from the output.
     */
    vjp: (ctx, _inputs, y, attrs, dy) => [
      () => {
        const shape = ctx.typeOf(y).shape;
        const axes = [intAttr(attrs, 'axis')];
        const rowSum = (v: number): number => unreduce(ctx, ctx.op('sum', [v], { axes, keepdims: true }), shape, axes, true);
        if (name === 'softmax') return ctx.op('mul', [y, ctx.op('sub', [dy, rowSum(ctx.op('mul', [dy, y]))])]);
        return ctx.op('sub', [dy, ctx.op('mul', [ctx.op('exp', [y]), rowSum(dy)])]);
      },
    ],
  };
}

export const NN_OPS: Record<NnOpName, OpDef> = defineOps<NnOpName>({
  maxpool2d: pool('maxpool2d'),
  avgpool2d: pool('avgpool2d'),

  /**
   * maxpool2d_backward {kernel, stride, padding}: x [N, C, H, W] and dy of maxpool2d's output
   * shape → f32 of x's shape, the cotangent of maxpool2d's input: each window's dy is added at
   * the window's first maximum in x (row-major within the window clipped to the input, NaN
   * counting as largest — the element maxpool2d returns), summed where windows overlap.
   * Second-order gradients through max pooling are not supported: its VJP is 'none'.
   */
  maxpool2d_backward: {
    family: 'nn',
    arity: 2,
    attrs: POOL_ATTRS,
    tolerance: 'reduction',
    infer([x, dy], attrs: Attrs) {
      expectPoolCotangent(dy!, x!, attrs, 'maxpool2d_backward');
      return result('f32', x!.shape);
    },
    evaluate: ([x, dy], attrs, out, precision) => poolBackwardReference(x!, dy!, attrs, out, precision),
    vjp: 'none',
  },

  /**
   * avgpool2d_backward {kernel, stride, padding, input_shape}: dy of avgpool2d's output shape
   * for an input of input_shape → f32[input_shape], the cotangent of avgpool2d's input: each
   * window's dy divided by its in-bounds element count is added to each of those elements.
   * It is linear, and its own adjoint is avgpool2d.
   */
  avgpool2d_backward: {
    family: 'nn',
    arity: 1,
    attrs: { ...POOL_ATTRS, input_shape: { kind: 'ints' } },
    tolerance: 'reduction',
    infer([dy], attrs: Attrs) {
      const shape = intsAttr(attrs, 'input_shape');
      expectLength(shape, 4, 'avgpool2d_backward input_shape');
      const x = result('f32', shape);
      expectPoolCotangent(dy!, x, attrs, 'avgpool2d_backward');
      return x;
    },
    evaluate: ([dy], attrs, out, precision) => poolBackwardReference(null, dy!, attrs, out, precision),
    vjp: (ctx, _inputs, _y, attrs, g) => [
      () => ctx.op('avgpool2d', [g], { kernel: attrs['kernel']!, stride: attrs['stride']!, padding: attrs['padding']! }),
    ],
  },

  /** softmax {axis}: exp(x - max) / sum(exp(x - max)) along axis. */
  softmax: softmaxLike('softmax'),
  /** log_softmax {axis}: x - max - log(sum(exp(x - max))) along axis. */
  log_softmax: softmaxLike('log_softmax'),
  /** one_hot {depth}: i32 indices [...] → f32 [..., depth], 1 where the index matches (0 for out of range). */
  one_hot: {
    family: 'nn',
    arity: 1,
    attrs: { depth: { kind: 'int' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      expectDType(x!, ['i32'], 'indices');
      const depth = intAttr(attrs, 'depth');
      if (depth < 1) fail(`one_hot depth must be positive, got ${depth}`);
      return result('f32', [...x!.shape, depth]);
    },
    evaluate([x], attrs, out, precision) {
      const depth = intAttr(attrs, 'depth');
      const data = allocRef('f32', numel(out.shape), precision);
      for (let i = 0; i < x!.data.length; i++) {
        const v = x!.data[i]!;
        if (v >= 0 && v < depth) data[i * depth + v] = 1;
      }
      return { type: out, data };
    },
    vjp: noGradient,
  },
});
