// The textual IR parser: hand-written recursive descent over parse-lexer tokens; every error is a Diagnostic.
//
// Grammar (newlines are insignificant; `//` comments are skipped by the lexer):
//   file   := graph [memory]
//   graph  := 'graph' @Name '(' [%name ':' type, …] ')' '->' '(' [output, …] ')' '{' stmt* '}'
//   output := name ':' type ['aliases' %param]              (the param the output replaces after a run)
//   stmt   := ('param' | 'state') %name ':' type '=' init ['{' key '=' number, … '}']
//           | %result '=' op '(' [%value, …] ')' ['{' key '=' literal, … '}'] ':' type [loc]
//           | 'kernel' @name '{' node-stmt* '}'                (a fused kernel; kernels do not nest)
//           | 'return' [%value, …]                          (last statement, one value per output)
//   memory := 'memory' '{' (%node ':' int 'bytes' ('at' int | 'in' %param) ',' 'live' int 'to' int)* '}'
//   type   := dtype '[' [int, …] ']'       loc := 'loc' '(' "file" ':' line ':' col ')'
// Node results may be named freely (`%7`, `%h`); the printer renumbers them canonically.
// Values are defined before use, params included; an output's alias names a param of the
// body, so aliases are resolved at the return, once every param is declared. The parser recovers at the next line that
// starts a statement, so one run reports several errors; it never throws on any input.

import type { Span } from '../../dsl/ast.js';
import type { Diagnostic } from '../../dsl/diagnostics.js';
import { diag, formatLocation } from '../../dsl/diagnostics.js';
import type { Code, MessageArgs } from '../../dsl/messages.js';
import type { Graph, GraphInput, GraphOutput, GraphParam, InitKind, Loc, Node, ValueId } from './graph.js';
import { INIT_KINDS } from './graph.js';
import type { Attrs } from './ops/op.js';
import { OpTypeError } from './ops/op.js';
import type { OpName } from './ops/registry.js';
import { OP_NAMES, inferType, isOpName, opDef } from './ops/registry.js';
import type { AttrEntry, Literal } from './parse-attrs.js';
import { INT_TEXT, checkAttrs, clip, suggest } from './parse-attrs.js';
import type { Report, Token, TokenKind } from './parse-lexer.js';
import { Lexer } from './parse-lexer.js';
import type { IrLayout, KernelBlock, MemoryRow } from './print.js';
import { formatIrType, isIrName } from './print.js';
import type { TensorType } from './types.js';
import { MAX_RANK, MAX_TENSOR_ELEMENTS, checkedNumel, isDType, typesEqual } from './types.js';

/** Caps on untrusted IR text; callers (and tests) may lower them. */
export interface ParseLimits {
  readonly maxBytes: number;
  readonly maxNodes: number;
  /** Diagnostics reported before the parser gives up. */
  readonly maxDiagnostics: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxBytes: 16 * 1024 * 1024, maxNodes: 1_000_000, maxDiagnostics: 100 };

export interface ParseResult {
  readonly graph: Graph | null;
  readonly diagnostics: Diagnostic[];
  /** The kernel blocks and memory table, when the text has them (a fused, planned program). */
  readonly layout: IrLayout;
}

/** Parses one graph; `graph` is null whenever there is a diagnostic. Never throws on any text. */
export function parseGraph(text: string, file: string, limits: Partial<ParseLimits> = {}): ParseResult {
  const caps: ParseLimits = { ...DEFAULT_PARSE_LIMITS, ...limits };
  const size = utf8Length(text);
  if (size > caps.maxBytes) {
    const at = { offset: 0, line: 1, col: 1 };
    return { graph: null, diagnostics: [diag('E0703', { file, start: at, end: at }, { size, limit: caps.maxBytes })], layout: {} };
  }
  return new Parser(text, file, caps).run();
}

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Unwinds one statement after a syntax error (already reported). */
class SyntaxAbort {}
/** Unwinds the whole parse: error cap, node cap, or a broken header. */
class StopParse {}

interface ValueInfo {
  readonly id: ValueId;
  /** null when the defining statement was broken: uses stay silent instead of cascading. */
  readonly type: TensorType | null;
  readonly span: Span;
}

interface DeclaredOutput {
  readonly name: string;
  readonly type: TensorType | null;
  /** The `aliases %param` token, if any. */
  readonly alias: Token | null;
}

