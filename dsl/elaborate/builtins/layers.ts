// Built-in layers: dense, conv2d, maxpool, avgpool, flatten, layernorm, batchnorm, dropout, embedding.

import type { Shape } from '../../../compiler/ir/types.js';
import { formatType } from '../../../compiler/ir/types.js';
import type { BuiltinDef, Config, ConfigSpec, EmitContext } from '../builtin.js';
import type { InitKind } from '../../../compiler/ir/graph.js';
import { makeInitializer, NAMED_INITIALIZERS, namedInitializer } from '../initializers.js';
import type { Located, TensorVal, Val } from '../values.js';

const num = (value: number): Val => ({ kind: 'number', value, isInt: Number.isInteger(value) });

/** `act` config: a callable, applied after the layer (default: none). */
const ACT: ConfigSpec = { name: 'act', kind: 'callable', optional: true };
const BIAS: ConfigSpec = { name: 'bias', kind: 'bool', default: { kind: 'bool', value: true } };
/** `init` config: the weight's initializer by name (Keras's `kernel_initializer`), its arguments at their defaults. */
const INIT: ConfigSpec = { name: 'init', kind: 'string', default: { kind: 'string', value: 'glorot_uniform' }, choices: NAMED_INITIALIZERS };

function expectRank(ctx: EmitContext, x: Located<TensorVal>, rank: number, callee: string, pattern: string): void {
  if (x.val.type.shape.length !== rank) ctx.fail('E0401', { callee, expected: pattern, got: formatType(x.val.type) }, x.span);
}

function activate(ctx: EmitContext, cfg: Config, y: TensorVal, span: Located['span']): Val {
  return cfg.has('act') ? ctx.apply(cfg.callable('act'), [{ val: y, span }]) : y;
}

/**
 * TF-style "same" padding of one spatial axis: output size ceil(size / stride), the extra
 * row or column going after (bottom/right).
 */
