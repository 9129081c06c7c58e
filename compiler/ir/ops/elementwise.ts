// Elementwise ops: unary math, binary arithmetic, comparisons, select, cast, constant.
// Binary ops need identical shapes: broadcasting is explicit in the IR (the `broadcast` op).

import type { Tensor } from '../tensor.js';
import { allocData } from '../tensor.js';
import type { DType, TensorType } from '../types.js';
import { numel } from '../types.js';
import { expectDType, expectSameShape, fail, result } from './common.js';
import type { Attrs, OpDef, ToleranceClass } from './op.js';
import { floatAttr, intsAttr } from './op.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** gelu, tanh approximation (as in BERT/GPT-2 and Keras `approximate=True`). */
export function geluScalar(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

function mapData(x: Tensor, out: TensorType, f: (v: number) => number): Tensor {
  const n = x.data.length;
  const data = allocData(out.dtype, n);
  for (let i = 0; i < n; i++) data[i] = f(x.data[i]!);
  return { type: out, data };
}

function zipData(a: Tensor, b: Tensor, out: TensorType, f: (x: number, y: number) => number): Tensor {
  const n = a.data.length;
  const data = allocData(out.dtype, n);
  for (let i = 0; i < n; i++) data[i] = f(a.data[i]!, b.data[i]!);
  return { type: out, data };
}

function unary(dtypes: readonly DType[], tolerance: ToleranceClass, f: (x: number) => number): OpDef {
  return {
    family: 'elementwise',
    arity: 1,
    attrs: {},
    tolerance,
    infer([x]) {
      expectDType(x!, dtypes, 'operand');
      return result(x!.dtype, x!.shape);
    },
    reference: ([x], _attrs, out) => mapData(x!, out, f),
  };
}

function binary(dtypes: readonly DType[], tolerance: ToleranceClass, f: (x: number, y: number) => number): OpDef {
  return {
    family: 'elementwise',
    arity: 2,
    attrs: {},
    tolerance,
    infer([a, b]) {
      expectDType(a!, dtypes, 'left operand');
      if (a!.dtype !== b!.dtype) fail(`operands need the same dtype, got ${a!.dtype} and ${b!.dtype}`);
      expectSameShape(a!, b!, 'operands');
      return result(a!.dtype, a!.shape);
    },
    reference: ([a, b], _attrs, out) => zipData(a!, b!, out, f),
  };
}

function compare(f: (x: number, y: number) => boolean): OpDef {
  return {
    family: 'elementwise',
    arity: 2,
    attrs: {},
    tolerance: 'exact',
    infer([a, b]) {
      expectDType(a!, ['f32', 'i32'], 'left operand');
      if (a!.dtype !== b!.dtype) fail(`operands need the same dtype, got ${a!.dtype} and ${b!.dtype}`);
      expectSameShape(a!, b!, 'operands');
      return result('bool', a!.shape);
    },
    reference: ([a, b], _attrs, out) => zipData(a!, b!, out, (x, y) => (f(x, y) ? 1 : 0)),
  };
}

/** Ops of one tensor input and no attributes. */
export type UnaryOpName = 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'relu' | 'sigmoid' | 'tanh' | 'gelu';

const NUM: readonly DType[] = ['f32', 'i32'];
const F32: readonly DType[] = ['f32'];

/** Integer division truncates toward zero on i32; f32 rounds through Math.fround. */
function divide(x: number, y: number): number {
  return Math.trunc(x / y);
}

export const ELEMENTWISE_OPS = {
  neg: unary(NUM, 'exact', (x) => -x),
  abs: unary(NUM, 'exact', Math.abs),
  exp: unary(F32, 'transcendental', Math.exp),
  log: unary(F32, 'transcendental', Math.log),
  sqrt: unary(F32, 'transcendental', Math.sqrt),
  rsqrt: unary(F32, 'transcendental', (x) => 1 / Math.sqrt(x)),
  relu: unary(NUM, 'exact', (x) => (x > 0 ? x : 0)),
  sigmoid: unary(F32, 'transcendental', (x) => 1 / (1 + Math.exp(-x))),
  tanh: unary(F32, 'transcendental', Math.tanh),
  gelu: unary(F32, 'transcendental', geluScalar),

  add: binary(NUM, 'elementwise', (x, y) => x + y),
  sub: binary(NUM, 'elementwise', (x, y) => x - y),
  mul: binary(NUM, 'elementwise', (x, y) => x * y),
  div: {
    ...binary(NUM, 'elementwise', (x, y) => x / y),
    reference: ([a, b], _attrs, out) => zipData(a!, b!, out, out.dtype === 'i32' ? divide : (x, y) => x / y),
  },
  maximum: binary(NUM, 'exact', Math.max),
  minimum: binary(NUM, 'exact', Math.min),
  pow: binary(F32, 'transcendental', Math.pow),

  greater: compare((x, y) => x > y),
  less: compare((x, y) => x < y),
  equal: compare((x, y) => x === y),

  /** select(cond, a, b): a where cond is true, else b. */
  select: {
    family: 'elementwise',
    arity: 3,
    attrs: {},
    tolerance: 'exact',
    infer([c, a, b]) {
      expectDType(c!, ['bool'], 'condition');
      if (a!.dtype !== b!.dtype) fail(`branches need the same dtype, got ${a!.dtype} and ${b!.dtype}`);
      expectSameShape(a!, b!, 'branches');
      expectSameShape(c!, a!, 'condition and branches');
      return result(a!.dtype, a!.shape);
    },
    reference([c, a, b], _attrs, out) {
      const n = c!.data.length;
      const data = allocData(out.dtype, n);
      for (let i = 0; i < n; i++) data[i] = c!.data[i] ? a!.data[i]! : b!.data[i]!;
      return { type: out, data };
    },
  },

  /** cast {to}: f32→i32 truncates toward zero; to bool is `x != 0`. */
  cast: {
    family: 'elementwise',
    arity: 1,
    attrs: { to: { kind: 'dtype' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      return result(attrs['to'] as DType, x!.shape);
    },
    reference([x], _attrs, out) {
      const f = out.dtype === 'bool' ? (v: number) => (v !== 0 ? 1 : 0) : out.dtype === 'i32' ? Math.trunc : (v: number) => v;
      return mapData(x!, out, f);
    },
  },

  /** constant {value, dtype, shape}: a tensor filled with one value. */
  constant: {
    family: 'elementwise',
    arity: 0,
    attrs: { value: { kind: 'float' }, dtype: { kind: 'dtype' }, shape: { kind: 'ints' } },
    tolerance: 'exact',
    infer(_inputs, attrs: Attrs) {
      const dtype = attrs['dtype'] as DType;
      const value = floatAttr(attrs, 'value');
      if (dtype !== 'f32' && !Number.isInteger(value)) fail(`a ${dtype} constant must be an integer, got ${value}`);
      if (dtype === 'i32' && (value < -(2 ** 31) || value >= 2 ** 31)) fail(`${value} does not fit in i32`);
      if (dtype === 'bool' && value !== 0 && value !== 1) fail(`a bool constant must be 0 or 1, got ${value}`);
      return result(dtype, intsAttr(attrs, 'shape'));
    },
    reference(_inputs, attrs, out) {
      const data = allocData(out.dtype, numel(out.shape));
      data.fill(floatAttr(attrs, 'value'));
      return { type: out, data };
    },
  },
} satisfies Record<string, OpDef>;
