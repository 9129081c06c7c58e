// The front end's entry: caps on untrusted input, lexing, parsing with recovery, readable syntax errors.

import { EOF, type CstElement, type CstNode, type IParserErrorMessageProvider, type IRecognitionException, type IToken, type TokenType } from 'chevrotain';
import type { Item, Pos, Program, Span } from './ast.js';
import { diag, type Diagnostic } from './diagnostics.js';
import {
  Arrow, At, Colon, Comma, DotDot, Equals, For, Identifier, In, Layer, LBrace, LBracket, LineMap, LParen, Minus, Model,
  Newline, NumberLit, Param, Pipe, Plus, RBrace, RBracket, Return, RParen, Semicolon, Sep, Slash, Star, StringLit, Train,
  layoutNewlines, tokenize,
} from './lexer.js';
import { SinterParser } from './parser.js';
import { toItem } from './to-ast.js';

/** Source files larger than this many UTF-8 bytes are rejected before lexing (E0003). */
export const MAX_SOURCE_BYTES = 1024 * 1024;
/** Files with more tokens than this are rejected before parsing (E0007). */
export const MAX_TOKENS = 200_000;
/** ( [ { nested deeper than this are rejected before parsing (E0005); chevrotain's recursion overflows near 700. */
export const MAX_NESTING = 128;
/** Reporting stops after this many diagnostics (E0009). */
export const MAX_DIAGNOSTICS = 50;

export interface ParseResult {
  /** The items that parsed without any diagnostic inside them. */
  readonly program: Program;
  readonly diagnostics: Diagnostic[];
}

/** Parses one .sinter source. Never throws: every problem with the input is a diagnostic. */
export function parseProgram(source: string, file: string): ParseResult {
  const lines = new LineMap(file, source);
  const empty = (diagnostics: Diagnostic[]): ParseResult => ({ program: { file, items: [] }, diagnostics });
  const bytes = utf8Length(source);
  if (bytes > MAX_SOURCE_BYTES) return empty([diag('E0003', lines.span(0, 0), { size: bytes, limit: MAX_SOURCE_BYTES })]);

  const lexed = tokenize(lines);
  if (lexed.tokens.length > MAX_TOKENS) {
    const t = lexed.tokens[MAX_TOKENS]!;
    return empty([diag('E0007', lines.token(t), { count: lexed.tokens.length, limit: MAX_TOKENS })]);
  }
  const tooDeep = checkNesting(lexed.tokens, lines);
  if (tooDeep !== null) return empty([...lexed.diagnostics.filter((d) => d.span.start.offset < tooDeep.span.start.offset), tooDeep]);

  const tokens = layoutNewlines(lexed.tokens);
  const parser = sharedParser();
  messages.reset(tokens, lines);
  parser.input = tokens;
  const cst = parser.program();
  // A syntax error after an unexpected character or an unterminated string on the same line is almost always its echo.
  const badLines = new Map(
    lexed.diagnostics.filter((d) => d.code === 'E0001' || d.code === 'E0002').reverse().map((d) => [d.span.start.line, d.span.start.offset]),
  );
  const syntax = syntaxDiagnostics(parser.errors, tokens, lines).filter((d) => !(d.span.start.offset > (badLines.get(d.span.start.line) ?? Infinity)));

  const diagnostics = [...lexed.diagnostics, ...syntax];
  const items: Item[] = [];
  for (const itemNode of keptItems(cst, parser.errors, diagnostics, source.length)) {
    const built = toItem(itemNode, lines);
    diagnostics.push(...built.diagnostics);
    if (built.diagnostics.length === 0) items.push(built.item);
  }
  return { program: { file, items }, diagnostics: capDiagnostics(diagnostics) };
}

/**
 * The items that parsed cleanly. Every recovery chevrotain makes inside an item records an
 * error whose token lies after the item's first token and no later than the next item's first
 * token (a '}' inserted at the end of an item is reported at the next item's keyword), so an
 * item is dropped when such an error, or any diagnostic, falls in that stretch.
 */
