// The elaborator: walks a model's AST, expands layer calls and loops, creates parameters, emits graph IR.

import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import type { DType, Shape, TensorType } from '../../compiler/ir/types.js';
import { checkedNumel, formatType, isDType, MAX_TENSOR_ELEMENTS, shapesEqual } from '../../compiler/ir/types.js';
import type { Expr, ForStmt, LayerDecl, ModelDecl, ParamStmt, Span, Stmt, TypeExpr } from '../ast.js';
import { closest } from '../diagnostics.js';
import type { BindSpec, NamedArg } from './bind.js';
import { bindConfig, fail, splitArgs } from './bind.js';
import type { EmitContext } from './builtin.js';
import { Config } from './builtin.js';
import { BUILTINS } from './builtins/index.js';
import { Emitter } from './emit.js';
import { evalBinary, evalIndex, evalNeg } from './expr.js';
import { defaultInitializer, INITIALIZERS, isInitKind, makeInitializer } from './initializers.js';
import { Scope } from './scope.js';
import type { CallableVal, Instance, Located, TensorVal, Val } from './values.js';
import { callableName, describeVal } from './values.js';

/** The i32 scalar input a training graph reads its per-step randomness from (dropout masks). */
export const RANDOM_KEY_INPUT = 'random_key';

/** Most iterations one `for` loop may unroll to. */
export const MAX_UNROLL = 10_000;
/** Deepest nesting of layer applications. */
export const MAX_LAYER_DEPTH = 64;

/** One application of a layer body (or the model body): where its parameters are named. */
interface Frame {
  readonly path: string;
  readonly counters: Map<string, number>;
  readonly used: Set<string>;
}

/**
 * One application of a layer or builtin directly in the model body: its callee, its instance
 * path when it owns parameters (the prefix of their names), and its result's type.
 */
export interface TopLevelApplication {
  readonly kind: string;
  readonly instance: string | null;
  readonly span: Span;
  readonly output: TensorType | null;
}

/** `GRUCell` → `gru_cell`, `Dense` → `dense`, `conv2d` → `conv2d`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** A dimension or type pattern as written, for messages: `[n, in]`, `f32[batch, 10]`. */
export function formatTypeExpr(t: TypeExpr): string {
  return `${t.dtype ? t.dtype.name : ''}[${t.dims.map(formatDim).join(', ')}]`;
}

function formatDim(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return String(e.value);
    case 'name':
      return e.name;
    case 'binary':
      return `${formatDim(e.left)} ${e.op} ${formatDim(e.right)}`;
    case 'unary':
      return `-${formatDim(e.operand)}`;
    default:
      return '…';
  }
}

export class Elaborator {
  readonly builder: GraphBuilder;
  readonly emitter: Emitter;
  private readonly globals = new Scope(null);
  private readonly frames: Frame[] = [];
  private readonly layerStack: string[] = [];
  private readonly params = new Map<string, TensorVal>();

  /** Non-trainable state a training forward pass replaces (batchnorm running statistics). */
  private readonly stateUpdates: { name: string; next: TensorVal }[] = [];
  private readonly paramNames = new Map<number, string>();
  /** Layers applied by the model body itself, in order (what `sinter summary` lists). */
  readonly applications: TopLevelApplication[] = [];
  /** The per-step random key input (training form only), and how many draws use it. */
  private randomKey: TensorVal | null = null;
  private draws = 0;

  constructor(
    readonly layers: ReadonlyMap<string, LayerDecl>,
    private readonly model: ModelDecl,
    /** 'train' elaborates layers in their training form (batch statistics, dropout masks). */
    private readonly mode: 'infer' | 'train' = 'infer',
  ) {
    this.builder = new GraphBuilder(model.name.name);
    this.emitter = new Emitter(this.builder);
    const nowhere = model.name.span;
    this.globals.define('true', { kind: 'bool', value: true }, nowhere);
    this.globals.define('false', { kind: 'bool', value: false }, nowhere);
    for (const def of BUILTINS.values()) this.globals.define(def.name, { kind: 'callable', target: { kind: 'builtin', def }, config: null, instance: null }, nowhere);
    for (const decl of layers.values()) this.globals.define(decl.name.name, { kind: 'callable', target: { kind: 'layer', decl }, config: null, instance: null }, decl.name.span);
  }