function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'ident':
    case 'punct':
      return `'${clip(t.text)}'`;
    case 'value':
      return `'%${clip(t.text)}'`;
    case 'global':
      return `'@${clip(t.text)}'`;
    case 'number':
      return `number ${clip(t.text)}`;
    case 'string':
      return 'a string';
    default:
      return t.kind satisfies never;
  }
}

class Parser {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly lexer: Lexer;
  private tok!: Token;
  private last!: Token;
  private nextId = 0;
  private nodeCount = 0;
  private graphName = '';
  private sawReturn = false;
  /** The name a statement defines, so a broken statement still defines it (as poisoned). */
  private pending: Token | null = null;
  private lexErrors = 0;
  /** Lexer errors before the current statement began. */
  private lexErrorsBefore = 0;
  private readonly values = new Map<string, ValueInfo>();
  private readonly namedValues: string[] = [];
  private readonly declaredOutputs: DeclaredOutput[] = [];
  private readonly outputNames = new Map<string, Span>();
  private readonly inputs: GraphInput[] = [];
  private readonly params: GraphParam[] = [];
  private readonly nodes: Node[] = [];
  private readonly outputs: GraphOutput[] = [];
  private readonly kernels: KernelBlock[] = [];
  private readonly kernelNames = new Map<string, Span>();
  private openKernel: { name: string; nodes: ValueId[] } | null = null;
  /** The first node statement outside any kernel. */
  private looseNode: Token | null = null;
  private memory: MemoryRow[] | null = null;

  constructor(
    text: string,
    private readonly file: string,
    private readonly caps: ParseLimits,
  ) {
    this.lexer = new Lexer(text, file, (code, span, args) => {
      this.lexErrors++;
      this.error(code, span, args);
    });
  }

  run(): ParseResult {
    try {
      this.tok = this.lexer.next();
      this.last = this.tok;
      this.header();
      this.body();
      if (this.isWord('memory')) this.memoryTable();
      if (this.tok.kind !== 'eof') this.syntax(this.memory ? 'end of input after the memory table' : "end of input or a 'memory' table after the graph");
    } catch (e) {
      if (!(e instanceof SyntaxAbort || e instanceof StopParse)) throw e;
    }
    if (this.diagnostics.length > 0) return { graph: null, diagnostics: this.diagnostics, layout: {} };
    const graph: Graph = { name: this.graphName, inputs: this.inputs, params: this.params, nodes: this.nodes, outputs: this.outputs };
    const layout: IrLayout = { ...(this.kernels.length > 0 ? { kernels: this.kernels } : {}), ...(this.memory ? { memory: this.memory } : {}) };
    return { graph, diagnostics: [], layout };
  }

  // ---- Errors and tokens ----

  private readonly report: Report = (code, span, args) => this.error(code, span, args);

  private error(code: Code, span: Span, args: MessageArgs = {}): void {
    this.diagnostics.push(diag(code, span, args));
    if (this.diagnostics.length >= this.caps.maxDiagnostics) {
      this.diagnostics.push(diag('E0728', span, { limit: this.caps.maxDiagnostics }));
      throw new StopParse();
    }
  }

  /** Reports a syntax error, unless the lexer already reported one in this statement (its likely cause). */
  private syntax(expected: string): never {
    if (this.lexErrors === this.lexErrorsBefore) this.error('E0706', this.tok.span, { expected, got: describeToken(this.tok) });
    throw new SyntaxAbort();
  }

  private advance(): Token {
    this.last = this.tok;
    this.tok = this.lexer.next();
    return this.last;
  }

  private isPunct(p: string): boolean {
    return this.tok.kind === 'punct' && this.tok.text === p;
  }

  private isWord(w: string): boolean {
    return this.tok.kind === 'ident' && this.tok.text === w;
  }

  private expectPunct(p: string): Token {
    if (!this.isPunct(p)) this.syntax(`'${p}'`);
    return this.advance();
  }

  private expectKind(kind: TokenKind, what: string): Token {
    if (this.tok.kind !== kind) this.syntax(what);
    return this.advance();
  }

  /** `item (',' item)* close`, or just `close`; the opening bracket is already consumed. */
  private list<T>(close: string, item: () => T): T[] {
    const out: T[] = [];
    if (this.isPunct(close)) {
      this.advance();
      return out;
    }
    for (;;) {
      out.push(item());
      if (this.isPunct(',')) this.advance();
      else if (this.isPunct(close)) {
        this.advance();
        return out;
      } else this.syntax(`',' or '${close}'`);
    }
  }

