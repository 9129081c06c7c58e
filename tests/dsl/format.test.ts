// Pretty-printer tests: parentheses only where precedence needs them, literals that read back exactly, layout.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Expr, ModelDecl } from '../../dsl/ast.js';
import { formatExpr, formatNumber, formatProgram, formatString } from '../../dsl/format.js';
import { parseProgram } from '../../dsl/parse.js';
import { stripSpans } from './arb-ast.js';

function parseExpr(source: string): Expr {
  const { program, diagnostics } = parseProgram(`model M(x: [n]) -> y: [n] {\n${source}\n}`, 'f.sinter');
  expect(diagnostics).toEqual([]);
  const stmt = (program.items[0] as ModelDecl).body[0];
  if (stmt?.kind !== 'expr') throw new Error('not an expression statement');
  return stmt.value;
}

describe('formatExpr', () => {
  it.each([
    ['((a + b)) * (c)', '(a + b) * c'],
    ['a - (b - c)', 'a - (b - c)'],
    ['(a - b) - c', 'a - b - c'],
    ['a |> (f |> g)', 'a |> (f |> g)'],
    ['(a |> f) |> g', 'a |> f |> g'],
    ['-(a + b)', '-(a + b)'],
    ['(-a)(b)', '(-a)(b)'],
    ['-(-a)', '--a'],
    ['(a + b)[0, :, 1:, :n]', '(a + b)[0, :, 1:, :n]'],
    ['f(k:   v,x)', 'f(k: v, x)'],
    ['[ ]', '[]'],
  ])('%s prints as %s', (source, printed) => {
    expect(formatExpr(parseExpr(source))).toBe(printed);
  });
});

describe('literals', () => {
  it('prints integers with all their digits and floats with a point or an exponent', () => {
    expect(formatNumber(3, true)).toBe('3');
    expect(formatNumber(3, false)).toBe('3.0');
    expect(formatNumber(1e21, true)).toBe('1000000000000000000000');
    expect(formatNumber(1e21, false)).toBe('1e+21');
    expect(formatNumber(0.001, false)).toBe('0.001');
    expect(formatNumber(-2, true)).toBe('-2');
  });

  it('reads every printed number back to the same value and kind', () => {
    for (const [value, isInt] of [[0, true], [9007199254740991, true], [1e21, true], [5e-324, false], [1.7976931348623157e308, false], [0.1, false]] as const) {
      const e = parseExpr(formatNumber(value, isInt));
      expect(e.kind === 'number' && [e.value, e.isInt]).toEqual([value, isInt]);
    }
  });

  it('escapes only quote, backslash and newline in strings', () => {
    expect(formatString('a"b\\c\nd\té')).toBe('"a\\"b\\\\c\\nd\té"');
    const e = parseExpr(formatString('a"b\\c\nd\té'));
    expect(e.kind === 'string' && e.value).toBe('a"b\\c\nd\té');
  });
});

describe('formatProgram', () => {
  const example = readFileSync(join(import.meta.dirname, 'fixtures', 'fashion.sinter'), 'utf8');
  const parsed = parseProgram(example, 'fashion.sinter').program;

  it('prints the example so that it parses back to the same AST', () => {
    const printed = formatProgram(parsed);
    expect(stripSpans(parseProgram(printed, 'fashion.sinter').program)).toEqual(stripSpans(parsed));
  });

  it('lays items out with blank lines between them and two-space indentation', () => {
    const printed = formatProgram(parseProgram('layer L()(x: [n]) { for i in 0..2 { x = f(x) }; return x } train L { a = 1 }', 'f').program);
    expect(printed).toBe(['layer L()(x: [n]) {', '  for i in 0..2 {', '    x = f(x)', '  }', '  return x', '}', '', 'train L {', '  a = 1', '}', ''].join('\n'));
  });
});