function keptItems(cst: CstNode, errors: readonly IRecognitionException[], diagnostics: readonly Diagnostic[], end: number): CstNode[] {
  const nodes = (cst.children['item'] ?? []).filter((n): n is CstNode => !isToken(n));
  const starts = nodes.map((n) => n.location?.startOffset ?? NaN);
  // Errors in the program rule itself (stray text between items) belong to no item.
  const inItems = errors.filter((e) => e.context.ruleStack.length > 1).map((e) => (isEof(e.token) ? end : e.token.startOffset));
  const syntaxAt = sorted(inItems);
  const anyAt = sorted(diagnostics.map((d) => d.span.start.offset));
  return nodes.filter((n, i) => {
    const start = starts[i]!;
    const itemEnd = n.location?.endOffset;
    if (Number.isNaN(start) || itemEnd === undefined || Number.isNaN(itemEnd)) return false;
    const next = starts[i + 1] ?? Infinity;
    return !anyIn(syntaxAt, start, Number.isNaN(next) ? Infinity : next) && !anyIn(anyAt, start, itemEnd);
  });
}

function sorted(xs: number[]): number[] {
  return xs.sort((a, b) => a - b);
}

/** Whether the sorted `xs` holds a value in (lo, hi]. */
function anyIn(xs: readonly number[], lo: number, hi: number): boolean {
  let a = 0;
  let b = xs.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (xs[mid]! <= lo) a = mid + 1;
    else b = mid;
  }
  return a < xs.length && xs[a]! <= hi;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** The first bracket that opens level MAX_NESTING + 1, as a diagnostic, or null. */
function checkNesting(tokens: readonly IToken[], lines: LineMap): Diagnostic | null {
  let depth = 0;
  let minuses = 0;
  for (const t of tokens) {
    const type = t.tokenType;
    if (type === LParen || type === LBracket || type === LBrace) depth++;
    else if ((type === RParen || type === RBracket || type === RBrace) && depth > 0) depth--;
    // A run of unary minus nests like brackets do.
    minuses = type === Minus ? minuses + 1 : 0;
    if (depth > MAX_NESTING || minuses > MAX_NESTING) return diag('E0005', lines.token(t), { limit: MAX_NESTING });
  }
  return null;
}

function isToken(e: CstElement): e is IToken {
  return 'image' in e;
}

/** Diagnostics in source order, at most MAX_DIAGNOSTICS of them and then E0009. */
function capDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const ordered = [...ds].sort((a, b) => a.span.start.offset - b.span.start.offset);
  if (ordered.length <= MAX_DIAGNOSTICS) return ordered;
  return [...ordered.slice(0, MAX_DIAGNOSTICS), diag('E0009', ordered[MAX_DIAGNOSTICS]!.span, { limit: MAX_DIAGNOSTICS })];
}

// ---- Syntax errors ----------------------------------------------------------------------

/** One parser for the process: building it analyses the grammar, which takes a while. */
let parserInstance: SinterParser | null = null;
function sharedParser(): SinterParser {
  parserInstance ??= new SinterParser(messages);
  return parserInstance;
}

// Separators, braces and item keywords end a segment: a statement, or a header before its '{'.
const SEGMENT_ENDS = new Set<TokenType>([Newline, Semicolon, LBrace, RBrace, Layer, Model, Train]);

/**
 * Chevrotain errors as diagnostics, pointing at what was found. Only the first error of each
 * segment is kept: after one mistake in a statement, recovery's guesses about the rest of it
 * produce echoes, not news.
 */
function syntaxDiagnostics(errors: readonly IRecognitionException[], tokens: readonly IToken[], lines: LineMap): Diagnostic[] {
  if (errors.length === 0) return [];
  const index = new Map(tokens.map((t, i) => [t, i]));
  const segment: number[] = [];
  let current = 0;
  for (const t of tokens) {
    segment.push(current);
    if (SEGMENT_ENDS.has(t.tokenType)) current++;
  }
  const out: Diagnostic[] = [];
  const reported = new Set<number>();
  for (const e of errors) {
    const at = index.get(e.token) ?? tokens.length;
    const seg = segment[at] ?? current;
    if (reported.has(seg)) continue;
    reported.add(seg);
    let before = at - 1;
    while (before >= 0 && tokens[before]!.tokenType === Newline) before--;
    out.push(diag('E0101', errorSpan(e.token, tokens[before], lines), { message: e.message }));
  }
  return out;
}

