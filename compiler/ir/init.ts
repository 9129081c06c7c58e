// Parameter initializers: each InitKind's formula, drawn from the parameter's own seeded stream.
//
// A parameter's values depend only on (seed, parameter name, initializer, shape): its stream
// is `init/<name>` (see random.ts), so adding, removing or reordering other parameters never
// changes them. Values are drawn in float64 and rounded to f32 once.
//
// The formulas, with U(a, b) uniform and N(μ, σ) normal:
//   zeros                 0
//   ones                  1
//   constant {value}      value
//   normal {mean, std}    N(mean, std)
//   uniform {low, high}   U(low, high)
//   glorot_uniform {fan_in, fan_out}   U(−l, l), l = √(6 / (fan_in + fan_out))
//   glorot_normal  {fan_in, fan_out}   N(0, σ),  σ = √(2 / (fan_in + fan_out))
//   he_uniform {fan_in}   U(−l, l), l = √(6 / fan_in)
//   he_normal  {fan_in}   N(0, σ),  σ = √(2 / fan_in)
// Glorot (Glorot & Bengio, 2010) keeps the activation variance equal forward and backward;
// He (He et al., 2015) doubles it for ReLU, which zeroes half its inputs. The normal forms
// are not truncated (as PyTorch's xavier_normal_ / kaiming_normal_, unlike Keras).

import type { Graph, GraphParam, InitKind } from './graph.js';
import type { Rng } from './random.js';
import { rngFor } from './random.js';
import type { Tensor } from './tensor.js';
import { allocData } from './tensor.js';
import { formatType, numel } from './types.js';

/** The argument names each initializer takes; anything else is a bug in whoever built it. */
const INIT_ARGS: { readonly [K in InitKind]: readonly string[] } = {
  zeros: [],
  ones: [],
  constant: ['value'],
  normal: ['mean', 'std'],
  uniform: ['low', 'high'],
  glorot_uniform: ['fan_in', 'fan_out'],
  glorot_normal: ['fan_in', 'fan_out'],
  he_uniform: ['fan_in'],
  he_normal: ['fan_in'],
};

/** The stream name of a parameter's initializer. */
export function initStreamName(paramName: string): string {
  return `init/${paramName}`;
}

/**
 * Validated arguments of a parameter's initializer. The elaborator checks user-written
 * arguments, so a missing, extra or out-of-range one here is a broken invariant.
 */
function initArgs(param: GraphParam): Record<string, number> {
  const { kind, args } = param.init;
  const where = `initializer ${kind} of parameter '${param.name}'`;
  const names = INIT_ARGS[kind];
  for (const key of Object.keys(args)) {
    if (!names.includes(key)) throw new Error(`internal: ${where} has an unknown argument '${key}'`);
  }
  const out: Record<string, number> = {};
  for (const key of names) {
    const v = args[key];
    if (v === undefined) throw new Error(`internal: ${where} is missing its argument '${key}'`);
    if (!Number.isFinite(v)) throw new Error(`internal: ${where} has a non-finite argument ${key} = ${v}`);
    out[key] = v;
  }
  if ('std' in out && out['std']! < 0) throw new Error(`internal: ${where} has a negative std ${out['std']}`);
  if ('low' in out && out['low']! > out['high']!) throw new Error(`internal: ${where} has low ${out['low']} > high ${out['high']}`);
  for (const fan of ['fan_in', 'fan_out']) {
    if (fan in out && !(out[fan]! > 0)) throw new Error(`internal: ${where} needs a positive ${fan}, got ${out[fan]}`);
  }
  return out;
}

/** One draw of a random initializer; a constant one returns the same number every time. */
function sampler(kind: InitKind, a: Record<string, number>, rng: Rng): () => number {
  const uniform = (low: number, high: number) => () => low + (high - low) * rng.nextFloat();
  const normal = (mean: number, std: number) => () => mean + std * rng.nextNormal();
  switch (kind) {
    case 'zeros':
      return () => 0;
    case 'ones':
      return () => 1;
    case 'constant':
      return () => a['value']!;
    case 'normal':
      return normal(a['mean']!, a['std']!);
    case 'uniform':
      return uniform(a['low']!, a['high']!);
    case 'glorot_uniform': {
      const limit = Math.sqrt(6 / (a['fan_in']! + a['fan_out']!));
      return uniform(-limit, limit);
    }
    case 'glorot_normal':
      return normal(0, Math.sqrt(2 / (a['fan_in']! + a['fan_out']!)));
    case 'he_uniform': {
      const limit = Math.sqrt(6 / a['fan_in']!);
      return uniform(-limit, limit);
    }
    case 'he_normal':
      return normal(0, Math.sqrt(2 / a['fan_in']!));
    default:
      return kind satisfies never;
  }
}

const DETERMINISTIC: readonly InitKind[] = ['zeros', 'ones', 'constant'];

/**
 * The initial value of one parameter. Random initializers need an f32 parameter; integer
 * and bool parameters take only zeros, ones, or an integer (for bool, 0/1) constant.
 */
export function initParam(param: GraphParam, seed: number): Tensor {
  const { kind } = param.init;
  const args = initArgs(param);
  const { dtype } = param.type;
  if (dtype !== 'f32') {
    const where = `parameter '${param.name}' (${formatType(param.type)})`;
    if (!DETERMINISTIC.includes(kind)) throw new Error(`internal: ${where} cannot take the random initializer ${kind}`);
    const v = kind === 'constant' ? args['value']! : 0;
    const fits = dtype === 'bool' ? v === 0 || v === 1 : Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;
    if (!fits) throw new Error(`internal: ${where} cannot hold the constant ${v}`);
  }
  const draw = sampler(kind, args, rngFor(seed, initStreamName(param.name)));
  const data = allocData(dtype, numel(param.type.shape));
  for (let i = 0; i < data.length; i++) data[i] = draw();
  return { type: param.type, data };
}

/** Initial values of every parameter of a graph, by parameter name. */
export function initParams(graph: Graph, seed: number): Map<string, Tensor> {
  return new Map(graph.params.map((p) => [p.name, initParam(p, seed)]));
}