  private spanFrom(start: Span): Span {
    return { file: this.file, start: start.start, end: this.last.span.end };
  }

  // ---- Values ----

  private checkName(t: Token, what: string): void {
    if (!isIrName(t.text)) this.error('E0727', t.span, { name: clip(t.text), reason: `${what} names start with a letter or '_' and use letters, digits, '_' and '.'` });
  }

  /** Defines a value; null (after a diagnostic) when the name is taken. */
  private define(t: Token, type: TensorType | null): ValueId | null {
    const prev = this.values.get(t.text);
    if (prev) {
      this.error('E0709', t.span, { name: clip(t.text), first: formatLocation(prev.span) });
      return null;
    }
    const id = this.nextId++;
    this.values.set(t.text, { id, type, span: t.span });
    if (isIrName(t.text)) this.namedValues.push(t.text);
    return id;
  }

  /** The value a use refers to, or null after reporting it undefined. */
  private use(t: Token): ValueInfo | null {
    const info = this.values.get(t.text);
    if (!info) this.error('E0708', t.span, { name: clip(t.text), suggestion: INT_TEXT.test(t.text) ? '' : suggest(t.text, this.namedValues) });
    return info ?? null;
  }

  // ---- Header and body ----

  private header(): void {
    if (!this.isWord('graph')) this.syntax("'graph'");
    this.advance();
    const name = this.expectKind('global', "a graph name like '@Model'");
    this.checkName(name, 'graph');
    this.graphName = name.text;
    this.expectPunct('(');
    this.list(')', () => this.inputDecl());
    this.expectPunct('->');
    this.expectPunct('(');
    this.list(')', () => this.outputDecl());
    this.expectPunct('{');
  }

  private inputDecl(): void {
    const name = this.expectKind('value', "an input like '%x: f32[2]'");
    this.checkName(name, 'input');
    this.expectPunct(':');
    const { type } = this.type();
    const id = this.define(name, type);
    if (id !== null && type) this.inputs.push({ id, name: name.text, type });
  }

  private outputDecl(): void {
    const name = this.expectKind('ident', "an output like 'y: f32[2]'");
    this.expectPunct(':');
    const { type } = this.type();
    let alias: Token | null = null;
    if (this.isWord('aliases')) {
      this.advance();
      alias = this.expectKind('value', "the parameter the output replaces, like '%w'");
    }
    const first = this.outputNames.get(name.text);
    if (first) this.error('E0710', name.span, { name: clip(name.text), first: formatLocation(first) });
    else this.outputNames.set(name.text, name.span);
    this.declaredOutputs.push({ name: name.text, type, alias });
  }

  /**
   * Checks each output's alias: it names a param (not an input or a node), of the output's
   * declared type, that no earlier output aliases. Returns the valid alias of each output.
   */
  private resolveAliases(): (string | undefined)[] {
    const params = new Map(this.params.map((p) => [p.name, p]));
    const claimed = new Map<string, string>();
    return this.declaredOutputs.map((decl) => {
      const t = decl.alias;
      if (!t) return undefined;
      const param = params.get(t.text);
      if (!param) {
        const info = this.values.get(t.text);
        if (!info) this.error('E0708', t.span, { name: clip(t.text), suggestion: suggest(t.text, [...params.keys()]) });
        // A param whose statement was broken is poisoned (null type): it was reported already.
        else if (info.type !== null) this.error('E0727', t.span, { name: `%${clip(t.text)}`, reason: 'an output may alias only a parameter (param or state)' });
        return undefined;
      }
      if (decl.type && !typesEqual(decl.type, param.type)) {
        this.error('E0723', t.span, { name: clip(decl.name), declared: formatIrType(decl.type), value: `%${clip(t.text)}`, got: formatIrType(param.type) });
        return undefined;
      }
      const prev = claimed.get(t.text);
      if (prev !== undefined) {
        this.error('E0727', t.span, { name: `%${clip(t.text)}`, reason: `output '${clip(prev)}' already aliases this parameter` });
        return undefined;
      }
      claimed.set(t.text, decl.name);
      return t.text;
    });
  }

