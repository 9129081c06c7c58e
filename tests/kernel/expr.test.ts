// Kernel expressions: hash-consing, and integer simplification that keeps values and recognizes identity reads.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Expr, IndexVar } from '../../compiler/kernel/expr.js';
import { ExprBuilder } from '../../compiler/kernel/expr.js';
import { ravel, unravel } from '../../compiler/kernel/lower-ops.js';

/** Evaluates an integer expression directly (floor division and modulo), with var values by id. */
function evalInt(e: Expr, env: ReadonlyMap<number, number>): number {
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'var':
      return env.get(e.v.id)!;
    case 'binary': {
      const [a, b] = [evalInt(e.a, env), evalInt(e.b, env)];
      const ops: Record<string, (x: number, y: number) => number> = {
        add: (x, y) => x + y,
        sub: (x, y) => x - y,
        mul: (x, y) => x * y,
        floordiv: (x, y) => Math.floor(x / y),
        mod: (x, y) => x - y * Math.floor(x / y),
        minimum: Math.min,
        maximum: Math.max,
        less: (x, y) => (x < y ? 1 : 0),
        and: (x, y) => (x && y ? 1 : 0),
      };
      return ops[e.fn]!(a, b);
    }
    case 'unary':
      return e.fn === 'not' ? (evalInt(e.x, env) ? 0 : 1) : -evalInt(e.x, env);
    default:
      throw new Error(`unexpected ${e.kind}`);
  }
}

/** Every assignment of the variables' values, as maps. */
function assignments(vars: readonly IndexVar[]): Map<number, number>[] {
  let out: Map<number, number>[] = [new Map()];
  for (const v of vars) out = out.flatMap((m) => Array.from({ length: v.extent }, (_, i) => new Map([...m, [v.id, i]])));
  return out;
}

describe('ExprBuilder', () => {
  it('hash-conses: the same expression built twice is the same object', () => {
    const e = new ExprBuilder();
    const v = e.v(e.newVar(4));
    const a = e.unary('exp', e.cast(e.load(0, e.affine(v, 3, 1), 'f32'), 'f32'));
    const b = e.unary('exp', e.cast(e.load(0, e.affine(v, 3, 1), 'f32'), 'f32'));
    expect(a).toBe(b);
    expect(e.affine(v, 3, 1)).toBe(e.add(e.int(1), e.mul(e.int(3), v)));
  });

  // Reshapes that merge or split adjacent axes (flatten, heads) are the ones models use; for
  // others the offset may stay in an equal but different form, which only costs fusion an
  // in-place or merge opportunity, never correctness.
  it('reads back a row-major offset through a reshape that merges or splits axes as the offset itself (300 pairs)', () => {
    const arbGroups = (n: number) => fc.array(fc.boolean(), { minLength: n - 1, maxLength: n - 1 });
    const group = (refined: readonly number[], cuts: readonly boolean[]): number[] => {
      const out = [refined[0]!];
      cuts.forEach((cut, i) => (cut ? out.push(refined[i + 1]!) : (out[out.length - 1]! *= refined[i + 1]!)));
      return out;
    };
    const arbCase = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }).chain((refined) => fc.tuple(fc.constant(refined), arbGroups(refined.length), arbGroups(refined.length)));
    fc.assert(
      fc.property(arbCase, ([refined, cutsA, cutsB]) => {
        const [space, other] = [group(refined, cutsA), group(refined, cutsB)];
        const e = new ExprBuilder();
        const flat = ravel(e, space.map((d) => e.v(e.newVar(d))), space);
        expect(ravel(e, unravel(e, flat, other), other)).toBe(flat);
        expect(ravel(e, unravel(e, flat, space), space)).toBe(flat);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('keeps the value of random integer index expressions at every point (300 expressions)', () => {
    const arbOp = fc.record({ op: fc.constantFrom('add', 'mul', 'floordiv', 'mod', 'min', 'max', 'affine'), k: fc.integer({ min: 1, max: 7 }), c: fc.integer({ min: -3, max: 5 }), pick: fc.nat() });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), fc.array(arbOp, { minLength: 1, maxLength: 8 }), (extents, steps) => {
        const e = new ExprBuilder();
        const vars = extents.map((d) => e.newVar(d));
        const pool: Expr[] = vars.map((v) => e.v(v));
        // The same construction on plain numbers, per assignment, as the oracle.
        const direct: ((env: ReadonlyMap<number, number>) => number)[] = vars.map((v) => (env) => env.get(v.id)!);
        for (const s of steps) {
          const i = s.pick % pool.length;
          const j = (s.pick >> 3) % pool.length;
          const [a, b, fa, fb] = [pool[i]!, pool[j]!, direct[i]!, direct[j]!];
          const built: [Expr, (env: ReadonlyMap<number, number>) => number] =
            s.op === 'add'
              ? [e.add(a, b), (env) => fa(env) + fb(env)]
              : s.op === 'mul'
                ? [e.mul(a, e.int(s.c)), (env) => fa(env) * s.c]
                : s.op === 'floordiv'
                  ? [e.floordiv(a, s.k), (env) => Math.floor(fa(env) / s.k)]
                  : s.op === 'mod'
                    ? [e.mod(a, s.k), (env) => fa(env) - s.k * Math.floor(fa(env) / s.k)]
                    : s.op === 'min'
                      ? [e.min(a, b), (env) => Math.min(fa(env), fb(env))]
                      : s.op === 'max'
                        ? [e.max(a, e.int(s.c)), (env) => Math.max(fa(env), s.c)]
                        : [e.affine(a, s.k, s.c), (env) => fa(env) * s.k + s.c];
          pool.push(built[0]);
          direct.push(built[1]);
        }
        for (const env of assignments(vars)) {
          pool.forEach((x, k) => expect(evalInt(x, env) + 0).toBe(direct[k]!(env) + 0));
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('drops a modulo or division that the value range makes trivial', () => {
    const e = new ExprBuilder();
    const v = e.v(e.newVar(5));
    expect(e.mod(v, 5)).toBe(v);
    expect(e.floordiv(v, 5)).toBe(e.int(0));
    expect(e.clamp(v, 0, 4)).toBe(v);
    expect(e.inRange(v, 5)).toBe(e.const(1, 'bool'));
    expect(e.floordiv(e.affine(v, 6, 3), 3)).toBe(e.affine(v, 2, 1));
  });
});
