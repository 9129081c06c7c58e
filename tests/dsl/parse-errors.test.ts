// Parser diagnostics: caps on hostile input, lexical errors, several syntax errors per run, recovered items.

import { describe, expect, it } from 'vitest';
import type { ModelDecl } from '../../dsl/ast.js';
import { renderDiagnostic } from '../../dsl/diagnostics.js';
import { MAX_TOKEN_LENGTH } from '../../dsl/lexer.js';
import { MAX_DIAGNOSTICS, MAX_NESTING, MAX_SOURCE_BYTES, MAX_TOKENS, parseProgram } from '../../dsl/parse.js';
import { MAX_EXPR_DEPTH } from '../../dsl/to-ast.js';

const FILE = 'bad.sinter';

function codes(source: string): string[] {
  return parseProgram(source, FILE).diagnostics.map((d) => d.code);
}

function messages(source: string): string[] {
  return parseProgram(source, FILE).diagnostics.map((d) => `${d.span.start.line}:${d.span.start.col} ${d.code} ${d.message}`);
}

/** A one-model program whose body is `body`. */
const model = (body: string) => `model M(x: [n]) -> y: [n] {\n${body}\n}\n`;

describe('caps on untrusted input', () => {
  it('rejects a file over 1 MiB of UTF-8 before lexing it', () => {
    const ascii = parseProgram('#'.repeat(MAX_SOURCE_BYTES + 1), FILE);
    expect(ascii.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ['E0003', `file is too large (${MAX_SOURCE_BYTES + 1} bytes; the limit is ${MAX_SOURCE_BYTES})`],
    ]);
    // 'é' is two bytes in UTF-8: this file is under the cap in characters but over it in bytes.
    expect(codes('#' + 'é'.repeat(MAX_SOURCE_BYTES / 2))).toEqual(['E0003']);
    expect(codes('#' + 'é'.repeat(MAX_SOURCE_BYTES / 2 - 1))).toEqual([]);
  });

  it('rejects more than 200,000 tokens before parsing', () => {
    expect(codes('x '.repeat(MAX_TOKENS))).not.toContain('E0007');
    const d = parseProgram('x '.repeat(MAX_TOKENS + 1), FILE).diagnostics;
    expect(d.map((x) => [x.code, x.span.start.col])).toEqual([['E0007', 2 * MAX_TOKENS + 1]]);
  });

  it('rejects tokens over 1,000 characters', () => {
    const long = 'a'.repeat(MAX_TOKEN_LENGTH + 1);
    expect(codes(model(`${'a'.repeat(MAX_TOKEN_LENGTH)} = x`))).toEqual([]);
    expect(codes(model(`${long} = x`))).toEqual(['E0004']);
    expect(codes(model(`y = ${'1'.repeat(MAX_TOKEN_LENGTH + 1)}`))).toEqual(['E0004']);
    expect(codes(model(`y = "${'s'.repeat(MAX_TOKEN_LENGTH)}"`))).toEqual(['E0004']);
  });

  it.each([
    ['(', ')'],
    ['[', ']'],
    ['{', '}'],
  ])('stops at nesting deeper than 128 with %s', (open, close) => {
    const at = (depth: number) => model(`y = ${open.repeat(depth)}x${close.repeat(depth)}`);
    // The model's own '{' is one level.
    expect(codes(at(MAX_NESTING - 1))).not.toContain('E0005');
    const d = parseProgram(at(MAX_NESTING), FILE).diagnostics;
    expect(d.map((x) => [x.code, x.message, x.span.start.col])).toEqual([['E0005', 'nesting is too deep (more than 128 levels)', 5 + MAX_NESTING - 1]]);
  });

  it('survives 10,000 levels of nesting and of unary minus', () => {
    expect(codes('('.repeat(10_000))).toEqual(['E0005']);
    expect(codes(model(`y = ${'-'.repeat(10_000)}x`))).toEqual(['E0005']);
    expect(codes(model(`y = ${'-'.repeat(MAX_NESTING)}x`))).toEqual([]);
  });

  it('rejects expressions nested deeper than the AST limit without brackets', () => {
    const ok = parseProgram(model(`y = x${' + x'.repeat(MAX_EXPR_DEPTH - 1)}`), FILE);
    expect(ok.diagnostics).toEqual([]);
    const deep = parseProgram(model(`y = x${' + x'.repeat(MAX_EXPR_DEPTH)}`), FILE);
    expect(deep.diagnostics.map((d) => d.code)).toEqual(['E0010']);
    expect(deep.program.items).toEqual([]);
    expect(codes(model(`y = x${'(x)'.repeat(MAX_EXPR_DEPTH + 1)}`))).toEqual(['E0010']);
  });

  it('rejects numbers that are not finite', () => {
    expect(messages(model('y = 1e309'))).toEqual(["2:5 E0006 invalid number '1e309'"]);
    expect(codes(model(`y = ${'9'.repeat(400)}`))).toEqual(['E0006']);
    expect(codes(model('y = 1e308'))).toEqual([]);
  });

  it('stops reporting after 50 diagnostics', () => {
    const d = parseProgram(model('y = x $ ;'.repeat(200)), FILE).diagnostics;
    expect(d).toHaveLength(MAX_DIAGNOSTICS + 1);
    expect(d[MAX_DIAGNOSTICS]!.message).toBe('too many errors; stopped after 50');
  });
});

