// The `train` block: parsed settings checked against what training supports, as a typed TrainConfig.

import type { Arg, Expr, ModelDecl, TrainDecl } from './ast.js';
import { closest, diag, DiagnosticError } from './diagnostics.js';
import type { Diagnostic } from './diagnostics.js';

export const LOSSES = ['softmax_cross_entropy', 'mse', 'binary_cross_entropy'] as const;
export const METRICS = ['accuracy', 'loss'] as const;
export type LossKind = (typeof LOSSES)[number];
export type MetricKind = (typeof METRICS)[number];

/** Each optimizer's hyperparameters and defaults (Keras/PyTorch conventions). */
export const OPTIMIZERS = {
  sgd: { lr: 0.01 },
  momentum: { lr: 0.01, momentum: 0.9, nesterov: 0 },
  adam: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-7 },
  adamw: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.004 },
} as const;
export type OptimizerKind = keyof typeof OPTIMIZERS;

/** Learning-rate schedules; every one takes `warmup` (linear warmup steps, default 0). */
export const SCHEDULES = {
  constant: { warmup: 0 },
  step: { warmup: 0, every: 1000, factor: 0.1 },
  exponential: { warmup: 0, rate: 0.96, every: 1000 },
  cosine: { warmup: 0, steps: 0, min_lr: 0 },
} as const;
export type ScheduleKind = keyof typeof SCHEDULES;

export interface TrainConfig {
  readonly model: string;
  readonly loss: { readonly kind: LossKind; readonly output: string; readonly label: string };
  readonly optimizer: { readonly kind: OptimizerKind; readonly args: Readonly<Record<string, number>> };
  readonly schedule: { readonly kind: ScheduleKind; readonly args: Readonly<Record<string, number>> };
  readonly batch: number;
  readonly epochs: number;
  readonly metrics: readonly MetricKind[];
  /** L2 penalty coefficient added to the loss (0: none). */
  readonly l2: number;
  /** Clip gradients to this global norm (0: no clipping). */
  readonly clip_norm: number;
  readonly seed: number;
  /** Fraction of training data held out for validation. */
  readonly validation_split: number;
}

const FIELDS = ['loss', 'optimizer', 'schedule', 'batch', 'epochs', 'metrics', 'l2', 'clip_norm', 'seed', 'validation_split'] as const;
type Field = (typeof FIELDS)[number];

function fail(d: Diagnostic): never {
  throw new DiagnosticError([d]);
}

/** A number written as a literal, maybe negated or in simple arithmetic (`1e-3`, `-1`, `2 * 64`). */
function constNumber(e: Expr): number | null {
  if (e.kind === 'number') return e.value;
  if (e.kind === 'unary') {
    const v = constNumber(e.operand);
    return v === null ? null : -v;
  }
  if (e.kind === 'binary' && e.op !== '@') {
    const a = constNumber(e.left);
    const b = constNumber(e.right);
    if (a === null || b === null) return null;
    const v = e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a / b;
    return Number.isFinite(v) ? v : null;
  }
  if (e.kind === 'name' && (e.name === 'true' || e.name === 'false')) return e.name === 'true' ? 1 : 0;
  return null;
}

function numberField(e: Expr, what: string, check: (v: number) => string | null): number {
  const v = constNumber(e);
  if (v === null) fail(diag('E0603', e.span, { what, reason: 'expected a number' }));
  const bad = check(v);
  if (bad) fail(diag('E0603', e.span, { what, reason: bad }));
  return v;
}

const positiveInt = (v: number): string | null => (Number.isInteger(v) && v >= 1 ? null : `${v} is not a positive integer`);
const nonNegative = (v: number): string | null => (v >= 0 ? null : `${v} is negative`);

/** `name(args)` or `name` where name is one of `known`; args are numbers checked against `defaults`. */
function namedCall<K extends string>(e: Expr, what: string, table: Readonly<Record<K, Readonly<Record<string, number>>>>): { kind: K; args: Record<string, number> } {
  const [callee, args]: [Expr, readonly Arg[]] = e.kind === 'call' ? [e.callee, e.args] : [e, []];
  const known = Object.keys(table) as K[];
  if (callee.kind !== 'name' || !known.includes(callee.name as K)) {
    const suggestion = callee.kind === 'name' ? closest(callee.name, known) : null;
    fail(diag('E0603', callee.span, { what, reason: callee.kind === 'name' ? `unknown ${what} '${callee.name}'` : `expected a ${what} name`, known: known.join(', ') }, suggestion ? `did you mean '${suggestion}'?` : undefined));
  }
  const kind = callee.name as K;
  const defaults = table[kind];
  const names = Object.keys(defaults);
  const out: Record<string, number> = { ...defaults };
  const seen = new Set<string>();
  args.forEach((a, i) => {
    const name = a.name?.name ?? names[i];
    if (name === undefined || !(name in defaults)) {
      const span = a.name?.span ?? a.span;
      const suggestion = a.name ? closest(a.name.name, names) : null;
      fail(diag('E0603', span, { what: `${kind} argument`, reason: a.name ? `'${a.name.name}' is not an argument of ${kind}` : `too many arguments`, known: names.join(', ') }, suggestion ? `did you mean '${suggestion}'?` : undefined));
    }
    if (seen.has(name)) fail(diag('E0304', a.span, { name }));
    seen.add(name);
    out[name] = numberField(a.value, `${kind} ${name}`, nonNegative);
  });
  return { kind, args: out };
}

