// Binding call arguments: tensors go to inputs, everything else to configuration, checked by kind.

import type { Span } from '../ast.js';
import { closest, diag, DiagnosticError } from '../diagnostics.js';
import type { Code, MessageArgs } from '../messages.js';
import type { ConfigKind, ConfigSpec } from './builtin.js';
import type { Located, TensorVal, Val } from './values.js';
import { describeVal } from './values.js';

export interface NamedArg {
  readonly name: string;
  readonly nameSpan: Span;
  readonly value: Located;
}

/** Evaluated call arguments, split by what they are. */
export interface SplitArgs {
  readonly tensors: Located<TensorVal>[];
  readonly config: Located[];
  readonly named: NamedArg[];
}

export function fail(code: Code, span: Span, args: MessageArgs, hint?: string): never {
  throw new DiagnosticError([diag(code, span, args, hint)]);
}

/**
 * Splits positional arguments: tensors (and lists made only of tensors, for variadic
 * inputs) are inputs; any other value is configuration, in order.
 */
export function splitArgs(positional: readonly Located[], named: readonly NamedArg[]): SplitArgs {
  const tensors: Located<TensorVal>[] = [];
  const config: Located[] = [];
  for (const a of positional) {
    if (a.val.kind === 'tensor') tensors.push(a as Located<TensorVal>);
    else if (a.val.kind === 'list' && a.val.items.length > 0 && a.val.items.every((x) => x.kind === 'tensor')) {
      for (const x of a.val.items) tensors.push({ val: x as TensorVal, span: a.span });
    } else config.push(a);
  }
  return { tensors, config, named: [...named] };
}

/** A config parameter as binding sees it: a spec, and a lazily computed default. */
export interface BindSpec {
  readonly spec: ConfigSpec;
  readonly getDefault: (() => Val) | null;
}

/**
 * Binds positional and named configuration arguments to specs, fills defaults, checks kinds.
 * Returns values and the span each argument was written at.
 */
export function bindConfig(
  callee: string,
  specs: readonly BindSpec[],
  positional: readonly Located[],
  named: readonly NamedArg[],
  callSpan: Span,
): { values: Map<string, Val>; spans: Map<string, Span> } {
  const values = new Map<string, Val>();
  const spans = new Map<string, Span>();
  if (positional.length > specs.length) {
    const extra = positional[specs.length]!;
    fail('E0302', extra.span, { callee, max: specs.length, got: positional.length }, extra.val.kind === 'callable' ? undefined : `the extra argument is ${describeVal(extra.val)}`);
  }
  positional.forEach((a, i) => {
    const s = specs[i]!.spec;
    values.set(s.name, checkKind(callee, s, a));
    spans.set(s.name, a.span);
  });
  for (const n of named) {
    const s = specs.find((x) => x.spec.name === n.name);
    if (!s) {
      const names = specs.map((x) => x.spec.name);
      const suggestion = closest(n.name, names);
      fail('E0305', n.nameSpan, { callee, name: n.name, params: names.join(', ') || '(none)', ...(suggestion ? { suggestion } : {}) });
    }
    if (values.has(n.name)) fail('E0304', n.nameSpan, { name: n.name });
    values.set(n.name, checkKind(callee, s.spec, n.value));
    spans.set(n.name, n.value.span);
  }
  for (const { spec, getDefault } of specs) {
    if (values.has(spec.name)) continue;
    if (spec.default !== undefined) values.set(spec.name, spec.default);
    else if (spec.optional) continue;
    else if (getDefault) values.set(spec.name, getDefault());
    else fail('E0301', callSpan, { callee, name: spec.name });
  }
  return { values, spans };
}

const KIND_TEXT: Record<ConfigKind, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  bool: 'true or false',
  callable: 'a layer or function',
  pair: 'an integer or [a, b]',
  padding: '"valid", "same", an integer, [a, b] or [top, bottom, left, right]',
  axes: 'an axis or a list of axes',
  shape: 'a list of integers',
  any: 'any value',
};

function isInt(v: Val): boolean {
  return v.kind === 'number' && Number.isInteger(v.value);
}

function isIntList(v: Val, lengths: readonly number[]): boolean {
  return v.kind === 'list' && lengths.includes(v.items.length) && v.items.every(isInt);
}

/** Checks one argument against its spec; returns the value or fails with E0303/E0306. */
export function checkKind(callee: string, spec: ConfigSpec, a: Located): Val {
  const v = a.val;
  const ok = (() => {
    switch (spec.kind) {
      case 'int':
        return isInt(v);
      case 'number':
        return v.kind === 'number';
      case 'string':
        return v.kind === 'string';
      case 'bool':
        return v.kind === 'bool';
      case 'callable':
        return v.kind === 'callable';
      case 'pair':
        return isInt(v) || isIntList(v, [2]);
      case 'padding':
        return (v.kind === 'string' && (v.value === 'valid' || v.value === 'same')) || isInt(v) || isIntList(v, [2, 4]);
      case 'axes':
        return isInt(v) || (v.kind === 'list' && v.items.every(isInt));
      case 'shape':
        return v.kind === 'list' && v.items.every(isInt);
      case 'any':
        return true;
      default:
        return spec.kind satisfies never;
    }
  })();
  if (!ok) fail('E0303', a.span, { callee, name: spec.name, expected: KIND_TEXT[spec.kind], got: describeVal(v) });
  if (spec.choices && v.kind === 'string' && !spec.choices.includes(v.value)) {
    const near = closest(v.value, spec.choices);
    fail('E0306', a.span, { name: spec.name, reason: `"${v.value}" is not one of ${spec.choices.map((c) => `"${c}"`).join(', ')}` }, near ? `did you mean "${near}"?` : undefined);
  }
  if (spec.min !== undefined) {
    const nums = v.kind === 'number' ? [v.value] : v.kind === 'list' ? v.items.map((x) => (x as { value: number }).value) : [];
    const bad = nums.find((x) => x < spec.min!);
    if (bad !== undefined) fail('E0306', a.span, { name: spec.name, reason: `${bad} is below the minimum ${spec.min}` });
  }
  return v;
}