  private body(): void {
    for (;;) {
      if (this.isPunct('}')) {
        if (!this.openKernel) break;
        this.advance();
        this.kernels.push(this.openKernel);
        this.openKernel = null;
        continue;
      }
      if (this.tok.kind === 'eof') this.syntax(this.openKernel ? `'}' to close kernel @${clip(this.openKernel.name)}` : "'}' to close the graph");
      const line = this.tok.span.start.line;
      this.pending = null;
      this.lexErrorsBefore = this.lexErrors;
      try {
        if (this.sawReturn) this.syntax("'}' after return");
        this.statement();
      } catch (e) {
        if (!(e instanceof SyntaxAbort)) throw e;
        this.recover(line);
      }
    }
    if (!this.sawReturn) this.error('E0724', this.tok.span);
    this.advance();
  }

  private recover(line: number): void {
    const p = this.pending;
    if (p && !this.values.has(p.text)) this.values.set(p.text, { id: -1, type: null, span: p.span });
    const startsStatement = (): boolean =>
      this.isPunct('}') || this.tok.kind === 'value' || this.isWord('param') || this.isWord('state') || this.isWord('return') || this.isWord('kernel');
    while (this.tok.kind !== 'eof' && !(this.tok.span.start.line > line && startsStatement())) this.advance();
  }

  private statement(): void {
    if (this.openKernel) {
      if (this.tok.kind === 'value') this.nodeStmt();
      else this.syntax(`a node statement or '}' to close kernel @${clip(this.openKernel.name)}`);
    } else if (this.isWord('param') || this.isWord('state')) this.paramStmt();
    else if (this.isWord('return')) this.returnStmt();
    else if (this.isWord('kernel')) this.kernelOpen();
    else if (this.tok.kind === 'value') this.nodeStmt();
    else this.syntax("a statement: 'param', 'state', 'kernel', '%value = op(…)' or 'return'");
  }

  private kernelOpen(): void {
    this.advance();
    const name = this.expectKind('global', "a kernel name like '@k0'");
    this.checkName(name, 'kernel');
    const first = this.kernelNames.get(name.text);
    if (first) this.error('E0727', name.span, { name: `@${clip(name.text)}`, reason: `a kernel of this name is already defined at ${formatLocation(first)}` });
    else this.kernelNames.set(name.text, name.span);
    this.expectPunct('{');
    this.openKernel = { name: name.text, nodes: [] };
  }

  /** The memory table: one row per stored node value. */
  private memoryTable(): void {
    this.advance();
    this.expectPunct('{');
    const rows: MemoryRow[] = [];
    const params = new Set(this.params.map((p) => p.name));
    const nodeIds = new Set(this.nodes.map((n) => n.id));
    while (!this.isPunct('}')) {
      const v = this.expectKind('value', "a row like '%3: 1024 bytes at 0, live 0 to 2'");
      this.expectPunct(':');
      const bytes = this.count('a byte count');
      this.word('bytes');
      let at: MemoryRow['at'];
      if (this.isWord('in')) {
        this.advance();
        const p = this.expectKind('value', "the param whose storage holds the value, like '%w'");
        if (!params.has(p.text)) this.error('E0727', p.span, { name: `%${clip(p.text)}`, reason: 'a value stored in place must name a parameter' });
        at = { param: p.text };
      } else {
        this.word('at');
        if (this.isWord('half')) {
          this.advance();
          at = { half: this.count('a byte offset in the half arena') };
        } else at = { offset: this.count('a byte offset') };
      }
      this.expectPunct(',');
      this.word('live');
      const first = this.count('the first kernel');
      this.word('to');
      const last = this.count('the last kernel');
      const info = this.use(v);
      if (info && info.type && !nodeIds.has(info.id)) this.error('E0727', v.span, { name: `%${clip(v.text)}`, reason: 'the memory table lists node values only (inputs and params are not in the arena)' });
      if (info) rows.push({ value: info.id, bytes, at, first, last });
    }
    this.advance();
    this.memory = rows;
  }

  private word(w: string): void {
    if (!this.isWord(w)) this.syntax(`'${w}'`);
    this.advance();
  }

  /** A non-negative integer literal; 0 after reporting anything else. */
  private count(what: string): number {
    const t = this.expectKind('number', what);
    const v = Number(t.text);
    if (INT_TEXT.test(t.text) && Number.isSafeInteger(v) && v >= 0) return v;
    this.error('E0705', t.span, { text: clip(t.text), reason: `${what} must be a non-negative integer` });
    return 0;
  }