function isEof(t: IToken): boolean {
  return t.tokenType === EOF || Number.isNaN(t.startOffset);
}

function isEnd(t: IToken): boolean {
  return t.tokenType === EOF || t.tokenType === Newline || Number.isNaN(t.startOffset);
}

/** The found token's span; for end of line or file, the point just after the previous token. */
function errorSpan(found: IToken, previous: IToken | undefined, lines: LineMap): Span {
  if (!isEnd(found)) return lines.token(found);
  if (previous !== undefined && !Number.isNaN(previous.startOffset)) {
    const at = previous.startOffset + previous.image.length;
    return lines.span(at, at);
  }
  return lines.span(lines.source.length, lines.source.length);
}

const TOKEN_NAMES = new Map<TokenType, string>([
  [Identifier, 'a name'], [NumberLit, 'a number'], [StringLit, 'a string'], [Sep, "a new line or ';'"],
  [Newline, 'end of line'], [EOF, 'end of file'],
]);

/** How an expected token type reads in a message. */
function expectedName(t: TokenType): string {
  const named = TOKEN_NAMES.get(t);
  if (named !== undefined) return named;
  return typeof t.PATTERN === 'string' ? `'${t.PATTERN}'` : t.name;
}

/** How a found token reads in a message. */
function foundName(t: IToken): string {
  if (t.tokenType === EOF || Number.isNaN(t.startOffset)) return 'end of file';
  if (t.tokenType === Newline) return 'end of line';
  if (t.tokenType === StringLit) return 'a string';
  const image = t.image.length > 30 ? `${t.image.slice(0, 30)}…` : t.image;
  return `'${image}'`;
}

const EXPR_CONTINUERS = new Set<TokenType>([Plus, Minus, Star, Slash, At, Pipe, Equals, Colon, Comma, DotDot, Return, In, LParen, LBracket, Arrow]);
const CLOSER_OPENER = new Map<TokenType, TokenType>([[RParen, LParen], [RBracket, LBracket], [RBrace, LBrace]]);
const EXPRESSION_RULES = new Set(['expression', 'additive', 'multiplicative', 'unary', 'postfix', 'primary', 'exprStmt', 'arg', 'indexItem']);

// Each rule that consumes a closing bracket opened it too, so the rule names the bracket.
const BRACKET_OF_RULE: Readonly<Record<string, string>> = {
  callSuffix: 'call',
  parenExpr: 'parenthesis',
  configParams: 'parameter list',
  tensorParams: 'parameter list',
  modelOutputs: 'output list',
  typeExpr: 'type',
  indexSuffix: 'index',
  listExpr: 'list',
  block: 'block',
  trainDecl: 'train block',
};

/** What a rule that could not choose an alternative was looking for. */
const RULE_EXPECTS: Readonly<Record<string, string>> = {
  program: "'layer', 'model' or 'train'",
  item: "'layer', 'model' or 'train'",
  statement: 'a statement',
  modelOutputs: "the model's outputs, like 'logits: f32[batch, 10]' or '(a: [n], b: [n])'",
  tensorParams: "a tensor parameter like 'x: [n, d]'",
  indexSuffix: "an index like 0, ':' or '1:3'",
  typeExpr: "a type like '[n, 10]' or 'f32[n]'",
};

/** Builds chevrotain's error messages in Sinter's words; it sees the token stream being parsed. */
class SyntaxMessages implements IParserErrorMessageProvider {
  private tokens: readonly IToken[] = [];
  /** Built on the first error of a parse: most parses have none. */
  private index: Map<IToken, number> | null = null;
  private lines: LineMap | null = null;

  reset(tokens: readonly IToken[], lines: LineMap): void {
    this.tokens = tokens;
    this.index = null;
    this.lines = lines;
  }

