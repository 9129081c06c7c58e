// The shape of one op's definition in the registry: attribute schema, type rule, reference semantics.

import type { Tensor } from '../tensor.js';
import type { TensorType } from '../types.js';

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

export interface OpDef {
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
  /** Reference semantics: float32 results, float64 accumulation in reductions and contractions. */
  reference(inputs: readonly Tensor[], attrs: Attrs, out: TensorType): Tensor;
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
