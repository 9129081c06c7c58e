// Built-in activations and elementwise math: relu, sigmoid, tanh, gelu, exp, log, sqrt, softmax, ….

import type { UnaryOpName } from '../../../compiler/ir/ops/elementwise.js';
import { normalizeAxis } from '../../../compiler/ir/types.js';
import type { BuiltinDef, EmitContext } from '../builtin.js';
import type { Located, TensorVal } from '../values.js';

function unary(name: string, op: UnaryOpName, doc: string, numeric?: (x: number) => number): BuiltinDef {
  return {
    name,
    doc,
    config: [],
    inputs: ['x'],
    ownsParams: false,
    ...(numeric ? { numeric } : {}),
    apply: (ctx, _cfg, [x]) => ctx.op(op, [x!.val.id]),
  };
}

/** Resolves a possibly negative axis of a tensor, failing at the argument's span. */
export function axisOf(ctx: EmitContext, x: Located<TensorVal>, axis: number, argName: string): number {
  const a = normalizeAxis(axis, x.val.type.shape.length);
  if (a === null) ctx.fail('E0306', { name: argName, reason: `axis ${axis} is out of range for ${x.val.type.shape.length}-d input` });
  return a;
}

function softmaxLike(name: 'softmax' | 'log_softmax', doc: string): BuiltinDef {
  return {
    name,
    doc,
    config: [{ name: 'axis', kind: 'int', default: { kind: 'number', value: -1, isInt: true } }],
    inputs: ['x'],
    ownsParams: false,
    apply: (ctx, cfg, [x]) => ctx.op(name, [x!.val.id], { axis: axisOf(ctx, x!, cfg.number('axis'), 'axis') }),
  };
}

export const ACTIVATION_BUILTINS: readonly BuiltinDef[] = [
  {
    name: 'identity',
    doc: 'identity(x): x unchanged',
    config: [],
    inputs: ['x'],
    ownsParams: false,
    apply: (_ctx, _cfg, [x]) => x!.val,
  },
  unary('relu', 'relu', 'relu(x): max(x, 0)'),
  unary('sigmoid', 'sigmoid', 'sigmoid(x): 1 / (1 + exp(-x))'),
  unary('tanh', 'tanh', 'tanh(x)', Math.tanh),
  unary('gelu', 'gelu', 'gelu(x): x·Φ(x), tanh approximation'),
  unary('exp', 'exp', 'exp(x)', Math.exp),
  unary('log', 'log', 'log(x), natural logarithm', Math.log),
  unary('sqrt', 'sqrt', 'sqrt(x)', Math.sqrt),
  unary('rsqrt', 'rsqrt', 'rsqrt(x): 1 / sqrt(x)', (x) => 1 / Math.sqrt(x)),
  unary('abs', 'abs', 'abs(x)', Math.abs),
  softmaxLike('softmax', 'softmax(x, axis: -1): exp(x) / sum(exp(x)) along axis'),
  softmaxLike('log_softmax', 'log_softmax(x, axis: -1): log of softmax, computed stably'),
];
