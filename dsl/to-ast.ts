// The CST visitor: turns one parsed item of dsl/parser.ts into the typed AST of dsl/ast.ts, with spans.
//
// It only sees items that parsed without errors (dsl/parse.ts drops the others), so a missing
// child here is a broken invariant, not a user error.

import type { CstNode, IToken } from 'chevrotain';
import type {
  Arg, BinaryOp, ConfigParam, Expr, ForStmt, Ident, IndexItem, Item, LayerDecl, ModelDecl, ParamStmt, ReturnStmt, Span,
  Stmt, TensorParam, TrainDecl, TrainField, TypeExpr,
} from './ast.js';
import { diag, type Diagnostic } from './diagnostics.js';
import { scanString, type LineMap } from './lexer.js';

/** Expressions nested deeper than this (operators, calls, indexing) are rejected: consumers recurse. */
export const MAX_EXPR_DEPTH = 1000;

export interface ItemResult {
  readonly item: Item;
  /** E0010 when an expression is too deep; the item should then be dropped. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Builds the AST of one `item` CST node. */
export function toItem(node: CstNode, lines: LineMap): ItemResult {
  const v = new AstVisitor(lines);
  return { item: v.item(node), diagnostics: v.diagnostics };
}

const NONE: readonly never[] = [];

// In this grammar a child key holds only sub-rule nodes (rule names and labels of SUBRULE) or
// only tokens (token names and labels of CONSUME), so the two accessors need not filter.
function nodes(n: CstNode, key: string): readonly CstNode[] {
  return (n.children[key] as CstNode[] | undefined) ?? NONE;
}

function tokens(n: CstNode, key: string): readonly IToken[] {
  return (n.children[key] as IToken[] | undefined) ?? NONE;
}

function node(n: CstNode, key: string): CstNode {
  const c = nodes(n, key)[0];
  if (c === undefined) throw new Error(`internal: CST node '${n.name}' has no child '${key}' in an item that parsed`);
  return c;
}

function token(n: CstNode, key: string): IToken {
  const t = tokens(n, key)[0];
  if (t === undefined) throw new Error(`internal: CST node '${n.name}' has no token '${key}' in an item that parsed`);
  return t;
}

function optNode(n: CstNode, key: string): CstNode | null {
  return nodes(n, key)[0] ?? null;
}

const BINARY_OPS: Readonly<Record<string, BinaryOp>> = { '+': '+', '-': '-', '*': '*', '/': '/', '@': '@' };

class AstVisitor {
  readonly diagnostics: Diagnostic[] = [];
  private readonly depth = new WeakMap<Expr, number>();

  constructor(private readonly lines: LineMap) {}

  item(n: CstNode): Item {
    const decl = n.children['layerDecl'] ? this.layerDecl(node(n, 'layerDecl'))
      : n.children['modelDecl'] ? this.modelDecl(node(n, 'modelDecl'))
        : this.trainDecl(node(n, 'trainDecl'));
    return decl;
  }

  private span(n: CstNode): Span {
    const loc = n.location;
    if (loc === undefined || Number.isNaN(loc.startOffset) || loc.endOffset === undefined || Number.isNaN(loc.endOffset)) {
      throw new Error(`internal: CST node '${n.name}' has no location in an item that parsed`);
    }
    return this.lines.span(loc.startOffset, loc.endOffset + 1);
  }

  /** From the start of `a` to the end of `b`. */
  private join(a: Span, b: Span): Span {
    return { file: a.file, start: a.start, end: b.end };
  }

  private ident(t: IToken): Ident {
    return { name: t.image, span: this.lines.token(t) };
  }

  private layerDecl(n: CstNode): LayerDecl {
    const out = optNode(n, 'typeExpr');
    return {
      kind: 'layer',
      name: this.ident(token(n, 'name')),
      config: nodes(node(n, 'configParams'), 'configParam').map((c) => this.configParam(c)),
      inputs: this.tensorParams(node(n, 'tensorParams')),
      output: out === null ? null : this.typeExpr(out),
      body: this.block(node(n, 'block')),
      span: this.span(n),
    };
  }

