// The Sinter lexer: chevrotain token types, lexical diagnostics, and the newline layout pass.

import { createToken, Lexer, type CustomPatternMatcherReturn, type IToken, type TokenType } from 'chevrotain';
import type { Pos, Span } from './ast.js';
import { diag, type Diagnostic } from './diagnostics.js';

/** Identifiers, numbers and strings longer than this are rejected (E0004). */
export const MAX_TOKEN_LENGTH = 1000;

// Statement separators: newlines that survive the layout pass, and ';'.
export const Sep = createToken({ name: 'Sep', pattern: Lexer.NA });
export const Newline = createToken({ name: 'Newline', pattern: /\r?\n/, line_breaks: true, categories: [Sep] });
export const Semicolon = createToken({ name: 'Semicolon', pattern: ';', categories: [Sep] });
const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t]+/, group: Lexer.SKIPPED });
const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: Lexer.SKIPPED });
// Some editors start UTF-8 files with a byte order mark; anywhere else U+FEFF is an unexpected character.
const ByteOrderMark = createToken({
  name: 'ByteOrderMark',
  pattern: { exec: (text: string, offset: number) => (offset === 0 && text.charCodeAt(0) === 0xfeff ? execResult('\ufeff') : null) },
  start_chars_hint: [0xfeff],
  line_breaks: false,
  group: Lexer.SKIPPED,
});

// A name that contains a non-ASCII letter: reported (E0001) and then parsed as an Identifier,
// so one stray 'é' does not also cause a cascade of syntax errors.
const unicodeWordRe = /[\p{L}_][\p{L}\p{M}\p{N}_]*/uy;
const NON_ASCII_STARTS = Array.from({ length: 0xffff - 0x7f }, (_, i) => i + 0x80);
const UnicodeWord = createToken({
  name: 'UnicodeWord',
  pattern: { exec: (text: string, offset: number) => matchUnicodeWord(text, offset) },
  start_chars_hint: NON_ASCII_STARTS,
  line_breaks: false,
});

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, longer_alt: [UnicodeWord] });

function keyword(word: string, categories: TokenType[] = []): TokenType {
  return createToken({ name: word[0]!.toUpperCase() + word.slice(1), pattern: word, longer_alt: [UnicodeWord, Identifier], categories });
}
export const Layer = keyword('layer');
export const Model = keyword('model');
export const Train = keyword('train');
export const Param = keyword('param');
export const For = keyword('for');
// 'in' is a keyword only after a for loop's variable; elsewhere it is a name (`x: [n, in]`).
export const In = keyword('in', [Identifier]);
export const Return = keyword('return');

export const NumberLit = createToken({ name: 'NumberLit', pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/ });
// A string may run to the end of its line; a missing closing quote is reported, not fatal.
export const StringLit = createToken({ name: 'StringLit', pattern: /"(?:[^"\\\r\n]|\\[^\r\n]?)*"?/ });

export const Pipe = createToken({ name: 'Pipe', pattern: '|>' });
export const Arrow = createToken({ name: 'Arrow', pattern: '->' });
export const DotDot = createToken({ name: 'DotDot', pattern: '..' });
export const LParen = createToken({ name: 'LParen', pattern: '(' });
export const RParen = createToken({ name: 'RParen', pattern: ')' });
export const LBracket = createToken({ name: 'LBracket', pattern: '[' });
export const RBracket = createToken({ name: 'RBracket', pattern: ']' });
export const LBrace = createToken({ name: 'LBrace', pattern: '{' });
export const RBrace = createToken({ name: 'RBrace', pattern: '}' });
export const Comma = createToken({ name: 'Comma', pattern: ',' });
export const Colon = createToken({ name: 'Colon', pattern: ':' });
export const Equals = createToken({ name: 'Equals', pattern: '=' });
export const Plus = createToken({ name: 'Plus', pattern: '+' });
export const Minus = createToken({ name: 'Minus', pattern: '-' });
export const Star = createToken({ name: 'Star', pattern: '*' });
export const Slash = createToken({ name: 'Slash', pattern: '/' });
export const At = createToken({ name: 'At', pattern: '@' });

// Anything else, one code point at a time, in its own group: the lexer itself never fails.
const ALL_BUT_NEWLINE = Array.from({ length: 0x10000 }, (_, i) => i).filter((c) => c !== 0x0a);
const Unexpected = createToken({
  name: 'Unexpected',
  pattern: { exec: (text: string, offset: number) => matchCodePoint(text, offset) },
  start_chars_hint: ALL_BUT_NEWLINE,
  line_breaks: false,
  group: 'unexpected',
});

/** Every token type the parser sees (the order is the lexer's priority order). */
export const allTokens: TokenType[] = [
  ByteOrderMark, WhiteSpace, Comment, Newline, Semicolon, Sep,
  Layer, Model, Train, Param, For, In, Return,
  Identifier, UnicodeWord, NumberLit, StringLit,
  Pipe, Arrow, DotDot, LParen, RParen, LBracket, RBracket, LBrace, RBrace,
  Comma, Colon, Equals, Plus, Minus, Star, Slash, At,
  Unexpected,
];

