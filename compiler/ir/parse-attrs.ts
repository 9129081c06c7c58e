// Attribute checking for the IR parser: written literals converted by the op's schema, every mismatch a diagnostic.
//
// Ints must be written as integers (`groups = 1`); floats accept either form (`value = 1`
// reads as 1.0) since the printer always writes floats with a `.` or an exponent anyway.

import type { Span } from '../../dsl/ast.js';
import { closest } from '../../dsl/diagnostics.js';
import type { AttrSpec, AttrValue, Attrs } from './ops/op.js';
import type { OpName } from './ops/registry.js';
import { opDef } from './ops/registry.js';
import type { Report, Token } from './parse-lexer.js';
import { isDType } from './types.js';

/** An attribute value as written, converted once the schema kind is known. */
export interface Literal {
  readonly kind: 'number' | 'ident' | 'list';
  readonly text: string;
  readonly items: readonly Token[];
  readonly span: Span;
}

export interface AttrEntry {
  readonly key: Token;
  readonly value: Literal;
}

export const INT_TEXT = /^-?[0-9]+$/;
const MAX_SUGGEST_LENGTH = 64;
const MAX_SUGGEST_CANDIDATES = 5000;

/**
 * A did-you-mean candidate, or ''. Edit distance is quadratic in the name and runs once per
 * candidate, so long names and huge candidate sets (a hostile file) get no suggestion.
 */
export function suggest(name: string, candidates: readonly string[]): string {
  if (name.length > MAX_SUGGEST_LENGTH || candidates.length > MAX_SUGGEST_CANDIDATES) return '';
  return closest(name, candidates.filter((c) => Math.abs(c.length - name.length) <= 3)) ?? '';
}

/** User text as a message quotes it: long tokens are cut so one line stays readable. */
export function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function describeLiteral(l: Literal): string {
  if (l.kind === 'list') return 'a list';
  if (l.kind === 'ident') return `'${clip(l.text)}'`;
  return INT_TEXT.test(l.text) ? `the integer ${clip(l.text)}` : `the number ${clip(l.text)}`;
}

const KIND_TEXT: Readonly<Record<AttrSpec['kind'], string>> = {
  int: 'an integer',
  float: 'a number',
  bool: 'true or false',
  ints: 'a list of integers like [1, 2]',
  dtype: 'one of f32, i32, bool',
};

/** An integer literal as a safe integer; null after reporting one out of range. */
export function integerValue(text: string, span: Span, report: Report): number | null {
  const v = Number(text);
  if (Number.isSafeInteger(v)) return v;
  report('E0705', span, { text: clip(text), reason: 'the integer is out of range' });
  return null;
}

/** Attributes checked against the op's schema; null after reporting every mismatch. */
export function checkAttrs(op: OpName, opTok: Token, entries: readonly AttrEntry[], report: Report): Attrs | null {
  const schema = opDef(op).attrs;
  const names = Object.keys(schema);
  const known = names.length > 0 ? names.join(', ') : 'none';
  const seen = new Set<string>();
  const out: [string, AttrValue][] = [];
  let ok = true;
  for (const { key, value } of entries) {
    const spec = Object.hasOwn(schema, key.text) ? schema[key.text] : undefined;
    if (!spec) {
      report('E0715', key.span, { op, name: clip(key.text), suggestion: suggest(key.text, names), known });
      ok = false;
    } else if (seen.has(key.text)) {
      report('E0717', key.span, { name: key.text });
      ok = false;
    } else {
      seen.add(key.text);
      const v = attrValue(op, key.text, spec, value, report);
      if (v === null) ok = false;
      else out.push([key.text, v]);
    }
  }
  for (const name of names) {
    if (!seen.has(name)) {
      report('E0716', opTok.span, { op, name, known });
      ok = false;
    }
  }
  return ok ? Object.fromEntries(out) : null;
}

function attrValue(op: OpName, name: string, spec: AttrSpec, lit: Literal, report: Report): AttrValue | null {
  switch (spec.kind) {
    case 'int':
      if (lit.kind === 'number' && INT_TEXT.test(lit.text)) return integerValue(lit.text, lit.span, report);
      break;
    case 'float':
      if (lit.kind === 'number') {
        const v = Number(lit.text);
        if (Number.isFinite(v)) return v;
        report('E0705', lit.span, { text: clip(lit.text), reason: 'it is not a finite double' });
        return null;
      }
      break;
    case 'bool':
      if (lit.kind === 'ident' && (lit.text === 'true' || lit.text === 'false')) return lit.text === 'true';
      break;
    case 'ints':
      if (lit.kind === 'list' && lit.items.every((t) => INT_TEXT.test(t.text))) {
        const xs = lit.items.map((t) => integerValue(t.text, t.span, report));
        return xs.every((x) => x !== null) ? (xs as number[]) : null;
      }
      break;
    case 'dtype':
      if (lit.kind === 'ident' && isDType(lit.text)) return lit.text;
      break;
    default:
      return spec.kind satisfies never;
  }
  report('E0718', lit.span, { name, op, expected: KIND_TEXT[spec.kind], got: describeLiteral(lit) });
  return null;
}
