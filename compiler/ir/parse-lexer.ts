// The lexer of the textual IR: tokens pulled one at a time, so a 16 MiB file never holds a token array.
//
// Newlines carry no meaning (the grammar is LL(1) without them); `//` comments run to the end
// of the line. Bad characters are reported and skipped, so the parser sees a clean stream.

import type { Pos, Span } from '../../dsl/ast.js';
import type { Code, MessageArgs } from '../../dsl/messages.js';

export type TokenKind = 'ident' | 'value' | 'global' | 'number' | 'string' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** ident: the word; value/global: the name without `%`/`@`; number: its digits; string: decoded; punct: itself. */
  readonly text: string;
  readonly span: Span;
}

/** Reports one diagnostic; may throw to stop the parse (the parser's error cap). */
export type Report = (code: Code, span: Span, args?: MessageArgs) => void;

/** Longest token accepted whole; longer ones are reported (file paths fit comfortably). */
export const MAX_TOKEN_LENGTH = 4096;

const PUNCT = new Set(['(', ')', '{', '}', '[', ']', ',', ':', '=']);
const NUMBER_RE = /-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING_BODY_RE = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 46;
}

/** A character as a message shows it: printable ASCII quoted, anything else as U+XXXX. */
export function describeChar(ch: string): string {
  const c = ch.codePointAt(0)!;
  return c > 32 && c < 127 ? `'${ch}'` : `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

export class Lexer {
  private offset = 0;
  private line = 1;
  private col = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly report: Report,
  ) {}

  next(): Token {
    for (;;) {
      const tok = this.scan();
      if (tok) return tok;
    }
  }

  /** The next token, or null after reporting and skipping something that is not one. */
  private scan(): Token | null {
    this.skipTrivia();
    const start = this.pos();
    if (this.offset >= this.text.length) return { kind: 'eof', text: '', span: this.span(start) };
    const ch = this.text[this.offset]!;
    const c = ch.charCodeAt(0);
    if (isIdentStart(c)) return this.word('ident', start, 0);
    if (ch === '%' || ch === '@') return this.sigil(ch, start);
    if ((c >= 48 && c <= 57) || (ch === '-' && /[0-9]/.test(this.text[this.offset + 1] ?? ''))) return this.number(start);
    if (ch === '"') return this.string(start);
    if (ch === '-' && this.text[this.offset + 1] === '>') {
      this.advance(2);
      return { kind: 'punct', text: '->', span: this.span(start) };
    }
    if (PUNCT.has(ch)) {
      this.advance(1);
      return { kind: 'punct', text: ch, span: this.span(start) };
    }
    const whole = String.fromCodePoint(this.text.codePointAt(this.offset)!);
    this.advance(whole.length);
    this.report('E0701', this.span(start), { char: describeChar(whole) });
    return null;
  }

  private pos(): Pos {
    return { offset: this.offset, line: this.line, col: this.col };
  }

  private span(start: Pos): Span {
    return { file: this.file, start, end: this.pos() };
  }

  /** Moves over n characters that contain no newline. */
  private advance(n: number): void {
    this.offset += n;
    this.col += n;
  }

  private skipTrivia(): void {
    const t = this.text;
    while (this.offset < t.length) {
      const ch = t[this.offset]!;
      if (ch === '\n') {
        this.offset++;
        this.line++;
        this.col = 1;
      } else if (ch === ' ' || ch === '\t' || ch === '\r') {
        this.advance(1);
      } else if (ch === '/' && t[this.offset + 1] === '/') {
        const nl = t.indexOf('\n', this.offset);
        this.advance((nl < 0 ? t.length : nl) - this.offset);
      } else {
        return;
      }
    }
  }

  /** An identifier-like run of [A-Za-z0-9_.] starting `skip` characters after the token start. */
  private word(kind: TokenKind, start: Pos, skip: number): Token {
    let end = this.offset + skip;
    while (end < this.text.length && isIdentPart(this.text.charCodeAt(end))) end++;
    const text = this.text.slice(this.offset + skip, end);
    this.advance(end - this.offset);
    return this.token(kind, text, start);
  }

  private sigil(ch: string, start: Pos): Token | null {
    const c = this.text.charCodeAt(this.offset + 1);
    if (!isIdentPart(c) || c === 46) {
      this.advance(1);
      this.report('E0706', this.span(start), { expected: `a name after '${ch}'`, got: this.offset < this.text.length ? describeChar(this.text[this.offset]!) : 'end of input' });
      return null;
    }
    return this.word(ch === '%' ? 'value' : 'global', start, 1);
  }

  private number(start: Pos): Token {
    NUMBER_RE.lastIndex = this.offset;
    const m = NUMBER_RE.exec(this.text)!;
    this.advance(m[0].length);
    return this.token('number', m[0], start);
  }

  private string(start: Pos): Token | null {
    STRING_BODY_RE.lastIndex = this.offset + 1;
    const body = STRING_BODY_RE.exec(this.text)!;
    const end = this.offset + 1 + body[0].length;
    const stop = this.text[end];
    if (stop !== '"') {
      const reason = stop === undefined || stop === '\n' || stop === '\r' ? 'unterminated string' : stop === '\\' ? 'invalid escape sequence' : 'control character in string';
      this.advance(end - this.offset);
      this.report('E0702', this.span(start), { reason });
      this.skipRestOfLine();
      return null;
    }
    const raw = this.text.slice(this.offset, end + 1);
    this.advance(raw.length);
    return this.token('string', JSON.parse(raw) as string, start, raw.length);
  }

  private skipRestOfLine(): void {
    const nl = this.text.indexOf('\n', this.offset);
    this.advance((nl < 0 ? this.text.length : nl) - this.offset);
  }

  private token(kind: TokenKind, text: string, start: Pos, length = text.length): Token {
    const tok: Token = { kind, text, span: this.span(start) };
    if (length > MAX_TOKEN_LENGTH) this.report('E0704', tok.span, { size: length, limit: MAX_TOKEN_LENGTH });
    return tok;
  }
}