  /** Elaborates the model with the given shape variables (`batch`). Throws DiagnosticError. */
  run(dims: Readonly<Record<string, number>>): Graph {
    const m = this.model;
    const scope = new Scope(this.globals, true);
    this.frames.push({ path: '', counters: new Map(), used: new Set() });
    for (const input of m.inputs) {
      const type = this.concreteType(input.type, scope, dims);
      const id = this.builder.input(input.name.name, type);
      scope.define(input.name.name, { kind: 'tensor', id, type }, input.name.span);
    }
    const result = this.execBody(m.body, scope, true);
    if (!result) fail('E0503', m.name.span, { what: `model '${m.name.name}'` });
    if (result.values.length !== m.outputs.length) fail('E0504', result.span, { got: result.values.length, expected: m.outputs.length });
    m.outputs.forEach((out, i) => {
      const v = result.values[i]!;
      if (v.val.kind !== 'tensor') fail('E0406', v.span, { expected: `a tensor for output '${out.name.name}'`, got: describeVal(v.val) });
      const declared = this.concreteType(out.type, scope, dims);
      if (declared.dtype !== v.val.type.dtype || !shapesEqual(declared.shape, v.val.type.shape)) {
        fail('E0407', v.span, { what: `output '${out.name.name}'`, got: formatType(v.val.type), expected: formatType(declared) });
      }
      this.builder.output(out.name.name, v.val.id);
    });
    for (const u of this.stateUpdates) this.builder.output(`next.${u.name}`, u.next.id, u.name);
    return this.builder.build();
  }

  // ---- types and shapes ---------------------------------------------------------------------

  private dtypeOf(t: TypeExpr): DType {
    if (!t.dtype) return 'f32';
    if (!isDType(t.dtype.name)) fail('E0205', t.dtype.span, { name: t.dtype.name });
    return t.dtype.name;
  }

  /** A model signature type: every dim a number, a bound variable, or one of `dims`. */
  private concreteType(t: TypeExpr, scope: Scope, dims: Readonly<Record<string, number>>): TensorType {
    const shape = t.dims.map((d) => {
      if (d.kind === 'name' && !scope.has(d.name)) {
        const given = dims[d.name];
        if (given === undefined) fail('E0404', d.span, { name: d.name }, `model input dims are numbers or ${Object.keys(dims).map((k) => `'${k}'`).join(', ') || 'numbers'} (set with --${Object.keys(dims)[0] ?? 'batch'})`);
        scope.define(d.name, { kind: 'number', value: given, isInt: true }, d.span);
      }
      return this.dimValue(d, scope);
    });
    return this.checkedType(this.dtypeOf(t), shape, t.span);
  }

  private checkedType(dtype: DType, shape: Shape, span: Span): TensorType {
    if (checkedNumel(shape) === null) fail('E0405', span, { shape: shape.join(', '), limit: MAX_TENSOR_ELEMENTS });
    return { dtype, shape: [...shape] };
  }

  /** Evaluates a dimension expression to a non-negative integer. */
  private dimValue(e: Expr, scope: Scope): number {
    const v = this.evalExpr(e, scope).val;
    if (v.kind !== 'number' || !Number.isInteger(v.value)) fail('E0408', e.span, { reason: `expected an integer, got ${describeVal(v)}` });
    if (v.value < 0) fail('E0408', e.span, { reason: `extent ${v.value} is negative` });
    return v.value;
  }

  /** Matches an actual tensor type against a layer's input pattern, binding its shape variables. */
  private unify(pattern: TypeExpr, actual: Located<TensorVal>, scope: Scope, callee: string): void {
    const t = actual.val.type;
    const expected = formatTypeExpr(pattern);
    if (this.dtypeOf(pattern) !== t.dtype || pattern.dims.length !== t.shape.length) {
      fail('E0401', actual.span, { callee, expected: `${pattern.dtype ? '' : 'f32'}${expected}`, got: formatType(t) });
    }
    pattern.dims.forEach((d, i) => {
      const extent = t.shape[i]!;
      if (d.kind === 'name' && !scope.has(d.name)) {
        scope.define(d.name, { kind: 'number', value: extent, isInt: true }, d.span);
        return;
      }
      const want = this.dimValue(d, scope);
      if (want !== extent) {
        const hint = d.kind === 'name' ? `'${d.name}' is ${want} here, but axis ${i} of the input has ${extent}` : `axis ${i} should be ${want}`;
        fail('E0401', actual.span, { callee, expected, got: formatType(t) }, hint);
      }
    });
  }

