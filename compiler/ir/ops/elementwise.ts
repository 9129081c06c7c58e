// Elementwise ops: unary math, binary arithmetic, comparisons, select, cast, constant, random_uniform.
// Binary ops need identical shapes: broadcasting is explicit in the IR (the `broadcast` op).

import type { ValueId } from '../graph.js';
import type { DType, TensorType } from '../types.js';
import { formatType, numel } from '../types.js';
import { counterUniform } from '../random.js';
import { expectDType, expectSameShape, fail, fill, noGradient, result, shared, zerosLike } from './common.js';
import type { Attrs, OpDef, OpRule, Precision, RefTensor, ToleranceClass, VjpContext, VjpFn } from './op.js';
import { allocRef, defineOps, floatAttr, intAttr, intsAttr } from './op.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** gelu, tanh approximation (as in BERT/GPT-2 and Keras `approximate=True`). */
export function geluScalar(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)));
}

function mapData(x: RefTensor, out: TensorType, precision: Precision, f: (v: number) => number): RefTensor {
  const n = x.data.length;
  const data = allocRef(out.dtype, n, precision);
  for (let i = 0; i < n; i++) data[i] = f(x.data[i]!);
  return { type: out, data };
}

function zipData(a: RefTensor, b: RefTensor, out: TensorType, precision: Precision, f: (x: number, y: number) => number): RefTensor {
  const n = a.data.length;
  const data = allocRef(out.dtype, n, precision);
  for (let i = 0; i < n; i++) data[i] = f(a.data[i]!, b.data[i]!);
  return { type: out, data };
}

/** A unary op's VJP from its input x, its output y and dy: the cotangent of x. */
type UnaryGrad = (ctx: VjpContext, x: ValueId, y: ValueId, dy: ValueId) => ValueId;

function unary(dtypes: readonly DType[], tolerance: ToleranceClass, f: (x: number) => number, grad: UnaryGrad): OpRule {
  return {
    family: 'elementwise',
    arity: 1,
    attrs: {},
    tolerance,
    infer([x]) {
      expectDType(x!, dtypes, 'operand');
      return result(x!.dtype, x!.shape);
    },
    evaluate: ([x], _attrs, out, precision) => mapData(x!, out, precision, f),
    vjp: (ctx, [x], y, _attrs, dy) => [() => grad(ctx, x!, y, dy)],
  };
}

function binary(dtypes: readonly DType[], tolerance: ToleranceClass, f: (x: number, y: number) => number, vjp: VjpFn): OpRule {
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
    evaluate: ([a, b], _attrs, out, precision) => zipData(a!, b!, out, precision, f),
    vjp,
  };
}

function compare(f: (x: number, y: number) => boolean): OpRule {
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
    evaluate: ([a, b], _attrs, out, precision) => zipData(a!, b!, out, precision, (x, y) => (f(x, y) ? 1 : 0)),
    vjp: noGradient,
  };
}

/** dy where `cond` holds, else 0: the cotangent of an operand that `cond` routes dy to. */
function where(ctx: VjpContext, cond: ValueId, dy: ValueId): ValueId {
  return ctx.op('select', [cond, dy, zerosLike(ctx, dy)]);
}

/** 0 where `cond` holds, else dy. */
function unless(ctx: VjpContext, cond: ValueId, dy: ValueId): ValueId {
  return ctx.op('select', [cond, zerosLike(ctx, dy), dy]);
}

/** d/dx [x · ½(1 + tanh u)] with u = c(x + a x³) is ½(1 + tanh u) + ½ x (1 − tanh² u) · c(1 + 3a x²). */
function geluGrad(ctx: VjpContext, x: ValueId, dy: ValueId): ValueId {
  const shape = ctx.typeOf(x).shape;
  const k = (v: number): ValueId => fill(ctx, v, shape);
  const mul = (a: ValueId, b: ValueId): ValueId => ctx.op('mul', [a, b]);
  const add = (a: ValueId, b: ValueId): ValueId => ctx.op('add', [a, b]);
  const x2 = mul(x, x);
  const t = ctx.op('tanh', [mul(k(SQRT_2_OVER_PI), add(x, mul(k(GELU_CUBIC), mul(x2, x))))]);
  const outer = mul(k(0.5), add(k(1), t));
  const sech2 = ctx.op('sub', [k(1), mul(t, t)]);
  const du = mul(k(SQRT_2_OVER_PI), add(k(1), mul(k(3 * GELU_CUBIC), x2)));
  return mul(dy, add(outer, mul(mul(k(0.5), x), mul(sech2, du))));
}

