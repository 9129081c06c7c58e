// Neural-network ops with their own semantics: pooling windows, softmax, log_softmax, one_hot.

import { formatType } from '../types.js';
import { expectDType, expectRank, fail, referencePending, result } from './common.js';
import { expectWindowAttrs, windowExtent } from './contraction.js';
import type { Attrs, OpDef } from './op.js';
import { intAttr, intsAttr } from './op.js';

/**
 * A 2-D pooling window over [N, C, H, W]. Max pooling ignores padding (pads with −∞);
 * average pooling divides by the number of in-bounds elements of each window.
 */
function pool(name: string): OpDef {
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
      const oh = windowExtent(h, kernel[0]!, stride[0]!, padding[0]!, padding[1]!, 1);
      const ow = windowExtent(w, kernel[1]!, stride[1]!, padding[2]!, padding[3]!, 1);
      if (oh === null || ow === null) fail(`${name} window ${kernel[0]}x${kernel[1]} does not fit input ${formatType(x!)}`);
      return result('f32', [n, c, oh, ow]);
    },
    reference: referencePending(name),
  };
}

function softmaxLike(name: string): OpDef {
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
    reference: referencePending(name),
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
    reference: referencePending('one_hot'),
  },
} satisfies Record<string, OpDef>;