  private paramStmt(): void {
    const trainable = this.advance().text === 'param';
    const name = this.expectKind('value', "a parameter name like '%w'");
    this.pending = name;
    this.checkName(name, 'parameter');
    this.expectPunct(':');
    const { type } = this.type();
    this.expectPunct('=');
    const kind = this.expectKind('ident', 'an initializer such as zeros or glorot_uniform');
    const args = this.isPunct('{') ? this.initArgs() : {};
    const known = (INIT_KINDS as readonly string[]).includes(kind.text);
    if (!known) this.error('E0713', kind.span, { name: clip(kind.text), suggestion: suggest(kind.text, INIT_KINDS), known: INIT_KINDS.join(', ') });
    const id = this.define(name, type);
    if (id !== null && type && known) this.params.push({ id, name: name.text, type, init: { kind: kind.text as InitKind, args }, trainable });
  }

  private initArgs(): Record<string, number> {
    this.advance();
    const args = new Map<string, number>();
    this.list('}', () => {
      const key = this.expectKind('ident', 'an initializer argument name');
      this.expectPunct('=');
      const num = this.expectKind('number', 'a number');
      const v = Number(num.text);
      if (!Number.isFinite(v)) this.error('E0705', num.span, { text: clip(num.text), reason: 'it is not a finite double' });
      if (args.has(key.text)) this.error('E0714', key.span, { name: clip(key.text) });
      args.set(key.text, v);
    });
    // fromEntries defines own properties, so even a key named __proto__ survives.
    return Object.fromEntries(args);
  }

  private returnStmt(): void {
    const kw = this.advance();
    if (this.kernelNames.size > 0 && this.looseNode) {
      this.error('E0727', this.looseNode.span, { name: `%${clip(this.looseNode.text)}`, reason: 'in a fused graph (one with kernels) every node statement belongs to a kernel' });
    }
    this.sawReturn = true;
    const vals: Token[] = [];
    if (this.tok.kind === 'value') {
      vals.push(this.advance());
      while (this.isPunct(',')) {
        this.advance();
        vals.push(this.expectKind('value', 'a value to return'));
      }
    }
    const declared = this.declaredOutputs;
    const aliases = this.resolveAliases();
    if (vals.length !== declared.length) this.error('E0722', kw.span, { got: vals.length, expected: declared.length });
    vals.forEach((v, i) => {
      const info = this.use(v);
      const decl = declared[i];
      if (!info || !decl) return;
      if (info.type && decl.type && !typesEqual(info.type, decl.type)) {
        this.error('E0723', v.span, { name: clip(decl.name), declared: formatIrType(decl.type), value: `%${clip(v.text)}`, got: formatIrType(info.type) });
      }
      const alias = aliases[i];
      this.outputs.push(alias === undefined ? { name: decl.name, value: info.id } : { name: decl.name, value: info.id, aliases: alias });
    });
  }

  // ---- Nodes ----

  private nodeStmt(): void {
    const res = this.advance();
    this.pending = res;
    if (!this.openKernel) this.looseNode ??= res;
    if (!INT_TEXT.test(res.text)) this.checkName(res, 'value');
    if (++this.nodeCount > this.caps.maxNodes) {
      this.error('E0725', res.span, { limit: this.caps.maxNodes });
      throw new StopParse();
    }
    this.expectPunct('=');
    const opTok = this.expectKind('ident', 'an op name');
    this.expectPunct('(');
    const args = this.list(')', () => this.expectKind('value', "a value like '%0'"));
    const attrs = this.isPunct('{') ? this.attrList() : [];
    this.expectPunct(':');
    const declared = this.type();
    const loc = this.isWord('loc') ? this.loc() : undefined;

    let ok = declared.type !== null;
    const inTypes: TensorType[] = [];
    const inIds: ValueId[] = [];
    for (const a of args) {
      const info = this.use(a);
      if (info?.type) {
        inTypes.push(info.type);
        inIds.push(info.id);
      } else ok = false;
    }
    const op = opTok.text;
    let attrMap: Attrs | null = null;
    if (!isOpName(op)) {
      this.error('E0707', opTok.span, { name: clip(op), suggestion: suggest(op, OP_NAMES) });
      ok = false;
    } else {
      const arity = opDef(op).arity;
      if (arity === 'variadic' ? args.length === 0 : args.length !== arity) {
        this.error('E0721', opTok.span, { op, expected: arity === 'variadic' ? 'at least one' : arity, got: args.length });
        ok = false;
      }
      attrMap = checkAttrs(op, opTok, attrs, this.report);
    }
    let type = declared.type;
    if (ok && attrMap && isOpName(op)) {
      const inferred = this.infer(op, opTok, inTypes, attrMap);
      if (inferred && declared.type && !typesEqual(inferred, declared.type)) {
        this.error('E0720', declared.span, { name: clip(res.text), declared: formatIrType(declared.type), op, inferred: formatIrType(inferred) });
      }
      type = inferred ?? type;
      const id = this.define(res, type);
      if (inferred && id !== null) {
        this.nodes.push(loc ? { id, op, inputs: inIds, attrs: attrMap, type: inferred, loc } : { id, op, inputs: inIds, attrs: attrMap, type: inferred });
        this.openKernel?.nodes.push(id);
      }
    } else {
      this.define(res, type);
    }
  }