  private configParam(n: CstNode): ConfigParam {
    const d = optNode(n, 'default');
    return { name: this.ident(token(n, 'name')), default: d === null ? null : this.expr(d), span: this.span(n) };
  }

  private tensorParams(n: CstNode): TensorParam[] {
    return nodes(n, 'tensorParam').map((p) => this.tensorParam(p));
  }

  private tensorParam(n: CstNode): TensorParam {
    return { name: this.ident(token(n, 'name')), type: this.typeExpr(node(n, 'typeExpr')), span: this.span(n) };
  }

  private modelDecl(n: CstNode): ModelDecl {
    return {
      kind: 'model',
      name: this.ident(token(n, 'name')),
      inputs: this.tensorParams(node(n, 'tensorParams')),
      outputs: nodes(node(n, 'modelOutputs'), 'tensorParam').map((p) => this.tensorParam(p)),
      body: this.block(node(n, 'block')),
      span: this.span(n),
    };
  }

  private trainDecl(n: CstNode): TrainDecl {
    return {
      kind: 'train',
      model: this.ident(token(n, 'model')),
      fields: nodes(n, 'trainField').map((f) => this.trainField(f)),
      span: this.span(n),
    };
  }

  private trainField(n: CstNode): TrainField {
    return { name: this.ident(token(n, 'name')), value: this.expr(node(n, 'value')), span: this.span(n) };
  }

  private typeExpr(n: CstNode): TypeExpr {
    const dtype = tokens(n, 'dtype')[0];
    return { dtype: dtype === undefined ? null : this.ident(dtype), dims: nodes(n, 'dims').map((d) => this.expr(d)), span: this.span(n) };
  }

  private block(n: CstNode): Stmt[] {
    return nodes(n, 'statement').map((s) => this.statement(s));
  }

  private statement(n: CstNode): Stmt {
    let inner: CstNode | undefined;
    for (const key in n.children) inner = nodes(n, key)[0];
    if (inner === undefined) throw new Error('internal: a statement CST node has no sub-rule');
    const span = this.span(inner);
    switch (inner.name) {
      case 'paramStmt':
        return this.paramStmt(inner, span);
      case 'forStmt':
        return this.forStmt(inner, span);
      case 'returnStmt':
        return this.returnStmt(inner, span);
      case 'letStmt':
        return { kind: 'let', name: this.ident(token(inner, 'name')), value: this.expr(node(inner, 'value')), span };
      case 'exprStmt':
        return { kind: 'expr', value: this.expr(node(inner, 'value')), span };
      default:
        throw new Error(`internal: unknown statement rule '${inner.name}'`);
    }
  }

  private paramStmt(n: CstNode, span: Span): ParamStmt {
    const init = optNode(n, 'init');
    return { kind: 'param', name: this.ident(token(n, 'name')), type: this.typeExpr(node(n, 'typeExpr')), init: init === null ? null : this.expr(init), span };
  }

  private forStmt(n: CstNode, span: Span): ForStmt {
    return {
      kind: 'for',
      variable: this.ident(token(n, 'variable')),
      from: this.expr(node(n, 'from')),
      to: this.expr(node(n, 'to')),
      body: this.block(node(n, 'block')),
      span,
    };
  }

  private returnStmt(n: CstNode, span: Span): ReturnStmt {
    return { kind: 'return', values: nodes(n, 'values').map((e) => this.expr(e)), span };
  }

  /** Records the nesting depth of a new node, reporting the first one that is too deep. */
  private note<T extends Expr>(e: T, children: readonly Expr[]): T {
    let d = 0;
    for (const c of children) d = Math.max(d, this.depth.get(c) ?? 1);
    this.depth.set(e, d + 1);
    if (d + 1 > MAX_EXPR_DEPTH && this.diagnostics.length === 0) {
      this.diagnostics.push(diag('E0010', e.span, { limit: MAX_EXPR_DEPTH }));
    }
    return e;
  }

