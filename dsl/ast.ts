// The typed AST of a .sinter file. Every node carries the source span it was parsed from.

/** 1-based line and column; offset is 0-based into the source text. */
export interface Pos {
  readonly offset: number;
  readonly line: number;
  readonly col: number;
}

export interface Span {
  readonly file: string;
  readonly start: Pos;
  /** Exclusive end. */
  readonly end: Pos;
}

export interface Ident {
  readonly name: string;
  readonly span: Span;
}

export interface Program {
  readonly file: string;
  readonly items: readonly Item[];
}

export type Item = LayerDecl | ModelDecl | TrainDecl;

/** `layer Dense(units, act = identity)(x: [n, in]) -> [n, units] { … }` */
export interface LayerDecl {
  readonly kind: 'layer';
  readonly name: Ident;
  readonly config: readonly ConfigParam[];
  readonly inputs: readonly TensorParam[];
  /** The declared result type, checked against the body's result. */
  readonly output: TypeExpr | null;
  readonly body: readonly Stmt[];
  readonly span: Span;
}

/** A configuration argument of a layer: `units`, `act = identity`. */
export interface ConfigParam {
  readonly name: Ident;
  readonly default: Expr | null;
  readonly span: Span;
}

/** A tensor argument with its type pattern: `x: [n, in]`, `image: f32[batch, 1, 28, 28]`. */
export interface TensorParam {
  readonly name: Ident;
  readonly type: TypeExpr;
  readonly span: Span;
}

/** `f32[batch, 10]` or `[n, in]` (dtype defaults to f32). Dims are expressions over shape variables. */
export interface TypeExpr {
  readonly dtype: Ident | null;
  readonly dims: readonly Expr[];
  readonly span: Span;
}

/** `model FashionCNN(image: f32[batch, 1, 28, 28]) -> logits: f32[batch, 10] { … }` */
export interface ModelDecl {
  readonly kind: 'model';
  readonly name: Ident;
  readonly inputs: readonly TensorParam[];
  /** Named outputs: `-> logits: f32[batch, 10]` or `-> (a: …, b: …)`. */
  readonly outputs: readonly TensorParam[];
  readonly body: readonly Stmt[];
  readonly span: Span;
}

/** `train FashionCNN { loss = …  optimizer = adam(lr: 1e-3) … }` */
export interface TrainDecl {
  readonly kind: 'train';
  readonly model: Ident;
  readonly fields: readonly TrainField[];
  readonly span: Span;
}

export interface TrainField {
  readonly name: Ident;
  readonly value: Expr;
  readonly span: Span;
}

export type Stmt = ParamStmt | LetStmt | ForStmt | ReturnStmt | ExprStmt;

/** `param w: [in, units] = glorot_uniform` (initializer optional: zeros for 1-D, glorot_uniform otherwise). */
export interface ParamStmt {
  readonly kind: 'param';
  readonly name: Ident;
  readonly type: TypeExpr;
  readonly init: Expr | null;
  readonly span: Span;
}

/** `h = cell(x, h)`: binds (or, inside a for loop, rebinds) a name. */
export interface LetStmt {
  readonly kind: 'let';
  readonly name: Ident;
  readonly value: Expr;
  readonly span: Span;
}

/** `for t in 0..28 { … }`: unrolled at elaboration; `to` is exclusive. */
export interface ForStmt {
  readonly kind: 'for';
  readonly variable: Ident;
  readonly from: Expr;
  readonly to: Expr;
  readonly body: readonly Stmt[];
  readonly span: Span;
}

/** `return e` or `return a, b` (one value per declared output). */
export interface ReturnStmt {
  readonly kind: 'return';
  readonly values: readonly Expr[];
  readonly span: Span;
}

/** A bare expression; as the last statement of a body it is the result. */
export interface ExprStmt {
  readonly kind: 'expr';
  readonly value: Expr;
  readonly span: Span;
}

export type Expr = NumberLit | StringLit | NameRef | ListExpr | UnaryExpr | BinaryExpr | PipeExpr | CallExpr | IndexExpr;

export interface NumberLit {
  readonly kind: 'number';
  readonly value: number;
  /** True when written without '.', 'e' or 'E' (an integer literal). */
  readonly isInt: boolean;
  readonly span: Span;
}

export interface StringLit {
  readonly kind: 'string';
  readonly value: string;
  readonly span: Span;
}

export interface NameRef {
  readonly kind: 'name';
  readonly name: string;
  readonly span: Span;
}

/** `[a, b, c]` */
export interface ListExpr {
  readonly kind: 'list';
  readonly items: readonly Expr[];
  readonly span: Span;
}

export interface UnaryExpr {
  readonly kind: 'unary';
  readonly op: '-';
  readonly operand: Expr;
  readonly span: Span;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '@';

export interface BinaryExpr {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  /** The operator token's span (where type errors point). */
  readonly opSpan: Span;
  readonly span: Span;
}

/** `x |> f`: applies f to x. */
export interface PipeExpr {
  readonly kind: 'pipe';
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

/** `f(a, b, name: c)` */
export interface CallExpr {
  readonly kind: 'call';
  readonly callee: Expr;
  readonly args: readonly Arg[];
  readonly span: Span;
}

export interface Arg {
  readonly name: Ident | null;
  readonly value: Expr;
  readonly span: Span;
}

/** `x[:, t, 2:5]` */
export interface IndexExpr {
  readonly kind: 'index';
  readonly target: Expr;
  readonly items: readonly IndexItem[];
  readonly span: Span;
}

export type IndexItem =
  | { readonly kind: 'all'; readonly span: Span }
  | { readonly kind: 'at'; readonly index: Expr; readonly span: Span }
  | { readonly kind: 'range'; readonly from: Expr | null; readonly to: Expr | null; readonly span: Span };
