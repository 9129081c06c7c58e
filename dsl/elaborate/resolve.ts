// Name resolution over every layer and model body, before elaboration, so all unknown names show at once.
//
// Elaboration stops at its first error; this pass walks every body with the same scoping
// rules (config and inputs, shape variables bound by input patterns, `param`, `name = …`,
// loop variables) and reports each unknown name. It checks names only, not types.

import type { Expr, LayerDecl, ModelDecl, Stmt, TypeExpr } from '../ast.js';
import type { Diagnostic } from '../diagnostics.js';
import { closest, diag } from '../diagnostics.js';
import { BUILTINS } from './builtins/index.js';

class Names {
  private readonly names = new Set<string>();
  constructor(private readonly parent: Names | null) {}
  has(n: string): boolean {
    return this.names.has(n) || (this.parent?.has(n) ?? false);
  }
  add(n: string): void {
    this.names.add(n);
  }
  all(): string[] {
    return [...this.names, ...(this.parent?.all() ?? [])];
  }
}

export function resolveNames(layers: ReadonlyMap<string, LayerDecl>, models: readonly ModelDecl[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const globals = new Names(null);
  for (const n of ['true', 'false', ...BUILTINS.keys(), ...layers.keys()]) globals.add(n);
  const callables = [...BUILTINS.keys(), ...layers.keys()];

  const expr = (e: Expr, scope: Names, callee = false): void => {
    switch (e.kind) {
      case 'number':
      case 'string':
        return;
      case 'name':
        if (!scope.has(e.name)) {
          const suggestion = callee ? (closest(e.name, callables) ?? closest(e.name, scope.all())) : closest(e.name, scope.all());
          out.push(diag(callee ? 'E0202' : 'E0201', e.span, { name: e.name, ...(suggestion ? { suggestion } : {}) }));
        }
        return;
      case 'list':
        return e.items.forEach((x) => expr(x, scope));
      case 'unary':
        return expr(e.operand, scope);
      case 'binary':
        expr(e.left, scope);
        return expr(e.right, scope);
      case 'pipe':
        expr(e.left, scope);
        if (e.right.kind === 'call') {
          expr(e.right.callee, scope, true);
          return e.right.args.forEach((a) => expr(a.value, scope));
        }
        return expr(e.right, scope, true);
      case 'call':
        expr(e.callee, scope, true);
        return e.args.forEach((a) => expr(a.value, scope));
      case 'index':
        expr(e.target, scope);
        for (const item of e.items) {
          if (item.kind === 'at') expr(item.index, scope);
          else if (item.kind === 'range') {
            if (item.from) expr(item.from, scope);
            if (item.to) expr(item.to, scope);
          }
        }
        return;
      default:
        return e satisfies never;
    }
  };

  /** Input patterns bind their free dimension names; other dims are expressions. */
  const pattern = (t: TypeExpr, scope: Names): void => {
    for (const d of t.dims) {
      if (d.kind === 'name') scope.add(d.name);
      else expr(d, scope);
    }
  };

  const body = (stmts: readonly Stmt[], scope: Names): void => {
    for (const st of stmts) {
      switch (st.kind) {
        case 'param':
          st.type.dims.forEach((d) => expr(d, scope));
          scope.add(st.name.name);
          break;
        case 'let':
          expr(st.value, scope);
          scope.add(st.name.name);
          break;
        case 'for': {
          expr(st.from, scope);
          expr(st.to, scope);
          const inner = new Names(scope);
          inner.add(st.variable.name);
          body(st.body, inner);
          break;
        }
        case 'return':
          st.values.forEach((v) => expr(v, scope));
          break;
        case 'expr':
          expr(st.value, scope);
          break;
        default:
          st satisfies never;
      }
    }
  };

  for (const layer of layers.values()) {
    const scope = new Names(globals);
    for (const c of layer.config) {
      if (c.default) expr(c.default, globals);
      scope.add(c.name.name);
    }
    for (const p of layer.inputs) {
      pattern(p.type, scope);
      scope.add(p.name.name);
    }
    body(layer.body, scope);
    if (layer.output) layer.output.dims.forEach((d) => expr(d, scope));
  }
  for (const model of models) {
    const scope = new Names(globals);
    for (const p of model.inputs) {
      pattern(p.type, scope);
      scope.add(p.name.name);
    }
    body(model.body, scope);
  }
  return out;
}