const sinterLexer = new Lexer(allTokens, {
  lineTerminatorsPattern: /\n/g,
  lineTerminatorCharacters: ['\n'],
  ensureOptimizations: false,
});

function execResult(image: string): CustomPatternMatcherReturn {
  return [image] as unknown as CustomPatternMatcherReturn;
}

function matchUnicodeWord(text: string, offset: number): CustomPatternMatcherReturn | null {
  unicodeWordRe.lastIndex = offset;
  const m = unicodeWordRe.exec(text);
  // Pure ASCII words belong to Identifier and the keywords.
  if (m === null || !/[^\x00-\x7f]/.test(m[0])) return null;
  return execResult(m[0]);
}

function matchCodePoint(text: string, offset: number): CustomPatternMatcherReturn | null {
  const cp = text.codePointAt(offset);
  if (cp === undefined || cp === 0x0a) return null;
  return execResult(String.fromCodePoint(cp));
}

/** Maps offsets to 1-based line/col; lines end at '\n' (so a '\r\n' file has the same lines). */
export class LineMap {
  private readonly starts: number[] = [0];
  constructor(readonly file: string, readonly source: string) {
    for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  pos(offset: number): Pos {
    const o = Math.max(0, Math.min(offset, this.source.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { offset: o, line: lo + 1, col: o - this.starts[lo]! + 1 };
  }

  /** The span of [start, end) in offsets. */
  span(start: number, end: number): Span {
    return { file: this.file, start: this.pos(start), end: this.pos(Math.max(start, end)) };
  }

  /** The span of a lexed token (tokens never contain a line break, except Newline itself). */
  token(t: IToken): Span {
    return this.span(t.startOffset, t.startOffset + t.image.length);
  }
}

/** A character as diagnostics show it: printable ASCII quoted, anything else by code point. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const code = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  if (cp >= 0x21 && cp <= 0x7e) return `'${ch}'`;
  if (/^[\p{L}\p{N}]$/u.test(ch)) return `'${ch}' (${code})`;
  return code;
}

export interface LexResult {
  /** Tokens for the parser, before the layout pass; Newline tokens included. */
  readonly tokens: IToken[];
  readonly diagnostics: Diagnostic[];
}

/** Tokenizes `source`; never throws. Unexpected characters are dropped after being reported. */
export function tokenize(lines: LineMap): LexResult {
  const result = sinterLexer.tokenize(lines.source);
  const diagnostics: Diagnostic[] = [];
  const bad = result.groups['unexpected'] ?? [];
  // A run of adjacent unexpected characters is one mistake, reported once at its first character.
  for (let i = 0; i < bad.length; i++) {
    const first = bad[i]!;
    let end = first.startOffset + first.image.length;
    while (i + 1 < bad.length && bad[i + 1]!.startOffset === end) end += bad[++i]!.image.length;
    diagnostics.push(diag('E0001', lines.span(first.startOffset, end), { char: describeChar(first.image) }));
  }
  for (const t of result.tokens) {
    if (t.tokenType === UnicodeWord) diagnostics.push(unicodeWordDiagnostic(lines, t));
    if (t.image.length > MAX_TOKEN_LENGTH) {
      diagnostics.push(diag('E0004', lines.token(t), { size: t.image.length, limit: MAX_TOKEN_LENGTH }));
    } else if (t.tokenType === NumberLit && !Number.isFinite(Number(t.image))) {
      diagnostics.push(diag('E0006', lines.token(t), { text: t.image }));
    } else if (t.tokenType === StringLit) {
      diagnostics.push(...stringDiagnostics(lines, t));
    }
  }
  for (const t of result.tokens) {
    if (t.tokenType === UnicodeWord) {
      t.tokenType = Identifier;
      t.tokenTypeIdx = Identifier.tokenTypeIdx!;
    }
  }
  diagnostics.sort((a, b) => a.span.start.offset - b.span.start.offset);
  return { tokens: result.tokens, diagnostics };
}

function unicodeWordDiagnostic(lines: LineMap, t: IToken): Diagnostic {
  const at = t.image.search(/[^\x00-\x7f]/u);
  const ch = String.fromCodePoint(t.image.codePointAt(at)!);
  const start = t.startOffset + at;
  return diag('E0001', lines.span(start, start + ch.length), { char: describeChar(ch) }, 'identifiers use ASCII letters, digits and _');
}

interface ScannedString {
  readonly value: string;
  readonly closed: boolean;
  /** Offsets into the image of escapes other than \" \\ \n. */
  readonly badEscapes: readonly number[];
}

/** Reads a string token's image (which the token pattern guarantees starts with '"'). */
export function scanString(image: string): ScannedString {
  let value = '';
  const badEscapes: number[] = [];
  for (let i = 1; i < image.length; i++) {
    const c = image[i]!;
    if (c === '"') return { value, closed: true, badEscapes };
    if (c !== '\\') {
      value += c;
      continue;
    }
    const next = image[i + 1];
    if (next === undefined) break;
    if (next === 'n') value += '\n';
    else if (next === '"' || next === '\\') value += next;
    else badEscapes.push(i);
    i++;
  }
  return { value, closed: false, badEscapes };
}

function stringDiagnostics(lines: LineMap, t: IToken): Diagnostic[] {
  const scanned = scanString(t.image);
  const out = scanned.badEscapes.map((i) => {
    const start = t.startOffset + i;
    return diag('E0008', lines.span(start, start + 2), { escape: t.image.slice(i, i + 2) });
  });
  if (!scanned.closed) out.push(diag('E0002', lines.token(t)));
  return out;
}

const OPENERS = new Set<TokenType>([LParen, LBracket, LBrace]);
const CLOSER_OF = new Map<TokenType, TokenType>([[LParen, RParen], [LBracket, RBracket], [LBrace, RBrace]]);
const CLOSERS = new Set<TokenType>([RParen, RBracket, RBrace]);
// A line ending in one of these continues on the next line.
const CONTINUES = new Set<TokenType>([Equals, Comma, Colon, Arrow, Pipe, Plus, Minus, Star, Slash, At, DotDot, LParen, LBracket, LBrace]);

/**
 * For each opener's index, the index of its closer, or -1 when it is never closed. A closer
 * that matches an opener deeper in the stack closes it and leaves the ones above unclosed.
 */
export function matchBrackets(tokens: readonly IToken[]): Map<number, number> {
  const match = new Map<number, number>();
  const stack: number[] = [];
  tokens.forEach((t, i) => {
    if (OPENERS.has(t.tokenType)) {
      stack.push(i);
      match.set(i, -1);
    } else if (CLOSERS.has(t.tokenType)) {
      const at = stack.findLastIndex((o) => CLOSER_OF.get(tokens[o]!.tokenType) === t.tokenType);
      if (at === -1) return;
      match.set(stack[at]!, i);
      stack.length = at;
    }
  });
  return match;
}

const ITEM_KEYWORDS = new Set<TokenType>([Layer, Model, Train]);
// Tokens that can only begin a statement or end a block: a line starting with one never continues the line before.
const STARTS_STATEMENT = new Set<TokenType>([Param, For, Return, RBrace]);

/**
 * The layout pass: which newlines separate statements. A newline is dropped inside a closed
 * ( ) or [ ], outside every { } and before an item keyword or the end of the file (items need
 * no separators), after another separator, before a line starting with '|>', and after a token
 * that cannot end a statement. That last rule has one exception, which changes no valid
 * program: a line that can only start a statement (a keyword, '}', or `name =`) is not glued
 * to the line before, so `y = x +` followed by `return y` reports the missing operand on its
 * own line. Likewise a ( or [ that is never closed swallows no newline, so the error stays on
 * the line that has it.
 */
export function layoutNewlines(tokens: readonly IToken[]): IToken[] {
  const match = matchBrackets(tokens);
  const unclosed = new Set<IToken>(tokens.filter((_, i) => match.get(i) === -1));
  // For each position, the index of the first token at or after it that is not a newline.
  const nextReal = new Array<number>(tokens.length + 1);
  nextReal[tokens.length] = tokens.length;
  for (let i = tokens.length - 1; i >= 0; i--) nextReal[i] = tokens[i]!.tokenType === Newline ? nextReal[i + 1]! : i;
  const out: IToken[] = [];
  // Open brackets, innermost last: the closer each waits for, and whether it swallows newlines.
  const open: { closer: TokenType; swallows: boolean }[] = [];
  tokens.forEach((t, i) => {
    const type = t.tokenType;
    if (type !== Newline) {
      // A ( or [ that is never closed does not change how the lines after it are read; a { that
      // is never closed still holds statements.
      if (type === LBrace || (OPENERS.has(type) && match.get(i) !== -1)) {
        open.push({ closer: CLOSER_OF.get(type)!, swallows: type !== LBrace });
      } else if (CLOSERS.has(type)) {
        const at = open.findLastIndex((o) => o.closer === type);
        if (at !== -1) open.length = at;
      }
      out.push(t);
      return;
    }
    const prev = out[out.length - 1];
    const j = nextReal[i]!;
    const next = tokens[j];
    const startsStatement =
      next !== undefined &&
      (STARTS_STATEMENT.has(next.tokenType) || (next.tokenType === Identifier || next.tokenType === In) && tokens[j + 1]?.tokenType === Equals);
    const continues = prev !== undefined && CONTINUES.has(prev.tokenType) && (prev.tokenType === LBrace || (!unclosed.has(prev) && !startsStatement));
    const dropped =
      open.length === 0 ||
      next === undefined ||
      ITEM_KEYWORDS.has(next.tokenType) ||
      open[open.length - 1]!.swallows ||
      prev === undefined ||
      prev.tokenType === Newline ||
      prev.tokenType === Semicolon ||
      next.tokenType === Pipe ||
      continues;
    if (!dropped) out.push(t);
  });
  return out;
}
