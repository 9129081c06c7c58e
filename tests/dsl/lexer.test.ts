// Lexer tests: token kinds, the newline layout pass, bracket matching, string scanning, character names.

import { describe, expect, it } from 'vitest';
import { describeChar, layoutNewlines, LineMap, matchBrackets, scanString, tokenize } from '../../dsl/lexer.js';

function lex(source: string) {
  return tokenize(new LineMap('t.sinter', source));
}

/** The tokens the parser sees, newlines shown as '⏎'. */
function laidOut(source: string): string {
  return layoutNewlines(lex(source).tokens)
    .map((t) => (t.tokenType.name === 'Newline' ? '⏎' : t.image))
    .join(' ');
}

describe('tokens', () => {
  it('reads keywords, names, numbers, strings and operators; skips spaces and comments', () => {
    const { tokens, diagnostics } = lex('layer layers in0 _x 1.5e-3 0..28 "a b" |> -> @ # comment ( ) ;');
    expect(diagnostics).toEqual([]);
    expect(tokens.map((t) => [t.tokenType.name, t.image])).toEqual([
      ['Layer', 'layer'],
      ['Identifier', 'layers'],
      ['Identifier', 'in0'],
      ['Identifier', '_x'],
      ['NumberLit', '1.5e-3'],
      ['NumberLit', '0'],
      ['DotDot', '..'],
      ['NumberLit', '28'],
      ['StringLit', '"a b"'],
      ['Pipe', '|>'],
      ['Arrow', '->'],
      ['At', '@'],
    ]);
  });

  it('tracks lines and columns with \\n and \\r\\n line ends', () => {
    const { tokens } = lex('a\r\n  b\n\tc');
    const names = tokens.filter((t) => t.tokenType.name === 'Identifier');
    expect(names.map((t) => [t.image, t.startLine, t.startColumn])).toEqual([
      ['a', 1, 1],
      ['b', 2, 3],
      ['c', 3, 2],
    ]);
  });

  it('maps offsets to positions, clamping past the end', () => {
    const lines = new LineMap('f', 'ab\ncd');
    expect([0, 2, 3, 5, 99].map((o) => lines.pos(o))).toEqual([
      { offset: 0, line: 1, col: 1 },
      { offset: 2, line: 1, col: 3 },
      { offset: 3, line: 2, col: 1 },
      { offset: 5, line: 2, col: 3 },
      { offset: 5, line: 2, col: 3 },
    ]);
  });
});

describe('the layout pass', () => {
  it('keeps newlines that end statements inside a body, once per run', () => {
    expect(laidOut('m {\n\n a\n\n\n b ; c\n}')).toBe('m { a ⏎ b ; c ⏎ }');
  });

  it('drops newlines between items', () => {
    expect(laidOut('a {\n}\n\nb {\n}\n')).toBe('a { } b { }');
  });

  it('drops newlines inside closed ( and [ but not inside an unclosed one', () => {
    expect(laidOut('m {\n f(a,\n b)\n x = [1\n, 2]\n}')).toBe('m { f ( a , b ) ⏎ x = [ 1 , 2 ] ⏎ }');
    expect(laidOut('m {\n f(a\n b\n}')).toBe('m { f ( a ⏎ b ⏎ }');
  });

  it('drops a newline after a token that cannot end a statement, or before |>', () => {
    expect(laidOut('m {\n y = a +\n b\n z = x\n |> f\n}')).toBe('m { y = a + b ⏎ z = x |> f ⏎ }');
  });

  it('keeps it when the next line can only start a statement, which no valid program continues onto', () => {
    expect(laidOut('m {\n y = a +\n return y\n z =\n w = 1\n}')).toBe('m { y = a + ⏎ return y ⏎ z = ⏎ w = 1 ⏎ }');
  });
});

describe('brackets', () => {
  it('matches openers to closers, leaving the unclosed ones at -1', () => {
    const { tokens } = lex('( [ ] { ( } )');
    expect([...matchBrackets(tokens)].sort((a, b) => a[0] - b[0])).toEqual([
      [0, 6],
      [1, 2],
      [3, 5],
      [4, -1],
    ]);
  });
});

describe('strings', () => {
  it('resolves \\" \\\\ \\n, notes other escapes, and knows whether it was closed', () => {
    expect(scanString(String.raw`"a\"b\\c\nd"`)).toEqual({ value: 'a"b\\c\nd', closed: true, badEscapes: [] });
    expect(scanString(String.raw`"x\ty"`)).toEqual({ value: 'xy', closed: true, badEscapes: [2] });
    expect(scanString(String.raw`"open\"`)).toEqual({ value: 'open"', closed: false, badEscapes: [] });
    expect(scanString('"trailing\\')).toEqual({ value: 'trailing', closed: false, badEscapes: [] });
  });
});

describe('character names', () => {
  it('quotes printable ASCII, adds the code point to other letters, and shows only the code point otherwise', () => {
    expect(['$', 'é', '字', ' ', '\u0000', '\u200b', '😀'].map(describeChar)).toEqual([
      "'$'",
      "'é' (U+00E9)",
      "'字' (U+5B57)",
      'U+0020',
      'U+0000',
      'U+200B',
      'U+1F600',
    ]);
  });
});