  // ---- statements ---------------------------------------------------------------------------

  /** Runs a body; returns its result (the final expression or the return values), or null. */
  private execBody(stmts: readonly Stmt[], scope: Scope, allowParams: boolean): { values: Located[]; span: Span } | null {
    let result: { values: Located[]; span: Span } | null = null;
    let returned = false;
    stmts.forEach((st, i) => {
      if (returned) fail('E0507', st.span, {});
      switch (st.kind) {
        case 'param':
          if (!allowParams) fail('E0505', st.span, {});
          scope.define(st.name.name, this.paramStmt(st, scope), st.name.span);
          break;
        case 'let': {
          const v = this.evalExpr(st.value, scope);
          if (v.val.kind === 'callable' && v.val.instance && v.val.instance.name === null) this.nameInstance(v.val.instance, st.name.name);
          scope.assign(st.name.name, v.val, st.name.span);
          break;
        }
        case 'for':
          this.forStmt(st, scope);
          break;
        case 'return':
          result = { values: st.values.map((e) => this.evalExpr(e, scope)), span: st.span };
          returned = true;
          break;
        case 'expr': {
          const v = this.evalExpr(st.value, scope);
          if (i === stmts.length - 1) result = { values: [v], span: st.span };
          break;
        }
        default:
          return st satisfies never;
      }
    });
    return result;
  }

  private forStmt(st: ForStmt, scope: Scope): void {
    const from = this.intValue(st.from, scope);
    const to = this.intValue(st.to, scope);
    const count = Math.max(0, to - from);
    if (count > MAX_UNROLL) fail('E0501', st.span, { limit: MAX_UNROLL, count });
    for (let t = from; t < to; t++) {
      const body = new Scope(scope);
      body.define(st.variable.name, { kind: 'number', value: t, isInt: true }, st.variable.span);
      this.execBody(st.body, body, false);
    }
  }

  private intValue(e: Expr, scope: Scope): number {
    const v = this.evalExpr(e, scope).val;
    if (v.kind !== 'number' || !Number.isInteger(v.value)) fail('E0406', e.span, { expected: 'an integer', got: describeVal(v) });
    return v.value;
  }

  private paramStmt(st: ParamStmt, scope: Scope): TensorVal {
    const shape = st.type.dims.map((d) => this.dimValue(d, scope));
    const type = this.checkedType(this.dtypeOf(st.type), shape, st.type.span);
    const init = st.init ? this.initializer(st.init, scope, shape) : defaultInitializer(shape);
    return this.param(st.name.name, type, init, true, st.span);
  }

  /** `glorot_uniform`, `normal(std: 0.02)`, `uniform(-0.1, 0.1)`, `constant(0.5)`. */
  private initializer(e: Expr, scope: Scope, shape: Shape) {
    const [nameExpr, args] = e.kind === 'call' ? [e.callee, e.args] : [e, []];
    if (nameExpr.kind !== 'name' || !isInitKind(nameExpr.name)) {
      const known = Object.keys(INITIALIZERS);
      const suggestion = nameExpr.kind === 'name' ? closest(nameExpr.name, known) : null;
      fail('E0306', nameExpr.span, { name: 'initializer', reason: 'not a known initializer' }, suggestion ? `did you mean '${suggestion}'?` : `initializers: ${known.join(', ')}`);
    }
    const specs = INITIALIZERS[nameExpr.name];
    const positional = args.filter((a) => !a.name).map((a) => this.evalExpr(a.value, scope));
    const named: NamedArg[] = args.filter((a) => a.name).map((a) => ({ name: a.name!.name, nameSpan: a.name!.span, value: this.evalExpr(a.value, scope) }));
    const bind: BindSpec[] = specs.map(([name, def]) => ({
      spec: def === null ? { name, kind: 'number' } : { name, kind: 'number', default: { kind: 'number', value: def, isInt: Number.isInteger(def) } },
      getDefault: null,
    }));
    const { values } = bindConfig(nameExpr.name, bind, positional, named, e.span);
    const userArgs: Record<string, number> = {};
    for (const [k, v] of values) userArgs[k] = (v as { value: number }).value;
    return makeInitializer(nameExpr.name, userArgs, shape);
  }

