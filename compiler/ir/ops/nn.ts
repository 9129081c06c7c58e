// Neural-network ops with their own semantics: pooling windows, softmax, log_softmax, one_hot.

import type { Tensor } from '../tensor.js';
import type { TensorType } from '../types.js';
import { formatType, numel } from '../types.js';
import { expectDType, expectRank, fail, result } from './common.js';
import { expectWindowAttrs, windowExtent } from './contraction.js';
import { beats, splitAtAxis } from './indexing.js';
import type { Attrs, OpDef } from './op.js';
import { intAttr, intsAttr } from './op.js';

type PoolKind = 'maxpool2d' | 'avgpool2d';
type SoftmaxKind = 'softmax' | 'log_softmax';

/** Each window is clipped to the input first, so padding never enters a max or an average. */
function poolReference(kind: PoolKind, x: Tensor, attrs: Attrs, out: TensorType): Tensor {
  const [kh, kw] = intsAttr(attrs, 'kernel') as [number, number];
  const [sh, sw] = intsAttr(attrs, 'stride') as [number, number];
  const [pt, , pl] = intsAttr(attrs, 'padding') as [number, number, number, number];
  const [, , h, w] = x.type.shape as [number, number, number, number];
  const [n, c, oh, ow] = out.shape as [number, number, number, number];
  const data = new Float32Array(n * c * oh * ow);
  let at = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * h * w;
    for (let y = 0; y < oh; y++) {
      const y0 = Math.max(y * sh - pt, 0);
      const y1 = Math.min(y * sh - pt + kh, h);
      for (let xo = 0; xo < ow; xo++) {
        const x0 = Math.max(xo * sw - pl, 0);
        const x1 = Math.min(xo * sw - pl + kw, w);
        let best = -Infinity;
        let sum = 0;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const v = x.data[base + iy * w + ix]!;
            if (beats(v, best)) best = v;
            sum += v;
          }
        }
        data[at++] = kind === 'maxpool2d' ? best : sum / ((y1 - y0) * (x1 - x0));
      }
    }
  }
  return { type: out, data };
}

/** Subtracts the row maximum before exp so no term overflows; the sum is float64. */
function softmaxReference(kind: SoftmaxKind, x: Tensor, axis: number, out: TensorType): Tensor {
  const { outer, extent, inner } = splitAtAxis(x.type.shape, axis);
  const data = new Float32Array(numel(out.shape));
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
 * A 2-D pooling window over [N, C, H, W]. Max pooling ignores padding (pads with −∞);
 * average pooling divides by the number of in-bounds elements of each window.
 */
function pool(name: PoolKind): OpDef {
  return {
    family: 'nn',
    arity: 1,
    attrs: { kernel: { kind: 'ints' }, stride: { kind: 'ints' }, padding: { kind: 'ints' } },
    tolerance: name === 'maxpool2d' ? 'exact' : 'reduction',
    infer([x], attrs: Attrs) {
      expectDType(x!, ['f32'], 'input');
      expectRank(x!, 4, `${name} input [N, C, H, W]`);
      const kernel = intsAttr(attrs, 'kernel');
      const stride = intsAttr(attrs, 'stride');
      const padding = intsAttr(attrs, 'padding');
      expectWindowAttrs(stride, padding, [1, 1]);
      if (kernel.length !== 2 || kernel.some((k) => k < 1)) fail(`kernel must be two positive sizes, got [${kernel.join(', ')}]`);
      if (padding[0]! >= kernel[0]! || padding[1]! >= kernel[0]! || padding[2]! >= kernel[1]! || padding[3]! >= kernel[1]!) {
        fail(`padding [${padding.join(', ')}] must be smaller than the kernel [${kernel.join(', ')}]`);
      }
      const [n, c, h, w] = x!.shape as [number, number, number, number];
      // With padding smaller than the kernel every window meets the input, unless the input is empty.
      if (h === 0 || w === 0) fail(`${name} needs a non-empty spatial extent, got ${formatType(x!)}`);
      const oh = windowExtent(h, kernel[0]!, stride[0]!, padding[0]!, padding[1]!, 1);
      const ow = windowExtent(w, kernel[1]!, stride[1]!, padding[2]!, padding[3]!, 1);
      if (oh === null || ow === null) fail(`${name} window ${kernel[0]}x${kernel[1]} does not fit input ${formatType(x!)}`);
      return result('f32', [n, c, oh, ow]);
    },
    reference: ([x], attrs, out) => poolReference(name, x!, attrs, out),
  };
}

function softmaxLike(name: SoftmaxKind): OpDef {
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
    reference: ([x], attrs, out) => softmaxReference(name, x!, intAttr(attrs, 'axis'), out),
  };
}

export const NN_OPS = {
  maxpool2d: pool('maxpool2d'),
  avgpool2d: pool('avgpool2d'),
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
    reference([x], attrs, out) {
      const depth = intAttr(attrs, 'depth');
      const data = new Float32Array(numel(out.shape));
      x!.data.forEach((v, i) => {
        if (v >= 0 && v < depth) data[i * depth + v] = 1;
      });
      return { type: out, data };
    },
  },
} satisfies Record<string, OpDef>;
