// fast-check generators of random, well-formed Sinter ASTs (spans are placeholders), and span stripping.

import fc from 'fast-check';
import type {
  Arg, ConfigParam, Expr, Ident, IndexItem, Item, LayerDecl, ModelDecl, Program, Span, Stmt, TensorParam, TrainDecl,
  TrainField, TypeExpr,
} from '../../dsl/ast.js';

/** The file name generated programs carry, and the one round-trip tests parse under. */
export const GEN_FILE = 'gen.sinter';

const NO_SPAN: Span = { file: GEN_FILE, start: { offset: 0, line: 1, col: 1 }, end: { offset: 0, line: 1, col: 1 } };
const KEYWORDS = new Set(['layer', 'model', 'train', 'param', 'for', 'return']);

/** Names: a few familiar ones (including `in`, a keyword only inside `for`) and random ones. */
export const nameArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('x', 'h', 'n', 'in', 'units', 'batch', 'relu', 'Dense', 'identity', 'true', '_'),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,7}$/).filter((s) => !KEYWORDS.has(s)),
);

const identArb: fc.Arbitrary<Ident> = nameArb.map((name) => ({ name, span: NO_SPAN }));

/** Non-negative finite numbers: integers written without '.', floats written with '.' or 'e'. */
const numberArb: fc.Arbitrary<Expr> = fc.oneof(
  fc.oneof(fc.nat(100), fc.maxSafeNat()).map((value): Expr => ({ kind: 'number', value, isInt: true, span: NO_SPAN })),
  fc
    .oneof(fc.double({ min: 0, max: 1e300, noNaN: true }), fc.constantFrom(0, 0.5, 1e-3, 3))
    .map((v): Expr => ({ kind: 'number', value: Math.abs(v), isInt: false, span: NO_SPAN })),
);

/** Strings of any code units except '\r', which the language cannot spell. */
const stringArb: fc.Arbitrary<Expr> = fc
  .oneof(fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('same', 'a"b\\c\nd'))
  .map((value): Expr => ({ kind: 'string', value: value.replace(/\r/g, ''), span: NO_SPAN }));

const leafArb: fc.Arbitrary<Expr> = fc.oneof(
  { arbitrary: nameArb.map((name): Expr => ({ kind: 'name', name, span: NO_SPAN })), weight: 4 },
  { arbitrary: numberArb, weight: 2 },
  { arbitrary: stringArb, weight: 1 },
);

/** Expressions of at most `depth` levels of nesting. */
export function exprArb(depth: number): fc.Arbitrary<Expr> {
  if (depth <= 0) return leafArb;
  const sub = exprArb(depth - 1);
  const small = <T>(a: fc.Arbitrary<T>, min = 0) => fc.array(a, { minLength: min, maxLength: 3 });
  const argArb: fc.Arbitrary<Arg> = fc.record({ name: fc.option(identArb, { nil: null }), value: sub, span: fc.constant(NO_SPAN) });
  const itemArb: fc.Arbitrary<IndexItem> = fc.oneof(
    fc.constant<IndexItem>({ kind: 'all', span: NO_SPAN }),
    sub.map((index): IndexItem => ({ kind: 'at', index, span: NO_SPAN })),
    fc
      .record({ from: fc.option(sub, { nil: null }), to: fc.option(sub, { nil: null }) })
      .filter((r) => r.from !== null || r.to !== null)
      .map((r): IndexItem => ({ kind: 'range', ...r, span: NO_SPAN })),
  );
  return fc.oneof(
    { arbitrary: leafArb, weight: 3 },
    { arbitrary: fc.tuple(sub, sub).map(([left, right]): Expr => ({ kind: 'pipe', left, right, span: NO_SPAN })), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom('+', '-', '*', '/', '@' as const), sub, sub)
        .map(([op, left, right]): Expr => ({ kind: 'binary', op, left, right, opSpan: NO_SPAN, span: NO_SPAN })),
      weight: 2,
    },
    { arbitrary: sub.map((operand): Expr => ({ kind: 'unary', op: '-', operand, span: NO_SPAN })), weight: 1 },
    { arbitrary: fc.tuple(sub, small(argArb)).map(([callee, args]): Expr => ({ kind: 'call', callee, args, span: NO_SPAN })), weight: 2 },
    { arbitrary: fc.tuple(sub, small(itemArb, 1)).map(([target, items]): Expr => ({ kind: 'index', target, items, span: NO_SPAN })), weight: 1 },
    { arbitrary: small(sub).map((items): Expr => ({ kind: 'list', items, span: NO_SPAN })), weight: 1 },
  );
}

