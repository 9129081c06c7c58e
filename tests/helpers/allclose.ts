// All-close matching for tests: |got − want| ≤ atol + rtol·|want| per element, by the op's tolerance class.
//
// Every comparison against the reference interpreter goes through here, so the tolerances
// of DESIGN.md's Conventions live in one place and a failure always names the worst element.

import { expect } from 'vitest';
import type { ToleranceClass } from '../../compiler/ir/ops/op.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import type { Shape } from '../../compiler/ir/types.js';
import { formatType, typesEqual } from '../../compiler/ir/types.js';

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/** What a reduction's tolerance depends on: how many terms each result sums, and their size. */
export interface ReductionSize {
  /** K, the number of terms summed into one result element. */
  readonly terms: number;
  /** max |input| over the reduced operands. */
  readonly maxAbsInput: number;
}

/**
 * The tolerance of an op class (DESIGN.md, Conventions): exact 0; elementwise rtol 1e-5,
 * atol 1e-6; transcendental rtol 1e-4, atol 1e-5; reduction over K terms rtol 1e-4,
 * atol 1e-5·√K·max|input| (rounding errors of K terms grow like √K times their size).
 */
export function toleranceFor(cls: ToleranceClass, size?: ReductionSize): Tolerance {
  switch (cls) {
    case 'exact':
      return { rtol: 0, atol: 0 };
    case 'elementwise':
      return { rtol: 1e-5, atol: 1e-6 };
    case 'transcendental':
      return { rtol: 1e-4, atol: 1e-5 };
    case 'reduction':
      if (!size) throw new Error('a reduction tolerance needs the number of terms and max |input|');
      return { rtol: 1e-4, atol: 1e-5 * Math.sqrt(size.terms) * size.maxAbsInput };
    default:
      return cls satisfies never;
  }
}

/** max |x| over some tensors (or arrays); 0 when all are empty. */
export function maxAbs(...xs: readonly (Tensor | ArrayLike<number>)[]): number {
  let m = 0;
  for (const x of xs) {
    const data = 'data' in x ? x.data : x;
    for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]!));
  }
  return m;
}

function multiIndex(flat: number, shape: Shape | null): string {
  if (!shape || shape.length === 0) return `${flat}`;
  const idx: number[] = [];
  let rest = flat;
  for (let k = shape.length - 1; k >= 0; k--) {
    idx.unshift(rest % shape[k]!);
    rest = Math.floor(rest / shape[k]!);
  }
  return `[${idx.join(', ')}] (flat ${flat})`;
}

/**
 * Null when every element is close, else a report naming how many differ and the worst:
 * the element that exceeds its allowance by the most. NaN matches only NaN and an infinity
 * only the same infinity, so NaN-propagation tests can use the same matcher.
 */
export function allCloseReport(got: Tensor | ArrayLike<number>, want: Tensor | ArrayLike<number>, tol: Tolerance): string | null {
  let shape: Shape | null = null;
  if ('type' in got && 'type' in want) {
    if (!typesEqual(got.type, want.type)) return `type differs: got ${formatType(got.type)}, want ${formatType(want.type)}`;
    shape = want.type.shape;
  }
  const g = 'data' in got ? got.data : got;
  const w = 'data' in want ? want.data : want;
  if (g.length !== w.length) return `length differs: got ${g.length} elements, want ${w.length}`;
  let bad = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    let excess: number;
    if (Number.isNaN(a) || Number.isNaN(b)) excess = Number.isNaN(a) && Number.isNaN(b) ? -1 : Infinity;
    else if (!Number.isFinite(a) || !Number.isFinite(b)) excess = a === b ? -1 : Infinity;
    else excess = Math.abs(a - b) - (tol.atol + tol.rtol * Math.abs(b));
    if (excess > 0) {
      bad++;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (bad === 0) return null;
  const a = g[worst]!;
  const b = w[worst]!;
  return (
    `${bad} of ${w.length} elements differ beyond rtol ${tol.rtol}, atol ${tol.atol}; ` +
    `worst at ${multiIndex(worst, shape)}: got ${a}, want ${b}, |diff| ${Math.abs(a - b)} > allowed ${tol.atol + tol.rtol * Math.abs(b)}`
  );
}

/** Fails the test with allCloseReport's message unless got and want are close. */
export function expectAllClose(got: Tensor | ArrayLike<number>, want: Tensor | ArrayLike<number>, tol: Tolerance): void {
  const report = allCloseReport(got, want, tol);
  if (report !== null) expect.fail(report);
}