  buildMismatchTokenMessage(o: { expected: TokenType; actual: IToken; previous: IToken; ruleName: string }): string {
    const found = foundName(o.actual);
    if (o.ruleName === 'program' && o.expected === EOF) return `expected ${RULE_EXPECTS['program']}, found ${found}`;
    if (o.ruleName === 'typeExpr' && o.expected === LBracket) return `expected ${RULE_EXPECTS['typeExpr']}, found ${found}`;
    // Where a body expects '}', a token that is not the end of the file or the next item more likely starts a statement too early.
    const startsItem = o.actual.tokenType === Layer || o.actual.tokenType === Model || o.actual.tokenType === Train;
    if ((o.ruleName === 'block' || o.ruleName === 'trainDecl') && o.expected === RBrace && !isEof(o.actual) && !startsItem) {
      return `expected a new line or ';' after the ${o.ruleName === 'block' ? 'statement' : 'setting'}, found ${found}`;
    }
    const opener = CLOSER_OPENER.get(o.expected);
    const kind = BRACKET_OF_RULE[o.ruleName];
    if (opener !== undefined && kind !== undefined) {
      const at = this.unclosedOpener(o.actual, opener);
      if (at !== null) return `expected ${expectedName(o.expected)} to close the ${kind} opened at ${at.line}:${at.col}, found ${found}`;
    }
    const prev = o.previous;
    const after = prev !== undefined && !isEnd(prev) && prev.tokenType !== Semicolon ? ` after ${foundName(prev)}` : '';
    return `expected ${expectedName(o.expected)}${after}, found ${found}`;
  }

  buildNotAllInputParsedMessage(o: { firstRedundant: IToken; ruleName: string }): string {
    return `expected ${RULE_EXPECTS['program']}, found ${foundName(o.firstRedundant)}`;
  }

  buildNoViableAltMessage(o: { expectedPathsPerAlt: TokenType[][][]; actual: IToken[]; previous: IToken; ruleName: string }): string {
    return this.noMatch(o.ruleName, o.expectedPathsPerAlt.flat(), o.actual[0], o.previous);
  }

  buildEarlyExitMessage(o: { expectedIterationPaths: TokenType[][]; actual: IToken[]; previous: IToken; ruleName: string }): string {
    return this.noMatch(o.ruleName, o.expectedIterationPaths, o.actual[0], o.previous);
  }

  private noMatch(ruleName: string, paths: TokenType[][], actual: IToken | undefined, previous: IToken): string {
    const found = actual === undefined ? 'end of file' : foundName(actual);
    const described = RULE_EXPECTS[ruleName];
    if (EXPRESSION_RULES.has(ruleName) || (described === undefined && startsExpression(paths))) {
      return `expected an expression${this.after(previous)}, found ${found}`;
    }
    if (described !== undefined) return `expected ${described}${this.after(previous)}, found ${found}`;
    const firsts = [...new Set(paths.map((p) => p[0]).filter((t): t is TokenType => t !== undefined).map(expectedName))];
    return `expected ${firsts.join(' or ')}${this.after(previous)}, found ${found}`;
  }

  /** " after 'x'" when the previous token explains what is missing. */
  private after(previous: IToken | undefined): string {
    if (previous === undefined || Number.isNaN(previous.startOffset) || previous.tokenType === Newline || previous.tokenType === Semicolon) return '';
    const t = previous.tokenType;
    if (EXPR_CONTINUERS.has(t) || t === Layer || t === Model || t === Train || t === Param || t === For) return ` after ${foundName(previous)}`;
    return '';
  }

  /** The position of the innermost bracket of type `opener` still open before `at`. */
  private unclosedOpener(at: IToken, opener: TokenType): Pos | null {
    this.index ??= new Map(this.tokens.map((t, i) => [t, i]));
    let i = this.index.get(at) ?? this.tokens.length;
    let depth = 0;
    while (--i >= 0) {
      const t = this.tokens[i]!.tokenType;
      if (t === RParen || t === RBracket || t === RBrace) depth++;
      else if (t === LParen || t === LBracket || t === LBrace) {
        if (depth > 0) depth--;
        else if (t === opener) break;
        else return null;
      }
    }
    if (i < 0 || this.lines === null) return null;
    return this.lines.pos(this.tokens[i]!.startOffset);
  }

}

function startsExpression(paths: TokenType[][]): boolean {
  return paths.some((p) => p[0] === NumberLit || p[0] === StringLit);
}

const messages = new SyntaxMessages();
