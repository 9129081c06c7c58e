// Reductions over axes: sum, mean, max (float64 accumulation), and argmax.

import { expectAxes, expectDType, fail, referencePending, result } from './common.js';
import type { Attrs, OpDef } from './op.js';
import { boolAttr, intAttr, intsAttr } from './op.js';
import type { TensorType } from '../types.js';

function reducedShape(x: TensorType, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function reduction(name: string, dtypes: readonly ('f32' | 'i32')[]): OpDef {
  return {
    family: 'reduce',
    arity: 1,
    attrs: { axes: { kind: 'ints' }, keepdims: { kind: 'bool' } },
    tolerance: name === 'max' ? 'exact' : 'reduction',
    infer([x], attrs: Attrs) {
      expectDType(x!, dtypes, 'operand');
      const axes = intsAttr(attrs, 'axes');
      expectAxes(axes, x!.shape.length, name);
      if (name !== 'sum' && axes.some((a) => x!.shape[a] === 0)) fail(`${name} over an empty axis`);
      return result(x!.dtype, reducedShape(x!, axes, boolAttr(attrs, 'keepdims')));
    },
    reference: referencePending(name),
  };
}

export const REDUCE_OPS = {
  sum: reduction('sum', ['f32', 'i32']),
  mean: reduction('mean', ['f32']),
  max: reduction('max', ['f32', 'i32']),
  /** argmax {axis, keepdims}: index (i32) of the first largest element along axis. */
  argmax: {
    family: 'reduce',
    arity: 1,
    attrs: { axis: { kind: 'int' }, keepdims: { kind: 'bool' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      expectDType(x!, ['f32', 'i32'], 'operand');
      const axis = intAttr(attrs, 'axis');
      expectAxes([axis], x!.shape.length, 'argmax');
      if (x!.shape[axis] === 0) fail('argmax over an empty axis');
      return result('i32', reducedShape(x!, [axis], boolAttr(attrs, 'keepdims')));
    },
    reference: referencePending('argmax'),
  },
} satisfies Record<string, OpDef>;
