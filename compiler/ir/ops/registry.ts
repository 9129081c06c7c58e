// The one op registry: every op of the IR, keyed by name, assembled from the family files.

import type { TensorType } from '../types.js';
import { CONTRACTION_OPS } from './contraction.js';
import { ELEMENTWISE_OPS } from './elementwise.js';
import { MOVEMENT_OPS } from './movement.js';
import { NN_OPS } from './nn.js';
import type { Attrs, OpDef } from './op.js';
import { OpTypeError, checkAttrs } from './op.js';
import { REDUCE_OPS } from './reduce.js';

export const OPS = {
  ...ELEMENTWISE_OPS,
  ...REDUCE_OPS,
  ...MOVEMENT_OPS,
  ...CONTRACTION_OPS,
  ...NN_OPS,
} satisfies Record<string, OpDef>;

export type OpName = keyof typeof OPS;

export const OP_NAMES = Object.keys(OPS) as OpName[];

export function isOpName(s: string): s is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, s);
}

export function opDef(op: OpName): OpDef {
  return OPS[op];
}

/** Checks arity and attributes, then runs the op's type rule. Throws OpTypeError. */
export function inferType(op: OpName, inputs: readonly TensorType[], attrs: Attrs): TensorType {
  const def: OpDef = OPS[op];
  if (def.arity === 'variadic' ? inputs.length === 0 : inputs.length !== def.arity) {
    throw new OpTypeError(`${op} takes ${def.arity === 'variadic' ? 'at least one' : def.arity} input${def.arity === 1 ? '' : 's'}, got ${inputs.length}`);
  }
  const bad = checkAttrs(def.attrs, attrs);
  if (bad) throw new OpTypeError(`${op}: ${bad}`);
  return def.infer(inputs, attrs);
}