/** Ops of one tensor input and no attributes. */
export type UnaryOpName = 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'relu' | 'sigmoid' | 'tanh' | 'gelu';

/**
 * The ops of this family. Each family names its ops apart from its table so the registry's
 * OpName does not depend on the tables' gradient rules, which emit ops by OpName.
 */
export type ElementwiseOpName =
  | UnaryOpName
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'maximum'
  | 'minimum'
  | 'pow'
  | 'greater'
  | 'less'
  | 'equal'
  | 'select'
  | 'cast'
  | 'constant'
  | 'random_uniform';

const NUM: readonly DType[] = ['f32', 'i32'];
const F32: readonly DType[] = ['f32'];

/** Integer division truncates toward zero on i32; f32 rounds through Math.fround. */
function divide(x: number, y: number): number {
  return Math.trunc(x / y);
}

export const ELEMENTWISE_OPS: Record<ElementwiseOpName, OpDef> = defineOps<ElementwiseOpName>({
  neg: unary(NUM, 'exact', (x) => -x, (ctx, _x, _y, dy) => ctx.op('neg', [dy])),
  /** The derivative is the sign of x, 0 at 0. */
  abs: unary(NUM, 'exact', Math.abs, (ctx, x, _y, dy) => {
    const zero = zerosLike(ctx, x);
    const negative = ctx.op('select', [ctx.op('less', [x, zero]), ctx.op('neg', [dy]), zerosLike(ctx, dy)]);
    return ctx.op('select', [ctx.op('greater', [x, zero]), dy, negative]);
  }),
  exp: unary(F32, 'transcendental', Math.exp, (ctx, _x, y, dy) => ctx.op('mul', [dy, y])),
  log: unary(F32, 'transcendental', Math.log, (ctx, x, _y, dy) => ctx.op('div', [dy, x])),
  /** d√x = 1 / (2√x). */
  sqrt: unary(F32, 'transcendental', Math.sqrt, (ctx, _x, y, dy) => ctx.op('div', [dy, ctx.op('add', [y, y])])),
  /** d x^(−½) = −½ x^(−3/2) = −½ y³. */
  rsqrt: unary(F32, 'transcendental', (x) => 1 / Math.sqrt(x), (ctx, _x, y, dy) => {
    const y3 = ctx.op('mul', [y, ctx.op('mul', [y, y])]);
    return ctx.op('mul', [dy, ctx.op('mul', [fill(ctx, -0.5, ctx.typeOf(y).shape), y3])]);
  }),
  /**
   * max(x, 0), NaN staying NaN (as in NumPy, PyTorch and TensorFlow): monotone with NaN the
   * largest value, as max reductions and max pooling order it, so it commutes with them.
   * The derivative is 1 for x > 0 and 0 elsewhere (0 at the kink).
   */
  relu: unary(NUM, 'exact', (x) => (x <= 0 ? 0 : x), (ctx, x, _y, dy) => where(ctx, ctx.op('greater', [x, zerosLike(ctx, x)]), dy)),
  /** σ' = σ(1 − σ), from the output. */
  sigmoid: unary(F32, 'transcendental', (x) => 1 / (1 + Math.exp(-x)), (ctx, _x, y, dy) => {
    const oneMinus = ctx.op('sub', [fill(ctx, 1, ctx.typeOf(y).shape), y]);
    return ctx.op('mul', [dy, ctx.op('mul', [y, oneMinus])]);
  }),
  /** tanh' = 1 − tanh², from the output. */
  tanh: unary(F32, 'transcendental', Math.tanh, (ctx, _x, y, dy) => {
    const sech2 = ctx.op('sub', [fill(ctx, 1, ctx.typeOf(y).shape), ctx.op('mul', [y, y])]);
    return ctx.op('mul', [dy, sech2]);
  }),
  gelu: unary(F32, 'transcendental', geluScalar, (ctx, x, _y, dy) => geluGrad(ctx, x, dy)),

  add: binary(NUM, 'elementwise', (x, y) => x + y, (_ctx, _inputs, _y, _attrs, dy) => [() => dy, () => dy]),
  sub: binary(NUM, 'elementwise', (x, y) => x - y, (ctx, _inputs, _y, _attrs, dy) => [() => dy, () => ctx.op('neg', [dy])]),
  mul: binary(NUM, 'elementwise', (x, y) => x * y, (ctx, [a, b], _y, _attrs, dy) => [() => ctx.op('mul', [dy, b!]), () => ctx.op('mul', [dy, a!])]),
  /** d(a/b) = da / b − db · (a/b) / b. */
  div: {
    ...binary(NUM, 'elementwise', (x, y) => x / y, (ctx, [, b], y, _attrs, dy) => [
      () => ctx.op('div', [dy, b!]),
      () => ctx.op('neg', [ctx.op('mul', [dy, ctx.op('div', [y, b!])])]),
    ]),
    evaluate: ([a, b], _attrs, out, precision) => zipData(a!, b!, out, precision, out.dtype === 'i32' ? divide : (x, y) => x / y),
  },
  /** On a tie the first operand is the maximum and takes the whole cotangent. */
  maximum: binary(NUM, 'exact', Math.max, (ctx, [a, b], _y, _attrs, dy) => {
    const secondWins = shared(() => ctx.op('less', [a!, b!]));
    return [() => unless(ctx, secondWins(), dy), () => where(ctx, secondWins(), dy)];
  }),
  /** On a tie the first operand is the minimum and takes the whole cotangent. */
  minimum: binary(NUM, 'exact', Math.min, (ctx, [a, b], _y, _attrs, dy) => {
    const secondWins = shared(() => ctx.op('greater', [a!, b!]));
    return [() => unless(ctx, secondWins(), dy), () => where(ctx, secondWins(), dy)];
  }),
  /**
   * d(a^b) = b·a^(b−1) da + a^b·ln a db; the exponent's cotangent is 0 where a ≤ 0, where
   * a^b is real only for integer b and ln a is undefined.
   */
  pow: binary(F32, 'transcendental', Math.pow, (ctx, [a, b], y, _attrs, dy) => [
    () => {
      const bMinus1 = ctx.op('sub', [b!, fill(ctx, 1, ctx.typeOf(b!).shape)]);
      return ctx.op('mul', [dy, ctx.op('mul', [b!, ctx.op('pow', [a!, bMinus1])])]);
    },
    () => {
      const positive = ctx.op('greater', [a!, zerosLike(ctx, a!)]);
      return where(ctx, positive, ctx.op('mul', [dy, ctx.op('mul', [y, ctx.op('log', [a!])])]));
    },
  ]),

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
    evaluate([c, a, b], _attrs, out, precision) {
      const n = c!.data.length;
      const data = allocRef(out.dtype, n, precision);
      for (let i = 0; i < n; i++) data[i] = c!.data[i] ? a!.data[i]! : b!.data[i]!;
      return { type: out, data };
    },
    vjp: (ctx, [c], _y, _attrs, dy) => [null, () => where(ctx, c!, dy), () => unless(ctx, c!, dy)],
  },

  /** cast {to}: f32→i32 truncates toward zero; to bool is `x != 0`. Only f32→f32 passes a gradient. */
  cast: {
    family: 'elementwise',
    arity: 1,
    attrs: { to: { kind: 'dtype' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      return result(attrs['to'] as DType, x!.shape);
    },
    evaluate([x], _attrs, out, precision) {
      const f = out.dtype === 'bool' ? (v: number) => (v !== 0 ? 1 : 0) : out.dtype === 'i32' ? Math.trunc : (v: number) => v;
      return mapData(x!, out, precision, f);
    },
    vjp: (ctx, [x], _y, _attrs, dy) => [ctx.typeOf(x!).dtype === 'f32' ? () => dy : null],
  },

  /**
   * random_uniform {shape, salt}: f32 values in [0, 1), element i = counterUniform(key, salt, i)
   * for the i32 scalar input `key` (compiler/ir/random.ts). A pure function of its input, so
   * a dropout mask is the same in the forward and backward pass of one step.
   */
  random_uniform: {
    family: 'elementwise',
    arity: 1,
    attrs: { shape: { kind: 'ints' }, salt: { kind: 'int' } },
    tolerance: 'exact',
    infer([key], attrs: Attrs) {
      expectDType(key!, ['i32'], 'key');
      if (key!.shape.length !== 0) fail(`random_uniform's key must be a scalar i32[], got ${formatType(key!)}`);
      return result('f32', intsAttr(attrs, 'shape'));
    },
    evaluate([key], attrs, out, precision) {
      const n = numel(out.shape);
      const data = allocRef('f32', n, precision);
      const k = key!.data[0]!;
      const salt = intAttr(attrs, 'salt');
      for (let i = 0; i < n; i++) data[i] = counterUniform(k, salt, i);
      return { type: out, data };
    },
    vjp: noGradient,
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
    evaluate(_inputs, attrs, out, precision) {
      const data = allocRef(out.dtype, numel(out.shape), precision);
      data.fill(floatAttr(attrs, 'value'));
      return { type: out, data };
    },
    vjp: noGradient,
  },
});