const EXPR_DEPTH = 3;

export const typeArb: fc.Arbitrary<TypeExpr> = fc.record({
  dtype: fc.option(identArb, { nil: null }),
  dims: fc.array(exprArb(1), { maxLength: 4 }),
  span: fc.constant(NO_SPAN),
});

const tensorParamArb: fc.Arbitrary<TensorParam> = fc.record({ name: identArb, type: typeArb, span: fc.constant(NO_SPAN) });
const tensorParamsArb = fc.array(tensorParamArb, { minLength: 1, maxLength: 3 });

/** Statements; `for` bodies nest at most `depth` deep. */
export function stmtArb(depth: number): fc.Arbitrary<Stmt> {
  const expr = exprArb(EXPR_DEPTH);
  const simple: fc.Arbitrary<Stmt>[] = [
    fc.record({ name: identArb, type: typeArb, init: fc.option(expr, { nil: null }) }).map((r): Stmt => ({ kind: 'param', ...r, span: NO_SPAN })),
    fc.record({ name: identArb, value: expr }).map((r): Stmt => ({ kind: 'let', ...r, span: NO_SPAN })),
    fc.array(expr, { minLength: 1, maxLength: 3 }).map((values): Stmt => ({ kind: 'return', values, span: NO_SPAN })),
    expr.map((value): Stmt => ({ kind: 'expr', value, span: NO_SPAN })),
  ];
  if (depth <= 0) return fc.oneof(...simple);
  const forArb = fc
    .record({ variable: identArb, from: exprArb(1), to: exprArb(1), body: bodyArb(depth - 1) })
    .map((r): Stmt => ({ kind: 'for', ...r, span: NO_SPAN }));
  return fc.oneof(...simple, forArb);
}

function bodyArb(depth: number): fc.Arbitrary<Stmt[]> {
  return fc.array(stmtArb(depth), { maxLength: 4 });
}

const configParamArb: fc.Arbitrary<ConfigParam> = fc.record({
  name: identArb,
  default: fc.option(exprArb(2), { nil: null }),
  span: fc.constant(NO_SPAN),
});

const layerArb: fc.Arbitrary<LayerDecl> = fc.record({
  kind: fc.constant('layer' as const),
  name: identArb,
  config: fc.array(configParamArb, { maxLength: 3 }),
  inputs: tensorParamsArb,
  output: fc.option(typeArb, { nil: null }),
  body: bodyArb(2),
  span: fc.constant(NO_SPAN),
});

const modelArb: fc.Arbitrary<ModelDecl> = fc.record({
  kind: fc.constant('model' as const),
  name: identArb,
  inputs: tensorParamsArb,
  outputs: tensorParamsArb,
  body: bodyArb(2),
  span: fc.constant(NO_SPAN),
});

const trainFieldArb: fc.Arbitrary<TrainField> = fc.record({ name: identArb, value: exprArb(EXPR_DEPTH), span: fc.constant(NO_SPAN) });

const trainArb: fc.Arbitrary<TrainDecl> = fc.record({
  kind: fc.constant('train' as const),
  model: identArb,
  fields: fc.array(trainFieldArb, { maxLength: 4 }),
  span: fc.constant(NO_SPAN),
});

export const itemArb: fc.Arbitrary<Item> = fc.oneof(layerArb, modelArb, trainArb);

/** Whole programs of up to four items. */
export const programArb: fc.Arbitrary<Program> = fc.array(itemArb, { maxLength: 4 }).map((items) => ({ file: GEN_FILE, items }));

/** A deep copy without `span` and `opSpan`, for comparing ASTs modulo source positions. */
export function stripSpans(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripSpans);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'span' && k !== 'opSpan').map(([k, v]) => [k, stripSpans(v)]));
}