  /** `expression`: a left-associative chain of '|>'. */
  private expr(n: CstNode): Expr {
    const operands = nodes(n, 'operands');
    const first = operands[0];
    if (first === undefined) throw new Error('internal: an expression CST node has no operand');
    let left = this.additive(first);
    const start = this.span(first);
    for (const operand of operands.slice(1)) {
      const right = this.additive(operand);
      left = this.note({ kind: 'pipe', left, right, span: this.join(start, this.span(operand)) }, [left, right]);
    }
    return left;
  }

  private additive(n: CstNode): Expr {
    return this.binaryChain(n, (o) => this.multiplicative(o));
  }

  private multiplicative(n: CstNode): Expr {
    return this.binaryChain(n, (o) => this.unary(o));
  }

  private binaryChain(n: CstNode, operand: (o: CstNode) => Expr): Expr {
    const operands = nodes(n, 'operands');
    const ops = tokens(n, 'operators');
    const first = operands[0];
    if (first === undefined || ops.length !== operands.length - 1) throw new Error(`internal: malformed '${n.name}' chain`);
    const start = this.span(first);
    let left = operand(first);
    ops.forEach((t, i) => {
      const o = operands[i + 1]!;
      const right = operand(o);
      const op = BINARY_OPS[t.image];
      if (op === undefined) throw new Error(`internal: '${t.image}' is not a binary operator`);
      left = this.note({ kind: 'binary', op, left, right, opSpan: this.lines.token(t), span: this.join(start, this.span(o)) }, [left, right]);
    });
    return left;
  }

  private unary(n: CstNode): Expr {
    const operandNode = node(n, 'operand');
    const end = this.span(operandNode);
    let e = this.postfix(operandNode);
    for (const minus of [...tokens(n, 'operators')].reverse()) {
      e = this.note({ kind: 'unary', op: '-', operand: e, span: this.join(this.lines.token(minus), end) }, [e]);
    }
    return e;
  }

  private postfix(n: CstNode): Expr {
    const primary = node(n, 'primary');
    const start = this.span(primary);
    let e = this.primary(primary);
    for (const s of nodes(n, 'suffixes')) {
      const span = this.join(start, this.span(s));
      if (s.name === 'callSuffix') {
        const args = nodes(s, 'arg').map((a) => this.arg(a));
        e = this.note({ kind: 'call', callee: e, args, span }, [e, ...args.map((a) => a.value)]);
      } else {
        const items = nodes(s, 'indexItem').map((i) => this.indexItem(i));
        const inner = items.flatMap((i) => (i.kind === 'all' ? [] : i.kind === 'at' ? [i.index] : [i.from, i.to].filter((x): x is Expr => x !== null)));
        e = this.note({ kind: 'index', target: e, items, span }, [e, ...inner]);
      }
    }
    return e;
  }

  private arg(n: CstNode): Arg {
    const name = tokens(n, 'name')[0];
    return { name: name === undefined ? null : this.ident(name), value: this.expr(node(n, 'value')), span: this.span(n) };
  }

  private indexItem(n: CstNode): IndexItem {
    const span = this.span(n);
    const from = optNode(n, 'from');
    const to = optNode(n, 'to');
    const hasColon = tokens(n, 'Colon').length > 0;
    if (!hasColon) return { kind: 'at', index: this.expr(node(n, 'from')), span };
    if (from === null && to === null) return { kind: 'all', span };
    return { kind: 'range', from: from === null ? null : this.expr(from), to: to === null ? null : this.expr(to), span };
  }

  private primary(n: CstNode): Expr {
    const span = this.span(n);
    const num = tokens(n, 'NumberLit')[0];
    if (num !== undefined) {
      return { kind: 'number', value: Number(num.image), isInt: !/[.eE]/.test(num.image), span };
    }
    const str = tokens(n, 'StringLit')[0];
    if (str !== undefined) return { kind: 'string', value: scanString(str.image).value, span };
    const name = tokens(n, 'Identifier')[0];
    if (name !== undefined) return { kind: 'name', name: name.image, span };
    const paren = optNode(n, 'parenExpr');
    if (paren !== null) return this.expr(node(paren, 'expression'));
    const list = node(n, 'listExpr');
    const items = nodes(list, 'items').map((i) => this.expr(i));
    return this.note({ kind: 'list', items, span }, items);
  }
}