  /** The op's type rule; null after reporting its OpTypeError. Other errors are compiler bugs and propagate. */
  private infer(op: OpName, opTok: Token, inputs: readonly TensorType[], attrs: Attrs): TensorType | null {
    try {
      return inferType(op, inputs, attrs);
    } catch (e) {
      if (!(e instanceof OpTypeError)) throw e;
      this.error('E0719', opTok.span, { op, message: e.message });
      return null;
    }
  }

  private attrList(): AttrEntry[] {
    this.advance();
    return this.list('}', () => {
      const key = this.expectKind('ident', 'an attribute name');
      this.expectPunct('=');
      return { key, value: this.literal() };
    });
  }

  private literal(): Literal {
    const t = this.tok;
    if (t.kind === 'number' || t.kind === 'ident') {
      this.advance();
      return { kind: t.kind, text: t.text, items: [], span: t.span };
    }
    if (this.isPunct('[')) {
      const open = this.advance();
      const items = this.list(']', () => this.expectKind('number', 'an integer'));
      return { kind: 'list', text: '', items, span: this.spanFrom(open.span) };
    }
    this.syntax('an attribute value: a number, true, false, a dtype or a [list]');
  }

  // ---- Types and locations ----

  private type(): { type: TensorType | null; span: Span } {
    const dt = this.expectKind('ident', "a type like 'f32[2,3]'");
    this.expectPunct('[');
    const dims = this.list(']', () => this.expectKind('number', 'a dimension'));
    const span = this.spanFrom(dt.span);
    let ok = true;
    if (!isDType(dt.text)) {
      this.error('E0711', dt.span, { name: clip(dt.text) });
      ok = false;
    }
    if (dims.length > MAX_RANK) {
      this.error('E0712', span, { reason: `rank ${dims.length} exceeds the limit of ${MAX_RANK}` });
      return { type: null, span };
    }
    const shape: number[] = [];
    for (const d of dims) {
      const v = Number(d.text);
      if (/^[0-9]+$/.test(d.text) && Number.isSafeInteger(v)) shape.push(v);
      else {
        this.error('E0712', d.span, { reason: `dimension ${clip(d.text)} is not a non-negative integer` });
        ok = false;
      }
    }
    if (ok && checkedNumel(shape) === null) {
      this.error('E0712', span, { reason: `shape [${shape.join(', ')}] has more than ${MAX_TENSOR_ELEMENTS} elements` });
      ok = false;
    }
    return { type: ok ? { dtype: dt.text as TensorType['dtype'], shape } : null, span };
  }

  private loc(): Loc | undefined {
    this.advance();
    this.expectPunct('(');
    const file = this.expectKind('string', 'a file name string');
    this.expectPunct(':');
    const line = this.expectKind('number', 'a line number');
    this.expectPunct(':');
    const col = this.expectKind('number', 'a column number');
    this.expectPunct(')');
    let ok = true;
    if (file.text === '') {
      this.error('E0726', file.span, { reason: 'the file name is empty' });
      ok = false;
    }
    for (const [t, what] of [
      [line, 'line'],
      [col, 'column'],
    ] as const) {
      const v = Number(t.text);
      if (!INT_TEXT.test(t.text) || !Number.isSafeInteger(v) || v < 1) {
        this.error('E0726', t.span, { reason: `the ${what} must be a positive integer, got ${clip(t.text)}` });
        ok = false;
      }
    }
    return ok ? { file: file.text, line: Number(line.text), col: Number(col.text) } : undefined;
  }
}