export function samePadding(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Resolves a `padding` argument to [top, bottom, left, right]. */
function resolvePadding(cfg: Config, h: number, w: number, kernel: [number, number], stride: [number, number], dilation: [number, number]): number[] {
  const p = cfg.get('padding');
  if (p.kind === 'string') {
    return p.value === 'valid' ? [0, 0, 0, 0] : [...samePadding(h, kernel[0], stride[0], dilation[0]), ...samePadding(w, kernel[1], stride[1], dilation[1])];
  }
  const xs = cfg.ints('padding');
  if (xs.length === 1) return [xs[0]!, xs[0]!, xs[0]!, xs[0]!];
  if (xs.length === 2) return [xs[0]!, xs[0]!, xs[1]!, xs[1]!];
  return xs;
}

const PADDING: ConfigSpec = { name: 'padding', kind: 'padding', default: { kind: 'string', value: 'valid' }, min: 0 };

function addBias(ctx: EmitContext, y: TensorVal, bias: TensorVal, axis: number): TensorVal {
  const b = ctx.op('broadcast', [bias.id], { shape: [...y.type.shape], dims: [axis] });
  return ctx.op('add', [y.id, b.id]);
}

const dense: BuiltinDef = {
  name: 'dense',
  doc: 'dense(units, act: relu, bias: true, init: "he_uniform"): x @ w + b over the last axis',
  config: [{ name: 'units', kind: 'int', min: 1 }, ACT, BIAS, INIT],
  inputs: ['x'],
  ownsParams: true,
  apply(ctx, cfg, [x]) {
    const shape = x!.val.type.shape;
    if (shape.length < 2) ctx.fail('E0401', { callee: 'dense', expected: '[n, in]', got: formatType(x!.val.type) }, x!.span);
    const units = cfg.number('units');
    const wShape = [shape[shape.length - 1]!, units];
    const w = ctx.param('w', wShape, namedInitializer(cfg.string('init') as InitKind, wShape));
    let y = ctx.matmul(x!.val, w);
    if (cfg.bool('bias')) {
      const b = ctx.param('b', [units], makeInitializer('zeros', {}, [units]));
      y = addBias(ctx, y, b, y.type.shape.length - 1);
    }
    return activate(ctx, cfg, y, ctx.span);
  },
};

const conv2d: BuiltinDef = {
  name: 'conv2d',
  doc: 'conv2d(filters, kernel: 3, stride: 1, padding: "valid"|"same", dilation: 1, groups: 1, act, bias, init) on [n, c, h, w]',
  config: [
    { name: 'filters', kind: 'int', min: 1 },
    { name: 'kernel', kind: 'pair', min: 1 },
    { name: 'stride', kind: 'pair', default: num(1), min: 1 },
    PADDING,
    { name: 'dilation', kind: 'pair', default: num(1), min: 1 },
    { name: 'groups', kind: 'int', default: num(1), min: 1 },
    ACT,
    BIAS,
    INIT,
  ],
  inputs: ['x'],
  ownsParams: true,
  apply(ctx, cfg, [x]) {
    expectRank(ctx, x!, 4, 'conv2d', '[n, c, h, w]');
    const [, c, h, w] = x!.val.type.shape as [number, number, number, number];
    const filters = cfg.number('filters');
    const groups = cfg.number('groups');
    const kernel = cfg.pair('kernel');
    const stride = cfg.pair('stride');
    const dilation = cfg.pair('dilation');
    if (c % groups !== 0) ctx.fail('E0306', { name: 'groups', reason: `${groups} groups do not divide ${c} input channels` }, cfg.spanOf('groups', ctx.span));
    const wShape: Shape = [filters, c / groups, kernel[0], kernel[1]];
    const weight = ctx.param('w', wShape, namedInitializer(cfg.string('init') as InitKind, wShape));
    const padding = resolvePadding(cfg, h, w, kernel, stride, dilation);
    let y = ctx.op('conv2d', [x!.val.id, weight.id], { stride, padding, dilation, groups });
    if (cfg.bool('bias')) y = addBias(ctx, y, ctx.param('b', [filters], makeInitializer('zeros', {}, [filters])), 1);
    return activate(ctx, cfg, y, ctx.span);
  },
};

function pool(name: 'maxpool' | 'avgpool', op: 'maxpool2d' | 'avgpool2d'): BuiltinDef {
  return {
    name,
    doc: `${name}(size: 2, stride: size, padding: "valid"|"same") on [n, c, h, w]`,
    config: [{ name: 'size', kind: 'pair', default: num(2), min: 1 }, { name: 'stride', kind: 'pair', optional: true, min: 1 }, PADDING],
    inputs: ['x'],
    ownsParams: false,
    apply(ctx, cfg, [x]) {
      expectRank(ctx, x!, 4, name, '[n, c, h, w]');
      const [, , h, w] = x!.val.type.shape as [number, number, number, number];
      const kernel = cfg.pair('size');
      const stride = cfg.has('stride') ? cfg.pair('stride') : kernel;
      const padding = resolvePadding(cfg, h, w, kernel, stride, [1, 1]);
      return ctx.op(op, [x!.val.id], { kernel, stride, padding });
    },
  };
}

const flatten: BuiltinDef = {
  name: 'flatten',
  doc: 'flatten(x): [n, …] → [n, product of the rest]',
  config: [],
  inputs: ['x'],
  ownsParams: false,
  apply(ctx, _cfg, [x]) {
    const shape = x!.val.type.shape;
    if (shape.length < 1) ctx.fail('E0401', { callee: 'flatten', expected: '[n, …]', got: formatType(x!.val.type) }, x!.span);
    return ctx.reshape(x!.val, [shape[0]!, shape.slice(1).reduce((p, d) => p * d, 1)]);
  },
};

/** mean over the last axis, kept as a size-1 axis and broadcast back. */
function meanLast(ctx: EmitContext, x: TensorVal): TensorVal {
  const r = x.type.shape.length;
  const m = ctx.op('mean', [x.id], { axes: [r - 1], keepdims: true });
  return ctx.broadcastTo(m, x.type.shape);
}

const layernorm: BuiltinDef = {
  name: 'layernorm',
  doc: 'layernorm(eps: 1e-5): normalizes the last axis, then scales (gamma) and shifts (beta)',
  config: [{ name: 'eps', kind: 'number', default: num(1e-5), min: 0 }],
  inputs: ['x'],
  ownsParams: true,
  apply(ctx, cfg, [x]) {
    const xv = x!.val;
    const shape = xv.type.shape;
    if (shape.length < 1) ctx.fail('E0401', { callee: 'layernorm', expected: '[…, d]', got: formatType(xv.type) }, x!.span);
    const d = shape[shape.length - 1]!;
    const centered = ctx.op('sub', [xv.id, meanLast(ctx, xv).id]);
    const variance = meanLast(ctx, ctx.op('mul', [centered.id, centered.id]));
    const eps = ctx.constant(cfg.number('eps'), 'f32', shape);
    const inv = ctx.op('rsqrt', [ctx.op('add', [variance.id, eps.id]).id]);
    const normed = ctx.op('mul', [centered.id, inv.id]);
    const gamma = ctx.param('gamma', [d], makeInitializer('ones', {}, [d]));
    const beta = ctx.param('beta', [d], makeInitializer('zeros', {}, [d]));
    const last = shape.length - 1;
    const scaled = ctx.op('mul', [normed.id, ctx.op('broadcast', [gamma.id], { shape: [...shape], dims: [last] }).id]);
    return addBias(ctx, scaled, beta, last);
  },
};

/**
 * batchnorm over the channel axis (axis 1: [n, c, h, w] and [n, c]). Inference:
 * (x − mean) / √(var + eps) · gamma + beta with the running statistics (non-trainable state).
 * Training: the batch's mean and (biased) variance over every axis but 1 normalize instead,
 * and the step replaces the running statistics with momentum·running + (1 − momentum)·batch
 * (Keras's convention).
 */
const batchnorm: BuiltinDef = {
  name: 'batchnorm',
  doc: 'batchnorm(eps: 1e-3, momentum: 0.99): normalizes each channel (axis 1); batch statistics in training, running ones otherwise',
  config: [
    { name: 'eps', kind: 'number', default: num(1e-3), min: 0 },
    { name: 'momentum', kind: 'number', default: num(0.99), min: 0 },
  ],
  inputs: ['x'],
  ownsParams: true,
  apply(ctx, cfg, [x]) {
    const xv = x!.val;
    const shape = xv.type.shape;
    if (shape.length < 2) ctx.fail('E0401', { callee: 'batchnorm', expected: '[n, c, …]', got: formatType(xv.type) }, x!.span);
    const c = shape[1]!;
    const gamma = ctx.param('gamma', [c], makeInitializer('ones', {}, [c]));
    const beta = ctx.param('beta', [c], makeInitializer('zeros', {}, [c]));
    const runningMean = ctx.param('mean', [c], makeInitializer('zeros', {}, [c]), false);
    const runningVar = ctx.param('var', [c], makeInitializer('ones', {}, [c]), false);
    const perChannel = (v: TensorVal) => ctx.op('broadcast', [v.id], { shape: [...shape], dims: [1] });
    let mean = runningMean;
    let variance = runningVar;
    if (ctx.training) {
      const axes = shape.map((_, i) => i).filter((i) => i !== 1);
      mean = ctx.op('mean', [xv.id], { axes, keepdims: false });
      const centered = ctx.op('sub', [xv.id, perChannel(mean).id]);
      variance = ctx.op('mean', [ctx.op('mul', [centered.id, centered.id]).id], { axes, keepdims: false });
      const m = cfg.number('momentum');
      const blend = (running: TensorVal, batch: TensorVal) =>
        ctx.op('add', [ctx.op('mul', [ctx.constant(m, 'f32', [c]).id, running.id]).id, ctx.op('mul', [ctx.constant(1 - m, 'f32', [c]).id, batch.id]).id]);
      ctx.updateState(runningMean, blend(runningMean, mean));
      ctx.updateState(runningVar, blend(runningVar, variance));
    }
    const eps = ctx.constant(cfg.number('eps'), 'f32', [c]);
    const scale = ctx.op('mul', [gamma.id, ctx.op('rsqrt', [ctx.op('add', [variance.id, eps.id]).id]).id]);
    const shift = ctx.op('sub', [beta.id, ctx.op('mul', [mean.id, scale.id]).id]);
    const scaled = ctx.op('mul', [xv.id, perChannel(scale).id]);
    return addBias(ctx, scaled, shift, 1);
  },
};

/**
 * dropout(rate): in training, each element is zeroed with probability `rate` and the rest
 * scaled by 1 / (1 − rate) (inverted dropout), from this step's noise; identity otherwise.
 */
const dropout: BuiltinDef = {
  name: 'dropout',
  doc: 'dropout(rate): zeroes a fraction `rate` of activations during training; identity at inference',
  config: [{ name: 'rate', kind: 'number', min: 0 }],
  inputs: ['x'],
  ownsParams: false,
  apply(ctx, cfg, [x]) {
    const rate = cfg.number('rate');
    if (rate >= 1) ctx.fail('E0306', { name: 'rate', reason: `${rate} must be below 1` }, cfg.spanOf('rate', ctx.span));
    const xv = x!.val;
    if (!ctx.training || rate === 0) return xv;
    const shape = xv.type.shape;
    const dropped = ctx.op('less', [ctx.noise(shape).id, ctx.constant(rate, 'f32', shape).id]);
    const kept = ctx.op('mul', [xv.id, ctx.constant(1 / (1 - rate), 'f32', shape).id]);
    return ctx.op('select', [dropped.id, ctx.constant(0, 'f32', shape).id, kept.id]);
  },
};

const embedding: BuiltinDef = {
  name: 'embedding',
  doc: 'embedding(vocab, dim): i32 ids [...] → f32 [..., dim] rows of a learned table',
  config: [
    { name: 'vocab', kind: 'int', min: 1 },
    { name: 'dim', kind: 'int', min: 1 },
  ],
  inputs: ['ids'],
  ownsParams: true,
  apply(ctx, cfg, [ids]) {
    if (ids!.val.type.dtype !== 'i32') ctx.fail('E0406', { expected: 'i32 token ids', got: formatType(ids!.val.type) }, ids!.span);
    const tShape = [cfg.number('vocab'), cfg.number('dim')];
    const table = ctx.param('table', tShape, makeInitializer('uniform', { low: -0.05, high: 0.05 }, tShape));
    return ctx.op('gather', [table.id, ids!.val.id], { axis: 0 });
  },
};

export const LAYER_BUILTINS: readonly BuiltinDef[] = [dense, conv2d, pool('maxpool', 'maxpool2d'), pool('avgpool', 'avgpool2d'), flatten, layernorm, batchnorm, dropout, embedding];