function lossField(e: Expr, model: ModelDecl): TrainConfig['loss'] {
  const parsed = e.kind === 'call' && e.callee.kind === 'name' ? e : null;
  if (!parsed || parsed.callee.kind !== 'name' || !(LOSSES as readonly string[]).includes(parsed.callee.name)) {
    const name = parsed && parsed.callee.kind === 'name' ? parsed.callee.name : null;
    const suggestion = name ? closest(name, LOSSES) : null;
    fail(diag('E0603', (parsed?.callee ?? e).span, { what: 'loss', reason: name ? `unknown loss '${name}'` : 'expected a loss call like softmax_cross_entropy(logits, label)', known: LOSSES.join(', ') }, suggestion ? `did you mean '${suggestion}'?` : undefined));
  }
  const [out, label] = parsed.args;
  if (parsed.args.length !== 2 || out!.value.kind !== 'name' || label!.value.kind !== 'name' || out!.name || label!.name) {
    fail(diag('E0603', parsed.span, { what: 'loss', reason: `${parsed.callee.name} takes a model output and a label name, like ${parsed.callee.name}(logits, label)` }));
  }
  const outputs = model.outputs.map((o) => o.name.name);
  if (!outputs.includes(out!.value.name)) {
    fail(diag('E0603', out!.value.span, { what: 'loss', reason: `'${out!.value.name}' is not an output of ${model.name.name}`, known: outputs.join(', ') }));
  }
  if (model.inputs.some((i) => i.name.name === (label!.value as { name: string }).name)) {
    fail(diag('E0603', label!.value.span, { what: 'loss', reason: `the label '${label!.value.name}' is already a model input` }));
  }
  return { kind: parsed.callee.name as LossKind, output: out!.value.name, label: label!.value.name };
}

function metricsField(e: Expr): MetricKind[] {
  const items = e.kind === 'list' ? e.items : [e];
  return items.map((m) => {
    if (m.kind !== 'name' || !(METRICS as readonly string[]).includes(m.name)) {
      const suggestion = m.kind === 'name' ? closest(m.name, METRICS) : null;
      fail(diag('E0603', m.span, { what: 'metric', reason: m.kind === 'name' ? `unknown metric '${m.name}'` : 'expected a metric name', known: METRICS.join(', ') }, suggestion ? `did you mean '${suggestion}'?` : undefined));
    }
    return m.name as MetricKind;
  });
}

/** Checks one train block against its model; returns the config and any diagnostics. */
export function checkTrainBlock(block: TrainDecl, model: ModelDecl): { config: TrainConfig | null; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const given = new Map<Field, Expr>();
  for (const f of block.fields) {
    if (!(FIELDS as readonly string[]).includes(f.name.name)) {
      const suggestion = closest(f.name.name, FIELDS);
      diagnostics.push(diag('E0601', f.name.span, { name: f.name.name, known: FIELDS.join(', '), ...(suggestion ? { suggestion } : {}) }));
    } else if (given.has(f.name.name as Field)) diagnostics.push(diag('E0604', f.name.span, { name: f.name.name }));
    else given.set(f.name.name as Field, f.value);
  }
  for (const required of ['loss', 'optimizer'] as const) {
    if (!given.has(required)) diagnostics.push(diag('E0602', block.model.span, { model: block.model.name, name: required }));
  }
  const field = <T>(name: Field, parse: (e: Expr) => T, fallback: T): T => {
    const e = given.get(name);
    if (!e) return fallback;
    try {
      return parse(e);
    } catch (err) {
      if (err instanceof DiagnosticError) diagnostics.push(...err.diagnostics);
      else throw err;
      return fallback;
    }
  };
  const config: TrainConfig = {
    model: block.model.name,
    loss: field('loss', (e) => lossField(e, model), { kind: 'softmax_cross_entropy', output: '', label: '' }),
    optimizer: field('optimizer', (e) => namedCall(e, 'optimizer', OPTIMIZERS), { kind: 'adam', args: { ...OPTIMIZERS.adam } }),
    schedule: field('schedule', (e) => namedCall(e, 'schedule', SCHEDULES), { kind: 'constant', args: { ...SCHEDULES.constant } }),
    batch: field('batch', (e) => numberField(e, 'batch', positiveInt), 32),
    epochs: field('epochs', (e) => numberField(e, 'epochs', positiveInt), 1),
    metrics: field('metrics', metricsField, ['loss']),
    l2: field('l2', (e) => numberField(e, 'l2', nonNegative), 0),
    clip_norm: field('clip_norm', (e) => numberField(e, 'clip_norm', nonNegative), 0),
    seed: field('seed', (e) => numberField(e, 'seed', (v) => (Number.isInteger(v) && v >= 0 ? null : `${v} is not a non-negative integer`)), 0),
    validation_split: field('validation_split', (e) => numberField(e, 'validation_split', (v) => (v >= 0 && v < 1 ? null : `${v} is not in [0, 1)`)), 0),
  };
  return { config: diagnostics.length ? null : config, diagnostics };
}
