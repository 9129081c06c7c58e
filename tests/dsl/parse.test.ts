// Parser tests: every construct of the language, the AST it builds, and the spans it records.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Expr, IndexItem, Item, LayerDecl, ModelDecl, Span, Stmt, TrainDecl } from '../../dsl/ast.js';
import { parseProgram } from '../../dsl/parse.js';

const FILE = 'test.sinter';

function parseOk(source: string): Item[] {
  const { program, diagnostics } = parseProgram(source, FILE);
  expect(diagnostics.map((d) => `${d.span.start.line}:${d.span.start.col} ${d.message}`)).toEqual([]);
  return [...program.items];
}

/** The statements of a one-model program whose body is `body`. */
function stmts(body: string): Stmt[] {
  const [m] = parseOk(`model M(x: [n]) -> y: [n] {\n${body}\n}`);
  return [...(m as ModelDecl).body];
}

function expr(source: string): Expr {
  const [s] = stmts(source);
  if (s?.kind !== 'expr') throw new Error(`'${source}' is not an expression statement`);
  return s.value;
}

/** A compact, fully parenthesized rendering of an expression's tree (no spans). */
function sx(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.isInt ? String(e.value) : `${e.value}f`;
    case 'string':
      return JSON.stringify(e.value);
    case 'name':
      return e.name;
    case 'list':
      return `[${e.items.map(sx).join(' ')}]`;
    case 'unary':
      return `(neg ${sx(e.operand)})`;
    case 'binary':
      return `(${e.op} ${sx(e.left)} ${sx(e.right)})`;
    case 'pipe':
      return `(|> ${sx(e.left)} ${sx(e.right)})`;
    case 'call':
      return `(call ${sx(e.callee)}${e.args.map((a) => ` ${a.name ? `${a.name.name}=` : ''}${sx(a.value)}`).join('')})`;
    case 'index':
      return `(index ${sx(e.target)}${e.items.map((i) => ` ${sxItem(i)}`).join('')})`;
  }
}

function sxItem(i: IndexItem): string {
  if (i.kind === 'all') return ':';
  if (i.kind === 'at') return sx(i.index);
  return `${i.from ? sx(i.from) : ''}:${i.to ? sx(i.to) : ''}`;
}

/** The source text a span covers. */
function text(source: string, span: Span): string {
  return source.slice(span.start.offset, span.end.offset);
}

const EXAMPLE = readFileSync(join(import.meta.dirname, 'fixtures', 'fashion.sinter'), 'utf8');

