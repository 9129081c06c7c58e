// The pretty-printer: AST → canonical .sinter source that parses back to the same AST (modulo spans).
//
// Parentheses appear exactly where precedence needs them. Literals print so that the lexer reads
// back the same value and `isInt`. Number literals are non-negative, as the parser makes them
// (a minus sign is a UnaryExpr): a negative NumberLit prints with its sign and reads back as a
// UnaryExpr. A string holding '\r' has no spelling in the language.

import type { ConfigParam, Expr, IndexItem, Item, Program, Stmt, TensorParam, TypeExpr } from './ast.js';

const INDENT = '  ';

/** Formats a whole program: items separated by blank lines, two-space indentation. */
export function formatProgram(p: Program): string {
  return p.items.map(formatItem).join('\n\n') + (p.items.length > 0 ? '\n' : '');
}

export function formatItem(item: Item): string {
  switch (item.kind) {
    case 'layer': {
      const out = item.output === null ? '' : ` -> ${formatType(item.output)}`;
      const head = `layer ${item.name.name}(${item.config.map(formatConfigParam).join(', ')})(${item.inputs.map(formatTensorParam).join(', ')})${out}`;
      return `${head} ${formatBody(item.body, '')}`;
    }
    case 'model': {
      const outs = item.outputs.map(formatTensorParam);
      const outputs = outs.length === 1 ? outs[0]! : `(${outs.join(', ')})`;
      return `model ${item.name.name}(${item.inputs.map(formatTensorParam).join(', ')}) -> ${outputs} ${formatBody(item.body, '')}`;
    }
    case 'train': {
      const fields = item.fields.map((f) => `${INDENT}${f.name.name} = ${formatExpr(f.value)}\n`);
      return `train ${item.model.name} {\n${fields.join('')}}`;
    }
    default:
      return item satisfies never;
  }
}

function formatConfigParam(c: ConfigParam): string {
  return c.default === null ? c.name.name : `${c.name.name} = ${formatExpr(c.default)}`;
}

function formatTensorParam(p: TensorParam): string {
  return `${p.name.name}: ${formatType(p.type)}`;
}

export function formatType(t: TypeExpr): string {
  return `${t.dtype?.name ?? ''}[${t.dims.map((d) => formatExpr(d)).join(', ')}]`;
}

/** `{`, one statement per line at `indent` + two spaces, `}` at `indent`. */
function formatBody(body: readonly Stmt[], indent: string): string {
  const inner = indent + INDENT;
  return `{\n${body.map((s) => `${inner}${formatStmt(s, inner)}\n`).join('')}${indent}}`;
}

export function formatStmt(s: Stmt, indent = ''): string {
  switch (s.kind) {
    case 'param':
      return `param ${s.name.name}: ${formatType(s.type)}${s.init === null ? '' : ` = ${formatExpr(s.init)}`}`;
    case 'let':
      return `${s.name.name} = ${formatExpr(s.value)}`;
    case 'for':
      return `for ${s.variable.name} in ${formatExpr(s.from)}..${formatExpr(s.to)} ${formatBody(s.body, indent)}`;
    case 'return':
      return `return ${s.values.map((v) => formatExpr(v)).join(', ')}`;
    case 'expr':
      return formatExpr(s.value);
    default:
      return s satisfies never;
  }
}

// Binding strength, loosest first; an operand printed where a tighter one is needed gets parentheses.
const PIPE = 1;
const ADDITIVE = 2;
const MULTIPLICATIVE = 3;
const UNARY = 4;
const POSTFIX = 5;
const ATOM = 6;

function precedence(e: Expr): number {
  switch (e.kind) {
    case 'pipe':
      return PIPE;
    case 'binary':
      return e.op === '+' || e.op === '-' ? ADDITIVE : MULTIPLICATIVE;
    case 'unary':
      return UNARY;
    case 'call':
    case 'index':
      return POSTFIX;
    case 'number':
      return e.value < 0 || Object.is(e.value, -0) ? UNARY : ATOM;
    case 'string':
    case 'name':
    case 'list':
      return ATOM;
    default:
      return e satisfies never;
  }
}

/** Formats an expression, parenthesized if it binds looser than `min`. */
export function formatExpr(e: Expr, min = PIPE): string {
  const text = formatBare(e);
  return precedence(e) < min ? `(${text})` : text;
}

function formatBare(e: Expr): string {
  switch (e.kind) {
    case 'pipe':
      return `${formatExpr(e.left, PIPE)} |> ${formatExpr(e.right, ADDITIVE)}`;
    case 'binary': {
      const p = precedence(e);
      return `${formatExpr(e.left, p)} ${e.op} ${formatExpr(e.right, p + 1)}`;
    }
    case 'unary':
      return `-${formatExpr(e.operand, UNARY)}`;
    case 'call': {
      const args = e.args.map((a) => (a.name === null ? formatExpr(a.value) : `${a.name.name}: ${formatExpr(a.value)}`));
      return `${formatExpr(e.callee, POSTFIX)}(${args.join(', ')})`;
    }
    case 'index':
      return `${formatExpr(e.target, POSTFIX)}[${e.items.map(formatIndexItem).join(', ')}]`;
    case 'number':
      return formatNumber(e.value, e.isInt);
    case 'string':
      return formatString(e.value);
    case 'name':
      return e.name;
    case 'list':
      return `[${e.items.map((i) => formatExpr(i)).join(', ')}]`;
    default:
      return e satisfies never;
  }
}

function formatIndexItem(i: IndexItem): string {
  switch (i.kind) {
    case 'all':
      return ':';
    case 'at':
      return formatExpr(i.index);
    case 'range':
      return `${i.from === null ? '' : formatExpr(i.from)}:${i.to === null ? '' : formatExpr(i.to)}`;
    default:
      return i satisfies never;
  }
}

/** Integers print all their digits (no exponent, which would make them read back as floats); others keep a '.' or 'e'. */
export function formatNumber(value: number, isInt: boolean): string {
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const v = Math.abs(value);
  if (!Number.isFinite(v)) throw new Error(`internal: a number literal must be finite, got ${value}`);
  let text: string;
  if (isInt && Number.isInteger(v)) text = BigInt(v).toString();
  else {
    text = String(v);
    if (!/[.eE]/.test(text)) text += '.0';
  }
  return sign + text;
}

/** A string literal: only '"', '\' and newline need escapes. */
export function formatString(value: string): string {
  return `"${value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`;
}