  // ---- parameters and instances ------------------------------------------------------------

  private get frame(): Frame {
    return this.frames[this.frames.length - 1]!;
  }

  private uniqueIn(frame: Frame, base: string): string {
    let name = base;
    for (let k = 2; frame.used.has(name); k++) name = `${base}_${k}`;
    frame.used.add(name);
    return name;
  }

  private nameInstance(inst: Instance, base: string): void {
    const frame = this.frames.find((f) => f.path === inst.parent) ?? this.frame;
    inst.name = this.uniqueIn(frame, base);
  }

  private autoName(inst: Instance): string {
    if (inst.name === null) {
      const frame = this.frames.find((f) => f.path === inst.parent) ?? this.frame;
      const base = snakeCase(inst.layerName);
      let k = (frame.counters.get(base) ?? 0) + 1;
      while (frame.used.has(`${base}_${k}`)) k++;
      frame.counters.set(base, k);
      inst.name = this.uniqueIn(frame, `${base}_${k}`);
    }
    return inst.parent ? `${inst.parent}.${inst.name}` : inst.name;
  }

  /**
   * Creates a parameter by full name, or reuses it when the same layer instance is applied
   * again (a shared layer); a reuse with another shape is an error.
   */
  private param(local: string, type: TensorType, init: ReturnType<typeof defaultInitializer>, trainable: boolean, span: Span): TensorVal {
    const path = this.frame.path;
    const full = path ? `${path}.${local}` : local;
    const existing = this.params.get(full);
    if (existing) {
      if (!shapesEqual(existing.type.shape, type.shape) || existing.type.dtype !== type.dtype) {
        fail('E0402', span, { message: `shared layer parameter '${full}' is ${formatType(existing.type)} but this use needs ${formatType(type)}` }, 'a layer bound to a name keeps its parameters; apply it to inputs of one shape');
      }
      return existing;
    }
    const id = this.builder.param(full, type, init, trainable);
    this.paramNames.set(id, full);
    const v: TensorVal = { kind: 'tensor', id, type };
    this.params.set(full, v);
    return v;
  }

  // ---- expressions --------------------------------------------------------------------------

  evalExpr(e: Expr, scope: Scope): Located {
    const span = e.span;
    switch (e.kind) {
      case 'number':
        return { val: { kind: 'number', value: e.value, isInt: e.isInt }, span };
      case 'string':
        return { val: { kind: 'string', value: e.value }, span };
      case 'name': {
        const v = scope.lookup(e.name);
        if (v === undefined) {
          const suggestion = closest(e.name, scope.allNames());
          fail('E0201', span, { name: e.name, ...(suggestion ? { suggestion } : {}) });
        }
        return { val: v, span };
      }
      case 'list':
        return { val: { kind: 'list', items: e.items.map((x) => this.evalExpr(x, scope).val) }, span };
      case 'unary':
        return { val: evalNeg(this.emitter, this.evalExpr(e.operand, scope), span), span };
      case 'binary':
        return { val: evalBinary(this.emitter, e.op, this.evalExpr(e.left, scope), this.evalExpr(e.right, scope), e.opSpan), span };
      case 'index': {
        const target = this.evalExpr(e.target, scope);
        return { val: evalIndex(this.emitter, target, e.items, (x) => this.intValue(x, scope), span), span };
      }
      case 'pipe': {
        const input = this.evalExpr(e.left, scope);
        if (input.val.kind !== 'tensor') fail('E0406', input.span, { expected: 'a tensor on the left of |>', got: describeVal(input.val) });
        // Errors about the piped value point at the stage that rejected it, not at the pipeline's start.
        const piped: Located<TensorVal> = { val: input.val, span: e.right.span };
        if (e.right.kind === 'call') return this.call(e.right.callee, e.right.args, scope, e.right.span, piped);
        return this.callValue(this.evalCallee(e.right, scope), [], [], e.right.span, piped);
      }
      case 'call':
        return this.call(e.callee, e.args, scope, span, null);
      default:
        return e satisfies never;
    }
  }

  /** Evaluates the callee of a call; an unknown name there is an unknown layer (E0202). */
  private evalCallee(e: Expr, scope: Scope): Located {
    if (e.kind === 'name' && scope.lookup(e.name) === undefined) {
      const candidates = [...BUILTINS.keys(), ...this.layers.keys()];
      const suggestion = closest(e.name, candidates) ?? closest(e.name, scope.allNames());
      fail('E0202', e.span, { name: e.name, ...(suggestion ? { suggestion } : {}) });
    }
    return this.evalExpr(e, scope);
  }

