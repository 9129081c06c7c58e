// The shape of one op's definition in the registry: attribute schema, type rule, reference semantics, VJP.

import type { ValueId } from '../graph.js';
import type { Tensor, TensorData } from '../tensor.js';
import { allocData } from '../tensor.js';
import type { DType, TensorType } from '../types.js';
import type { OpName } from './registry.js';

export type OpFamily = 'elementwise' | 'reduce' | 'movement' | 'contraction' | 'nn';

/** Attribute kinds: `ints` is a list of integers, `dtype` one of f32|i32|bool. */
export type AttrKind = 'int' | 'float' | 'bool' | 'ints' | 'dtype';
export type AttrValue = number | boolean | string | readonly number[];
export type Attrs = Readonly<Record<string, AttrValue>>;

export interface AttrSpec {
  readonly kind: AttrKind;
}

/**
 * Tolerance class of an op's result against the reference (see DESIGN.md, Conventions):
 * exact: 0; elementwise: rtol 1e-5 atol 1e-6; transcendental: rtol 1e-4 atol 1e-5;
 * reduction (and contraction) over K terms: rtol 1e-4, atol 1e-5·√K·max|input|.
 */
export type ToleranceClass = 'exact' | 'elementwise' | 'transcendental' | 'reduction';

/**
 * How the reference holds f32 values: in float32 (the semantics) or in float64, so that
 * gradients can be checked against finite differences without float32 rounding noise.
 * i32 and bool values are the same at both precisions.
 */
export type Precision = 'float32' | 'float64';

/** The data of a reference value: its dtype's array, or a Float64Array for f32 at float64 precision. */
export type RefData = TensorData | Float64Array;

/** A value as the reference computes it; at float32 precision it is exactly a Tensor. */
export interface RefTensor {
  readonly type: TensorType;
  readonly data: RefData;
}

/** A zero-filled array for `n` values of `dtype` at a precision (allocData's array at float32). */
export function allocRef(dtype: DType, n: number, precision: Precision): RefData {
  return dtype === 'f32' && precision === 'float64' ? new Float64Array(n) : allocData(dtype, n);
}

/**
 * Emits the backward ops of one forward node into the graph being built. Each op runs its
 * type rule (as GraphBuilder.op does) and carries the forward node's source location.
 */
export interface VjpContext {
  typeOf(v: ValueId): TensorType;
  op(op: OpName, inputs: readonly ValueId[], attrs?: Attrs): ValueId;
}

/**
 * One input's cotangent, emitted only when called: the autodiff pass calls it only for
 * inputs on a path from a differentiated value, so other inputs cost no nodes.
 */
export type LazyGrad = () => ValueId;

/**
 * The vector-Jacobian product of an op: given the node's inputs, its output and the output's
 * cotangent `dy` (same type as the output), one entry per input: how to emit that input's
 * cotangent (same type as the input), or null when no gradient flows to it (an integer or
 * bool input, or a piecewise-constant dependence). The autodiff pass calls it only for nodes
 * with an f32 result and only asks for the cotangents of f32 inputs.
 */
export type VjpFn = (ctx: VjpContext, inputs: readonly ValueId[], output: ValueId, attrs: Attrs, dy: ValueId) => readonly (LazyGrad | null)[];

/** An op's gradient rule; 'none' says its gradient is not defined, so none may flow through it. */
export type VjpRule = VjpFn | 'none';

/** What a family file declares for each op; `defineOps` derives the float32 `reference` from it. */
export interface OpRule {
  readonly family: OpFamily;
  /** Number of tensor inputs, or 'variadic' (at least one). */
  readonly arity: number | 'variadic';
  /** Attribute schema, in the order the textual IR prints them. Every attribute is required. */
  readonly attrs: Readonly<Record<string, AttrSpec>>;
  readonly tolerance: ToleranceClass;
  /**
   * The type rule. Inputs have the declared arity and attrs match the schema (checked
   * before the call). Throws OpTypeError with a message for people when inputs don't fit.
   */
  infer(inputs: readonly TensorType[], attrs: Attrs): TensorType;
  /**
   * Reference semantics at a precision: float64 accumulation in reductions and contractions,
   * each f32 result rounded once to the precision's array.
   */
  evaluate(inputs: readonly RefTensor[], attrs: Attrs, out: TensorType, precision: Precision): RefTensor;
  /** The gradient rule; every op declares one, `'none'` included. */
  readonly vjp: VjpRule;
}

export interface OpDef extends OpRule {
  /** Reference semantics in float32: `evaluate` at float32 precision. */
  reference(inputs: readonly Tensor[], attrs: Attrs, out: TensorType): Tensor;
}

/** A float32 result as a Tensor; anything else means an op's evaluate ignored its precision. */
function asFloat32Tensor(t: RefTensor): Tensor {
  if (t.data instanceof Float64Array) throw new Error(`internal: a float32 evaluation returned float64 data for ${t.type.dtype}[${t.type.shape.join(',')}]`);
  return { type: t.type, data: t.data };
}

/** A family's ops with their float32 `reference`; the parameter type makes every op declare every field. */
export function defineOps<K extends string>(rules: Record<K, OpRule>): Record<K, OpDef> {
  const defs = {} as Record<K, OpDef>;
  for (const name of Object.keys(rules) as K[]) {
    const rule = rules[name];
    defs[name] = { ...rule, reference: (inputs, attrs, out) => asFloat32Tensor(rule.evaluate(inputs, attrs, out, 'float32')) };
  }
  return defs;
}

/** An op's type rule rejected its inputs or attributes; the message is shown to users. */
export class OpTypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpTypeError';
  }
}

export function intAttr(attrs: Attrs, name: string): number {
  return attrs[name] as number;
}
export function floatAttr(attrs: Attrs, name: string): number {
  return attrs[name] as number;
}
export function boolAttr(attrs: Attrs, name: string): boolean {
  return attrs[name] as boolean;
}
export function intsAttr(attrs: Attrs, name: string): readonly number[] {
  return attrs[name] as readonly number[];
}

/** Checks attrs against a schema; returns a message for people, or null when they fit. */
export function checkAttrs(schema: Readonly<Record<string, AttrSpec>>, attrs: Attrs): string | null {
  for (const key of Object.keys(attrs)) {
    if (!(key in schema)) return `unknown attribute '${key}'`;
  }
  for (const [key, spec] of Object.entries(schema)) {
    const v = attrs[key];
    if (v === undefined) return `missing attribute '${key}'`;
    const ok =
      spec.kind === 'int'
        ? typeof v === 'number' && Number.isSafeInteger(v)
        : spec.kind === 'float'
          ? typeof v === 'number' && Number.isFinite(v)
          : spec.kind === 'bool'
            ? typeof v === 'boolean'
            : spec.kind === 'ints'
              ? Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x))
              : v === 'f32' || v === 'i32' || v === 'bool';
    if (!ok) return `attribute '${key}' must be ${describeKind(spec.kind)}`;
  }
  return null;
}

function describeKind(kind: AttrKind): string {
  switch (kind) {
    case 'int':
      return 'an integer';
    case 'float':
      return 'a finite number';
    case 'bool':
      return 'true or false';
    case 'ints':
      return 'a list of integers';
    case 'dtype':
      return 'one of f32, i32, bool';
    default:
      return kind satisfies never;
  }
}