describe('the example program', () => {
  const items = parseOk(EXAMPLE);

  it('has its five items in source order', () => {
    expect(items.map((i) => `${i.kind} ${i.kind === 'train' ? i.model.name : i.name.name}`)).toEqual([
      'layer Dense',
      'model FashionCNN',
      'layer GRUCell',
      'model Rnn',
      'train FashionCNN',
    ]);
  });

  it('reads a layer header: config params with defaults, tensor params, output type', () => {
    const dense = items[0] as LayerDecl;
    expect(dense.config.map((c) => [c.name.name, c.default ? sx(c.default) : null])).toEqual([
      ['units', null],
      ['act', 'identity'],
    ]);
    expect(dense.inputs.map((p) => [p.name.name, p.type.dtype, p.type.dims.map(sx)])).toEqual([['x', null, ['n', 'in']]]);
    expect(dense.output?.dims.map(sx)).toEqual(['n', 'units']);
    expect(text(EXAMPLE, dense.span)).toMatch(/^layer Dense\(units[\s\S]*return act\(x @ w \+ b\)\n\}$/);
    expect(text(EXAMPLE, dense.config[1]!.span)).toBe('act = identity');
    expect(text(EXAMPLE, dense.inputs[0]!.span)).toBe('x: [n, in]');
    expect(text(EXAMPLE, dense.output!.span)).toBe('[n, units]');
  });

  it('reads param statements with and without aligned initializers', () => {
    const [w, b, ret] = (items[0] as LayerDecl).body;
    expect(w).toMatchObject({ kind: 'param', name: { name: 'w' }, init: { kind: 'name', name: 'glorot_uniform' } });
    expect(b).toMatchObject({ kind: 'param', name: { name: 'b' }, init: { kind: 'name', name: 'zeros' } });
    expect(text(EXAMPLE, b!.span)).toBe('param b: [units]     = zeros');
    expect(ret?.kind === 'return' && ret.values.map(sx)).toEqual(['(call act (+ (@ x w) b))']);
  });

  it('reads a multi-line pipeline as one left-associative expression statement', () => {
    const cnn = items[1] as ModelDecl;
    expect(cnn.inputs[0]!.type.dtype?.name).toBe('f32');
    expect(cnn.outputs.map((o) => [o.name.name, o.type.dims.map(sx)])).toEqual([['logits', ['batch', '10']]]);
    expect(cnn.body).toHaveLength(1);
    const stages: string[] = [];
    let e = (cnn.body[0] as Extract<Stmt, { kind: 'expr' }>).value;
    while (e.kind === 'pipe') {
      stages.unshift(sx(e.right));
      e = e.left;
    }
    stages.unshift(sx(e));
    expect(stages).toEqual([
      'image',
      '(call conv2d 32 kernel=3)',
      'relu',
      '(call maxpool 2)',
      '(call conv2d 64 kernel=3 padding="same")',
      'relu',
      '(call maxpool 2)',
      'flatten',
      '(call Dense 64 relu)',
      '(call Dense 10)',
    ]);
    const stmt = cnn.body[0]!;
    expect(text(EXAMPLE, stmt.span)).toMatch(/^image\n\s+\|> conv2d\(32, kernel: 3\)[\s\S]*\|> Dense\(10\)$/);
  });

  it('reads slices, precedence and parentheses in the GRU cell', () => {
    const gru = items[2] as LayerDecl;
    const [wz, z, ret] = gru.body;
    expect(wz?.kind === 'param' && wz.type.dims.map(sx)).toEqual(['d', '(* 3 units)']);
    expect(z?.kind === 'let' && sx(z.value)).toBe('(call sigmoid (+ (@ x (index wz : 0:units)) h))');
    if (ret?.kind !== 'return') throw new Error('expected a return');
    const value = ret.values[0]!;
    expect(sx(value)).toBe('(+ (* (- 1 z) h) (* z (call tanh (@ x (index wz : units:(* 2 units))))))');
    if (value.kind !== 'binary' || value.left.kind !== 'binary') throw new Error('expected a sum of products');
    // The product's span starts at the parenthesis around its left operand.
    expect(text(EXAMPLE, value.left.span)).toBe('(1 - z) * h');
    expect(text(EXAMPLE, value.left.left.span)).toBe('1 - z');
    expect(text(EXAMPLE, value.opSpan)).toBe('+');
  });

  it('reads a for loop, a multi-output model and a multi-value return', () => {
    const rnn = items[3] as ModelDecl;
    expect(rnn.outputs.map((o) => o.name.name)).toEqual(['logits', 'state']);
    const loop = rnn.body[3];
    if (loop?.kind !== 'for') throw new Error('expected a for loop');
    expect([loop.variable.name, sx(loop.from), sx(loop.to)]).toEqual(['t', '0', '28']);
    expect(loop.body.map((s) => s.kind === 'let' && `${s.name.name} = ${sx(s.value)}`)).toEqual(['h = (call cell (index x : t :) h)']);
    expect(text(EXAMPLE, loop.span)).toMatch(/^for t in 0\.\.28 \{[\s\S]*\}$/);
    const ret = rnn.body[4];
    expect(ret?.kind === 'return' && ret.values.map(sx)).toEqual(['(|> h (call Dense 10))', 'h']);
  });

  it('reads a train block', () => {
    const train = items[4] as TrainDecl;
    expect(train.model.name).toBe('FashionCNN');
    expect(train.fields.map((f) => `${f.name.name} = ${sx(f.value)}`)).toEqual([
      'loss = (call softmax_cross_entropy logits label)',
      'optimizer = (call adam lr=0.001f beta1=0.9f)',
      'schedule = (call cosine warmup=100)',
      'batch = 64',
      'epochs = 5',
      'metrics = [accuracy]',
    ]);
    expect(text(EXAMPLE, train.fields[1]!.span)).toBe('optimizer = adam(lr: 1e-3, beta1: 0.9)');
  });
});

describe('expressions', () => {
  it.each([
    ['a |> b + c * d', '(|> a (+ b (* c d)))'],
    ['a + b - c', '(- (+ a b) c)'],
    ['a * b / c @ d', '(@ (/ (* a b) c) d)'],
    ['x |> f |> g(1)', '(|> (|> x f) (call g 1))'],
    ['-a * b', '(* (neg a) b)'],
    ['a - -b', '(- a (neg b))'],
    ['- -a', '(neg (neg a))'],
    ['-f(x)[0]', '(neg (index (call f x) 0))'],
    ['f(a)(b)[1][2]', '(index (index (call (call f a) b) 1) 2)'],
    ['(a + b) * c', '(* (+ a b) c)'],
    ['(a |> f)(x)', '(call (|> a f) x)'],
    ['[1, [2], []]', '[1 [2] []]'],
    ['f()', '(call f)'],
    ['f(a, name: b, c)', '(call f a name=b c)'],
    ['x[:, 1:, :2, a:b, 3]', '(index x : 1: :2 a:b 3)'],
    ['[a, b][0]', '(index [a b] 0)'],
    ['"s"', '"s"'],
  ])('%s', (source, tree) => {
    expect(sx(expr(source))).toBe(tree);
  });

  it('tells integer literals from float ones', () => {
    const values = (expr('[3, 3.0, 1e3, 2E-2, 0, 007]') as Extract<Expr, { kind: 'list' }>).items;
    expect(values.map((v) => v.kind === 'number' && [v.value, v.isInt])).toEqual([
      [3, true],
      [3, false],
      [1000, false],
      [0.02, false],
      [0, true],
      [7, true],
    ]);
  });

  it('resolves exactly three string escapes', () => {
    const e = expr(String.raw`"a\"b\\c\nd"`);
    expect(e.kind === 'string' && e.value).toBe('a"b\\c\nd');
  });

  it('gives a name its token span and an operator its own span', () => {
    const source = 'model M(x: [n]) -> y: [n] {\n  foo  +  bar\n}';
    const [m] = parseOk(source);
    const e = ((m as ModelDecl).body[0] as Extract<Stmt, { kind: 'expr' }>).value;
    if (e.kind !== 'binary') throw new Error('expected a binary expression');
    expect(e.left.span).toEqual({ file: FILE, start: { offset: 30, line: 2, col: 3 }, end: { offset: 33, line: 2, col: 6 } });
    expect(e.opSpan).toEqual({ file: FILE, start: { offset: 35, line: 2, col: 8 }, end: { offset: 36, line: 2, col: 9 } });
    expect(text(source, e.span)).toBe('foo  +  bar');
  });
});