  private call(calleeExpr: Expr, args: readonly { name: { name: string; span: Span } | null; value: Expr }[], scope: Scope, span: Span, piped: Located<TensorVal> | null): Located {
    const callee = this.evalCallee(calleeExpr, scope);
    const positional = args.filter((a) => !a.name).map((a) => this.evalExpr(a.value, scope));
    const named: NamedArg[] = args.filter((a) => a.name).map((a) => ({ name: a.name!.name, nameSpan: a.name!.span, value: this.evalExpr(a.value, scope) }));
    return this.callValue(callee, positional, named, span, piped);
  }

  /**
   * Applies a callable. Tensor arguments are inputs (a piped value first); other arguments
   * configure it. With no tensor inputs the configured callable itself is the result.
   */
  private callValue(callee: Located, positional: readonly Located[], named: readonly NamedArg[], span: Span, piped: Located<TensorVal> | null): Located {
    const fn = callee.val;
    if (fn.kind !== 'callable') fail('E0307', callee.span, { what: describeVal(fn) });
    const split = splitArgs(positional, named);
    const inputNames = fn.target.kind === 'builtin' ? fn.target.def.inputs : fn.target.decl.inputs.map((p) => p.name.name);
    const tensors = piped ? [piped, ...split.tensors] : split.tensors;
    const config = split.named.filter((n) => !(inputNames !== 'variadic' && inputNames.includes(n.name) && n.value.val.kind === 'tensor'));
    for (const n of split.named) if (!config.includes(n)) tensors.push(n.value as Located<TensorVal>);
    const numeric = fn.target.kind === 'builtin' ? fn.target.def.numeric : undefined;
    if (numeric && tensors.length === 0 && config.length === 0 && split.config.length === 1 && split.config[0]!.val.kind === 'number') {
      return { val: { kind: 'number', value: numeric(split.config[0]!.val.value), isInt: false }, span };
    }
    let configured = fn;
    if (fn.config === null) configured = this.configure(fn, split.config, config, span);
    else if (split.config.length > 0 || config.length > 0) {
      const first = split.config[0]?.span ?? config[0]!.nameSpan;
      fail('E0302', first, { callee: callableName(fn), max: 0, got: split.config.length + config.length }, `${callableName(fn)} is already configured; pass only tensor inputs`);
    }
    const wantsInputs = inputNames === 'variadic' || inputNames.length > 0;
    if (tensors.length === 0 && wantsInputs) return { val: configured, span };
    return { val: this.applyConfigured(configured, tensors, span), span };
  }

  private configure(fn: CallableVal, positional: readonly Located[], named: readonly NamedArg[], span: Span): CallableVal {
    const name = callableName(fn);
    let specs: BindSpec[];
    if (fn.target.kind === 'builtin') specs = fn.target.def.config.map((spec) => ({ spec, getDefault: null }));
    else {
      const defaults = new Scope(this.globals);
      specs = fn.target.decl.config.map((p) => ({
        spec: { name: p.name.name, kind: 'any' },
        getDefault: p.default ? () => this.evalExpr(p.default!, defaults).val : null,
      }));
    }
    const { values, spans } = bindConfig(name, specs, positional, named, span);
    const ownsParams = fn.target.kind === 'layer' || fn.target.def.ownsParams;
    const instance: Instance | null = ownsParams ? { parent: this.frame.path, layerName: name, name: null } : null;
    const configured: CallableVal = { kind: 'callable', target: fn.target, config: values, instance };
    this.spans.set(configured, spans);
    return configured;
  }

  private readonly spans = new WeakMap<CallableVal, ReadonlyMap<string, Span>>();