describe('lexical errors', () => {
  it('names an unexpected character, escaped when it is not printable', () => {
    expect(messages(model('y = x ! 2'))).toEqual(["2:7 E0001 unexpected character '!'"]);
    expect(messages(model('y = x\u0000'))).toEqual(['2:6 E0001 unexpected character U+0000']);
    expect(messages(model('y = x \u200b'))).toEqual(['2:7 E0001 unexpected character U+200B']);
    expect(messages(model('y = x 😀'))).toEqual(['2:7 E0001 unexpected character U+1F600']);
    // A '\r' not followed by '\n' is not a line break.
    expect(messages(model('y = x\r z'))).toEqual(['2:6 E0001 unexpected character U+000D']);
  });

  it('skips a byte order mark at the start of the file, and only there', () => {
    expect(codes('\ufeff' + model('y = x'))).toEqual([]);
    expect(messages(model('y = \ufeffx'))).toEqual(['2:5 E0001 unexpected character U+FEFF']);
  });

  it('reports a run of unexpected characters once', () => {
    const d = parseProgram(model('y = x $$$ z'), FILE).diagnostics;
    expect(d.map((x) => [x.code, x.span.start.col, x.span.end.col])).toEqual([['E0001', 7, 10]]);
  });

  it('rejects non-ASCII letters in names, naming the letter, without a syntax error after it', () => {
    expect(messages(model('größe = x'))).toEqual(["2:3 E0001 unexpected character 'ö' (U+00F6)"]);
    expect(messages(model('y = x + π'))).toEqual(["2:9 E0001 unexpected character 'π' (U+03C0)"]);
    expect(messages(model('layerλ = x'))).toEqual(["2:6 E0001 unexpected character 'λ' (U+03BB)"]);
  });

  it('allows any character in strings and comments', () => {
    expect(codes(model('y = f(x, "größe → 😀") # π ≈ 3.14'))).toEqual([]);
  });

  it('reports unterminated strings and unknown escapes', () => {
    expect(messages(model('y = f("abc)'))).toEqual(['2:7 E0002 unterminated string']);
    expect(messages(model('y = f("abc\\")'))).toEqual(['2:7 E0002 unterminated string']);
    expect(messages(model('y = f("a\\tb\\q")'))).toEqual(["2:9 E0008 invalid escape '\\t' in string", "2:12 E0008 invalid escape '\\q' in string"]);
  });
});

describe('syntax errors', () => {
  it('reports one error per broken statement and keeps going', () => {
    const source = model(['a = (x +', 'b = x x', 'c = f(x,)', 'return a'].join('\n'));
    expect(messages(source)).toEqual([
      "2:9 E0101 expected an expression after '+', found end of line",
      "3:7 E0101 expected a new line or ';' after the statement, found 'x'",
      "4:9 E0101 expected an expression after ',', found ')'",
    ]);

  });

  it('names the bracket a missing closer belongs to', () => {
    expect(messages(model('y = f(x return y'))).toEqual(["2:9 E0101 expected ')' to close the call opened at 2:6, found 'return'"]);
    expect(messages(model('y = (x + 1'))).toEqual(["2:11 E0101 expected ')' to close the parenthesis opened at 2:5, found end of line"]);
    expect(messages(model('y = [1, 2'))).toEqual(["2:10 E0101 expected ']' to close the list opened at 2:5, found end of line"]);
    expect(messages('layer L(a, b(x: [n]) { x }')).toEqual(["1:13 E0101 expected ')' to close the parameter list opened at 1:8, found '('"]);
    expect(messages('train T {\n  a = 1')).toEqual(["2:8 E0101 expected '}' to close the train block opened at 1:9, found end of file"]);
  });

  it('reports an error in an item header once and parses the items after it', () => {
    const { program, diagnostics } = parseProgram('layer (x: [n]) { return x }\nmodel M(x: [n]) -> y: [n] { return x }\n', FILE);
    expect(diagnostics.map((d) => d.message)).toEqual(["expected a name after 'layer', found '('"]);
    expect(program.items.map((i) => i.kind)).toEqual(['model']);
  });

  it('skips a broken loop header together with its body', () => {
    const d = messages(model('for t in 3 {\n  h = 1\n}\nreturn h +'));
    expect(d).toEqual(["2:12 E0101 expected '..' after '3', found '{'", "5:11 E0101 expected an expression after '+', found end of line"]);
  });

  it('keeps the items that parsed and drops the ones with errors inside', () => {
    const source = [
      'layer A()(x: [n]) { return x }',
      'layer B()(x: [n]) { return x $ }',
      'model C(x: [n]) -> y: [n] { y = }',
      'train C { epochs = 5 }',
    ].join('\n');
    const { program, diagnostics } = parseProgram(source, FILE);
    expect(diagnostics.map((d) => d.span.start.line)).toEqual([2, 3]);
    expect(program.items.map((i) => (i.kind === 'train' ? i.model.name : i.name.name))).toEqual(['A', 'C']);
    expect(program.items[1]!.kind).toBe('train');
  });

  it('keeps an item that follows one whose closing brace is missing', () => {
    const { program, diagnostics } = parseProgram('model A(x: [n]) -> y: [n] {\n  return x\nmodel B(x: [n]) -> y: [n] { return x }', FILE);
    expect(diagnostics.map((d) => d.message)).toEqual(["expected '}' to close the block opened at 1:27, found 'model'"]);
    expect(program.items.map((i) => (i as ModelDecl).name.name)).toEqual(['B']);
  });

  it('points at the end of the previous token when the input ends early', () => {
    const source = 'model M(x: [n]) -> y: [n] {\n  y = x +   # trailing comment\n';
    const [d] = parseProgram(source, FILE).diagnostics;
    expect(d?.span.start).toEqual({ offset: 37, line: 2, col: 10 });
    expect(renderDiagnostic(d!, source)).toBe(
      [
        "bad.sinter:2:10: error[E0101]: expected an expression after '+', found end of file",
        '  |',
        '2 |   y = x +   # trailing comment',
        '  |          ^',
      ].join('\n'),
    );
  });
});