describe('types', () => {
  it('reads an optional dtype before the dims, which are expressions', () => {
    const [p, q, r] = stmts('param a: f32[]\nparam b: [3 * units, h + 2]\nparam c: i32[n]');
    expect(p?.kind === 'param' && [p.type.dtype?.name, p.type.dims.length]).toEqual(['f32', 0]);
    expect(q?.kind === 'param' && [q.type.dtype, q.type.dims.map(sx)]).toEqual([null, ['(* 3 units)', '(+ h 2)']]);
    expect(r?.kind === 'param' && r.init).toBe(null);
  });
});

describe('statements and newlines', () => {
  it('separates statements by newlines or semicolons', () => {
    expect(stmts('a = 1; b = 2\nc = 3;\n\n;d').map((s) => s.kind)).toEqual(['let', 'let', 'let', 'expr']);
  });

  it('continues a line that ends in an operator, a comma or an open bracket', () => {
    const [s] = stmts('y = a +\n  b *\n  c\n');
    expect(s?.kind === 'let' && sx(s.value)).toBe('(+ a (* b c))');
    const [call] = stmts('y = f(\n  a,\n  b\n)');
    expect(call?.kind === 'let' && sx(call.value)).toBe('(call f a b)');
  });

  it('continues a line when the next starts with |>, across comments and blank lines', () => {
    const [s, t] = stmts('y = x # the input\n\n  # a comment line\n  |> f\nz = y');
    expect(s?.kind === 'let' && sx(s.value)).toBe('(|> x f)');
    expect(t?.kind).toBe('let');
  });

  it('ends a statement at a newline otherwise, even before ( or [ or -', () => {
    expect(stmts('a = b\n(c)\n[d]\n-e').map((s) => (s.kind === 'let' ? sx(s.value) : s.kind === 'expr' ? sx(s.value) : s.kind))).toEqual([
      'b',
      'c',
      '[d]',
      '(neg e)',
    ]);
  });

  it('reads return with several values, for loops, and empty bodies', () => {
    const [ret, loop] = stmts('return a, b |> f, -c\nfor i in 0..n * 2 {\n}');
    expect(ret?.kind === 'return' && ret.values.map(sx)).toEqual(['a', '(|> b f)', '(neg c)']);
    expect(loop?.kind === 'for' && [sx(loop.to), loop.body.length]).toEqual(['(* n 2)', 0]);
  });

  it("treats 'in' as a keyword only in a for loop", () => {
    const [loop, bind] = stmts('for in in in..in { }\nin = 3');
    expect(loop?.kind === 'for' && [loop.variable.name, sx(loop.from), sx(loop.to)]).toEqual(['in', 'in', 'in']);
    expect(bind?.kind === 'let' && bind.name.name).toBe('in');
  });

  it('accepts CRLF line endings', () => {
    const items = parseOk('model M(x: [n]) -> y: [n] {\r\n  a = x\r\n  return a\r\n}\r\n');
    expect((items[0] as ModelDecl).body.map((s) => s.kind)).toEqual(['let', 'return']);
  });
});

describe('items', () => {
  it('parses any number of items in any order, with or without blank lines', () => {
    const items = parseOk('train T { }\nlayer L()(x: [n]) { x } model M(x: [n]) -> (a: [n]) { x }\n\n\ntrain U {\n}');
    expect(items.map((i) => i.kind)).toEqual(['train', 'layer', 'model', 'train']);
    const layer = items[1] as LayerDecl;
    expect([layer.config.length, layer.output]).toEqual([0, null]);
    expect((items[2] as ModelDecl).outputs.map((o) => o.name.name)).toEqual(['a']);
  });

  it('parses an empty file to an empty program', () => {
    expect(parseOk('')).toEqual([]);
    expect(parseOk('\n# only a comment\n\n')).toEqual([]);
  });

  it('gives the program the file name it was given', () => {
    expect(parseProgram('', 'dir/m.sinter').program.file).toBe('dir/m.sinter');
  });
});
