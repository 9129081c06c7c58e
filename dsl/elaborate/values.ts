// Values of elaboration: what a DSL expression evaluates to before it becomes graph IR.

import type { ValueId } from '../../compiler/ir/graph.js';
import type { TensorType } from '../../compiler/ir/types.js';
import { formatType } from '../../compiler/ir/types.js';
import type { LayerDecl, Span } from '../ast.js';
import type { BuiltinDef } from './builtin.js';

export interface TensorVal {
  readonly kind: 'tensor';
  readonly id: ValueId;
  readonly type: TensorType;
}

export interface NumberVal {
  readonly kind: 'number';
  readonly value: number;
  readonly isInt: boolean;
}

export interface StringVal {
  readonly kind: 'string';
  readonly value: string;
}

export interface BoolVal {
  readonly kind: 'bool';
  readonly value: boolean;
}

export interface ListVal {
  readonly kind: 'list';
  readonly items: readonly Val[];
}

/**
 * A layer or function value. `config` is null until the callable is configured
 * (`Dense(64)`); configuring a layer that owns parameters creates an `instance`, so applying
 * one configured value twice shares its parameters, and each configuration makes new ones.
 */
export interface CallableVal {
  readonly kind: 'callable';
  readonly target: CallTarget;
  readonly config: ReadonlyMap<string, Val> | null;
  readonly instance: Instance | null;
}

export type CallTarget = { readonly kind: 'builtin'; readonly def: BuiltinDef } | { readonly kind: 'layer'; readonly decl: LayerDecl };

export type Val = TensorVal | NumberVal | StringVal | BoolVal | ListVal | CallableVal;

/**
 * A parameter scope: one configured use of a layer. Its name is fixed at first use: the name
 * it was bound to (`cell = GRUCell(64)`) or `<layer>_<k>`.
 */
export interface Instance {
  /** Path of the enclosing instance ('' at model level). */
  readonly parent: string;
  readonly layerName: string;
  name: string | null;
}

export function callableName(c: CallableVal): string {
  return c.target.kind === 'builtin' ? c.target.def.name : c.target.decl.name.name;
}

/** A short description of a value for messages: `f32[64,10]`, `the number 3`, `layer Dense`. */
export function describeVal(v: Val): string {
  switch (v.kind) {
    case 'tensor':
      return formatType(v.type);
    case 'number':
      return `the number ${v.value}`;
    case 'string':
      return `the string "${v.value}"`;
    case 'bool':
      return `${v.value}`;
    case 'list':
      return `a list of ${v.items.length}`;
    case 'callable':
      return `${v.target.kind === 'builtin' ? 'function' : 'layer'} ${callableName(v)}`;
    default:
      return v satisfies never;
  }
}

/** A value with the span of the expression that produced it. */
export interface Located<V extends Val = Val> {
  readonly val: V;
  readonly span: Span;
}