  /** Applies a configured callable (configuring with defaults first when needed). */
  applyConfigured(fn: CallableVal, inputs: readonly Located<TensorVal>[], span: Span): Val {
    const c = fn.config === null ? this.configure(fn, [], [], span) : fn;
    const name = callableName(c);
    const target = c.target;
    const expected = target.kind === 'builtin' ? target.def.inputs : target.decl.inputs;
    if (expected !== 'variadic' && expected.length !== inputs.length) fail('E0308', span, { callee: name, expected: expected.length, got: inputs.length });
    if (expected === 'variadic' && inputs.length === 0) fail('E0308', span, { callee: name, expected: 'at least 1', got: 0 });
    if (this.layerStack.includes(name) && target.kind === 'layer') fail('E0502', span, { name });
    if (this.layerStack.length >= MAX_LAYER_DEPTH) fail('E0502', span, { name }, `layers nest at most ${MAX_LAYER_DEPTH} deep`);
    const path = c.instance ? this.autoName(c.instance) : this.frame.path;
    const top = this.layerStack.length === 0;
    this.frames.push({ path, counters: new Map(), used: new Set() });
    this.layerStack.push(name);
    try {
      const val = target.kind === 'builtin' ? target.def.apply(this.context(span), new Config(c.config!, this.spans.get(c) ?? new Map()), inputs) : this.applyLayer(target.decl, c, inputs);
      if (top) this.applications.push({ kind: name, instance: c.instance ? path : null, span, output: val.kind === 'tensor' ? val.type : null });
      return val;
    } finally {
      this.layerStack.pop();
      this.frames.pop();
    }
  }

  private applyLayer(decl: LayerDecl, c: CallableVal, inputs: readonly Located<TensorVal>[]): Val {
    const scope = new Scope(this.globals, true);
    for (const [k, v] of c.config!) scope.define(k, v, decl.name.span);
    decl.inputs.forEach((p, i) => {
      this.unify(p.type, inputs[i]!, scope, decl.name.name);
      scope.define(p.name.name, inputs[i]!.val, p.name.span);
    });
    const result = this.execBody(decl.body, scope, true);
    if (!result) fail('E0503', decl.name.span, { what: `layer '${decl.name.name}'` });
    if (result.values.length !== 1) fail('E0504', result.span, { got: result.values.length, expected: 1 });
    const out = result.values[0]!;
    if (decl.output) {
      if (out.val.kind !== 'tensor') fail('E0406', out.span, { expected: `a tensor result for ${decl.name.name}`, got: describeVal(out.val) });
      const t = out.val.type;
      const want = formatTypeExpr(decl.output);
      const dims = decl.output.dims.map((d) => this.dimValue(d, scope));
      if (this.dtypeOf(decl.output) !== t.dtype || !shapesEqual(dims, t.shape)) {
        fail('E0407', out.span, { what: `the result of ${decl.name.name}`, got: formatType(t), expected: `${want} = ${formatType({ dtype: this.dtypeOf(decl.output), shape: dims })}` });
      }
    }
    return out.val;
  }

  /** The EmitContext a builtin sees for one application at `span`. */
  private context(span: Span): EmitContext {
    const em = this.emitter;
    return {
      span,
      training: this.mode === 'train',
      updateState: (param, next) => {
        const name = this.paramNames.get(param.id);
        if (name === undefined) throw new Error('internal: updateState on a value that is not a parameter');
        if (this.stateUpdates.some((u) => u.name === name)) fail('E0402', span, { message: `state '${name}' is updated twice in one step` }, 'a layer with running statistics can be applied once per step');
        this.stateUpdates.push({ name, next });
      },
      noise: (shape) => {
        if (!this.randomKey) {
          const id = this.builder.input(RANDOM_KEY_INPUT, { dtype: 'i32', shape: [] });
          this.randomKey = { kind: 'tensor', id, type: this.builder.typeOf(id) };
        }
        return em.op('random_uniform', [this.randomKey.id], { shape: [...shape], salt: this.draws++ }, span);
      },
      op: (op, inputs, attrs = {}, at = span) => em.op(op, inputs, attrs, at),
      param: (local, shape, init, trainable = true) => this.param(local, this.checkedType('f32', shape, span), init, trainable, span),
      constant: (value, dtype, shape) => em.constant(value, dtype, shape, span),
      binary: (op, a, b, at = span) => em.binary(op, a, b, at),
      matmul: (a, b) => em.matmul(a, b, span),
      reshape: (x, shape) => em.reshape(x, shape, span),
      broadcastTo: (x, shape) => em.broadcastTo(x, shape, span),
      apply: (fn, inputs) => this.applyConfigured(fn, inputs, span),
      fail: (code, args, at = span, hint) => fail(code, at, args, hint),
    };
  }
}
