// Parser robustness: on random and mutated text it never throws, and its spans and results stay consistent.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Span } from '../../dsl/ast.js';
import type { AttrKind } from '../../compiler/ir/ops/op.js';
import { OP_NAMES, opDef } from '../../compiler/ir/ops/registry.js';
import { parseGraph } from '../../compiler/ir/parse.js';
import { formatAttrValue, printGraph } from '../../compiler/ir/print.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { arbGraph } from '../helpers/random-graph.js';

/** Line and column (1-based, in UTF-16 units) of an offset, computed independently of the lexer. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, col: lines[lines.length - 1]!.length + 1 };
}

function expectSpanInText(span: Span, text: string): void {
  expect(span.file).toBe('fuzz.ir');
  expect(span.start.offset).toBeGreaterThanOrEqual(0);
  expect(span.start.offset).toBeLessThanOrEqual(span.end.offset);
  expect(span.end.offset).toBeLessThanOrEqual(text.length);
  expect({ line: span.start.line, col: span.start.col }).toEqual(lineCol(text, span.start.offset));
}

/** Everything the parser promises about any input. */
function checkParse(text: string): void {
  const r = parseGraph(text, 'fuzz.ir');
  expect(r.graph === null).toBe(r.diagnostics.length > 0);
  expect(r.diagnostics.length).toBeLessThanOrEqual(101);
  for (const d of r.diagnostics) {
    expect(d.code).toMatch(/^E07\d\d$/);
    expect(d.message.length).toBeGreaterThan(0);
    expectSpanInText(d.span, text);
  }
  if (r.graph) {
    expect(verifyGraph(r.graph)).toEqual([]);
    const printed = printGraph(r.graph);
    expect(printGraph(parseGraph(printed, 'fuzz.ir').graph!)).toBe(printed);
  }
}

const TOKENS = [
  'graph', '@G', '%x', '%0', '%1', '(', ')', '{', '}', '[', ']', ',', ':', '=', '->', 'f32', 'i32', 'bool', 'f32[2]', 'f32[]',
  'param', 'state', 'return', 'loc', 'zeros', 'add', 'relu', 'conv2d', 'constant', 'true', 'false', '1', '-1', '0.5', '1e999',
  '99999999999999999999', '"a.sinter"', '"unterminated', '"\\q"', '//', '\n', ' ', '\t', 'constructor', '__proto__', '%', '@', '-', '.', '\u0000', '😀',
];

const arbMutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), what: fc.constantFrom(...TOKENS) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), what: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('swapLines' as const), at: fc.nat(), len: fc.nat() }),
);
type Mutation = typeof arbMutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(text: string, m: Mutation): string {
  const at = m.at % (text.length + 1);
  switch (m.kind) {
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.len);
    case 'insert':
      return text.slice(0, at) + m.what + text.slice(at);
    case 'replace':
      return text.slice(0, at) + m.what + text.slice(at + m.what.length);
    case 'swapLines': {
      const lines = text.split('\n');
      const i = m.at % lines.length;
      const j = m.len % lines.length;
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    default:
      return m satisfies never;
  }
}

const smallInt = fc.oneof(fc.integer({ min: -3, max: 8 }), fc.constantFrom(2 ** 31, 2 ** 52, -(2 ** 40)));
const ATTR_VALUES: Record<AttrKind, fc.Arbitrary<string>> = {
  int: smallInt.map(String),
  float: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => formatAttrValue('float', x)),
  bool: fc.boolean().map(String),
  ints: fc.array(smallInt, { maxLength: 9 }).map((xs) => `[${xs.join(', ')}]`),
  dtype: fc.constantFrom('f32', 'i32', 'bool'),
};

/** One node of a random op with well-formed but random attribute values, on inputs of assorted ranks. */
const arbNodeText = fc.constantFrom(...OP_NAMES).chain((op) => {
  const def = opDef(op);
  const attrs = Object.entries(def.attrs).map(([k, spec]) => ATTR_VALUES[spec.kind].map((v) => `${k} = ${v}`));
  const arity = def.arity === 'variadic' ? fc.integer({ min: 1, max: 3 }) : fc.constant(def.arity);
  const args = arity.chain((n) => fc.array(fc.constantFrom('%s', '%v', '%m', '%t', '%i'), { minLength: n, maxLength: n }));
  return fc.tuple(args, fc.tuple(...attrs)).map(([xs, kvs]) => {
    const braces = kvs.length > 0 ? ` {${kvs.join(', ')}}` : '';
    return `  %0 = ${op}(${xs.join(', ')})${braces} : f32[1]`;
  });
});

describe('parseGraph on hostile text', () => {
  it('never throws when type rules meet random attribute values (1,000 nodes)', () => {
    const head = 'graph @G(%s: f32[], %v: f32[3], %m: f32[2,3], %t: f32[1,2,5,5], %i: i32[4]) -> () {';
    fc.assert(
      fc.property(arbNodeText, (line) => checkParse(`${head}\n${line}\n  return\n}`)),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('never throws on random strings of any code units (500 inputs)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => checkParse(text)),
      { seed: 42, numRuns: 500 },
    );
  });

  it('never throws on random token soup after a valid header (500 inputs)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }), (toks) => {
        checkParse(`graph @G(%x: f32[2]) -> (y: f32[2]) {\n${toks.join(' ')}\n}`);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('never throws on mutated printouts of random graphs (1,000 inputs)', () => {
    fc.assert(
      fc.property(arbGraph(), fc.array(arbMutation, { minLength: 1, maxLength: 4 }), (g, ms) => {
        checkParse(ms.reduce(mutate, printGraph(g)));
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});
