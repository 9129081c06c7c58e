// Window loops for the CPU: an output axis read as (i / k, i % k) becomes two loops, so work that depends only on i / k runs once per window.
//
// A max-pooling gradient over 2×2 windows finds each window's first maximum for every one of
// the window's four elements: the argmax depends on (y / 2, x / 2), the element's own tap on
// (y % 2, x % 2). With y = 2·wy + ty and x = 2·wx + tx, loops ordered (…, wy, wx, ty, tx) and
// the expressions rebuilt (the builder folds floordiv(2·wy + ty, 2) to wy), the emitter
// places the argmax in the wx loop, outside the tap loops: computed once per window instead
// of once per element. Each output element is still computed by the same expression, so
// results are unchanged bit for bit; only the order of the stores changes (their position
// is computed, not counted). An axis that k does not divide (11 rows in 2-row windows) gets
// ⌈n/k⌉ windows and a guard that skips the taps past its end. The outermost axis is never
// split: threads divide it.

import type { Expr, IndexVar } from '../../kernel/expr.js';
import { ExprBuilder, maxId, rebuild, topoOrder } from '../../kernel/expr.js';
import type { ExprKernel } from '../../kernel/program.js';

export interface SplitLoops {
  /** Loop variables, outermost first: the kernel's first variable, the other axes (split ones by window), then the taps. */
  readonly vars: readonly IndexVar[];
  /** The kernel's values, rebuilt over these variables. */
  readonly values: readonly Expr[];
  /** The flat output position of the current point. */
  readonly position: Expr;
  /** Per tap variable of an axis its window size does not divide: the condition that the point is inside the axis. */
  readonly guards: ReadonlyMap<number, Expr>;
}

/** The kernel's loops split by window where that takes a reduction out of the tap loops; null when nothing gains. */
export function splitWindowLoops(k: ExprKernel): SplitLoops | null {
  if (k.vars.length < 2) return null;
  const divisor = new Map<number, number>();
  for (const e of topoOrder(k.values)) {
    if (e.kind !== 'binary' || (e.fn !== 'floordiv' && e.fn !== 'mod') || e.b.kind !== 'const') continue;
    const d = e.b.value;
    for (const v of k.vars.slice(1)) {
      if (!divisor.has(v.id) && e.a.free.includes(v.id) && d > 1 && d < v.extent) divisor.set(v.id, d);
    }
  }
  if (divisor.size === 0) return null;
  const b = new ExprBuilder(Math.max(maxId(k.values), ...k.vars.map((v) => v.id)) + 1);
  const subst = new Map<number, Expr>();
  const outer: IndexVar[] = [];
  const taps: IndexVar[] = [];
  const guards = new Map<number, Expr>();
  for (const v of k.vars) {
    const d = divisor.get(v.id);
    if (d === undefined) {
      outer.push(v);
      continue;
    }
    const w = b.newVar(Math.ceil(v.extent / d));
    const t = b.newVar(d);
    const at = b.add(b.mul(b.v(w), b.int(d)), b.v(t));
    subst.set(v.id, at);
    if (v.extent % d !== 0) guards.set(t.id, b.binary('less', at, b.int(v.extent)));
    outer.push(w);
    taps.push(t);
  }
  const values = rebuild(b, k.values, subst);
  const tapIds = new Set(taps.map((t) => t.id));
  const windowIds = new Set(outer.filter((v) => !k.vars.includes(v)).map((v) => v.id));
  const hoisted = topoOrder(values).some((e) => e.kind === 'reduce' && e.free.some((v) => windowIds.has(v)) && !e.free.some((v) => tapIds.has(v)));
  if (!hoisted) return null;
  let position = b.int(0);
  for (const v of k.vars) position = b.add(b.mul(position, b.int(v.extent)), subst.get(v.id) ?? b.v(v));
  return { vars: [...outer, ...taps], values, position, guards };
}
