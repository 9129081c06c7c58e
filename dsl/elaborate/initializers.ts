// Parameter initializers as written in the DSL (`= glorot_uniform`, `= normal(std: 0.02)`), with fans.

import type { Initializer, InitKind } from '../../compiler/ir/graph.js';
import type { Shape } from '../../compiler/ir/types.js';

/** Initializer names, each with its user arguments (in positional order) and their defaults. */
export const INITIALIZERS: Readonly<Record<InitKind, readonly (readonly [string, number | null])[]>> = {
  zeros: [],
  ones: [],
  constant: [['value', null]],
  normal: [
    ['std', 0.05],
    ['mean', 0],
  ],
  uniform: [
    ['low', -0.05],
    ['high', 0.05],
  ],
  glorot_uniform: [],
  glorot_normal: [],
  he_uniform: [],
  he_normal: [],
};

export function isInitKind(name: string): name is InitKind {
  return Object.prototype.hasOwnProperty.call(INITIALIZERS, name);
}

/**
 * Fan-in and fan-out of a weight. Rank 2 is [in, out] (dense); rank ≥ 3 is
 * [out, in, *receptive] (conv OIHW): fans are channels × receptive field size.
 */
export function fans(shape: Shape): { fan_in: number; fan_out: number } {
  if (shape.length === 0) return { fan_in: 1, fan_out: 1 };
  if (shape.length === 1) return { fan_in: shape[0]!, fan_out: shape[0]! };
  if (shape.length === 2) return { fan_in: shape[0]!, fan_out: shape[1]! };
  const receptive = shape.slice(2).reduce((p, d) => p * d, 1);
  return { fan_in: shape[1]! * receptive, fan_out: shape[0]! * receptive };
}

/** The IR initializer for a kind, user args and a shape (fans filled in where the kind uses them). */
export function makeInitializer(kind: InitKind, userArgs: Readonly<Record<string, number>>, shape: Shape): Initializer {
  const f = fans(shape);
  switch (kind) {
    case 'glorot_uniform':
    case 'glorot_normal':
      return { kind, args: { fan_in: f.fan_in, fan_out: f.fan_out } };
    case 'he_uniform':
    case 'he_normal':
      return { kind, args: { fan_in: f.fan_in } };
    default:
      return { kind, args: { ...userArgs } };
  }
}

/** Initializers that can be named without arguments (each argument has a default): what a layer's `init:` accepts. */
export const NAMED_INITIALIZERS: readonly InitKind[] = (Object.keys(INITIALIZERS) as InitKind[]).filter((k) => INITIALIZERS[k].every(([, d]) => d !== null));

/** The initializer named `kind` with its default arguments, for a weight of `shape`. */
export function namedInitializer(kind: InitKind, shape: Shape): Initializer {
  return makeInitializer(kind, Object.fromEntries(INITIALIZERS[kind].map(([n, d]) => [n, d!])), shape);
}

/** The initializer a `param` gets when none is written: zeros for biases, glorot_uniform for weights. */
export function defaultInitializer(shape: Shape): Initializer {
  return shape.length <= 1 ? makeInitializer('zeros', {}, shape) : makeInitializer('glorot_uniform', {}, shape);
}
