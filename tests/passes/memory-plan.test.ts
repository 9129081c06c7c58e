// memory-plan: plans that validate and respect their bounds, and a validator that catches each kind of broken plan.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MemoryRow } from '../../compiler/ir/print.js';
import type { Fused } from '../../compiler/passes/fused.js';
import { fusionClass } from '../../compiler/kernel/lower-kernel.js';
import { fusion } from '../../compiler/passes/fusion.js';
import type { MemoryPlan } from '../../compiler/passes/memory-plan.js';
import { memoryPlan, validatePlan } from '../../compiler/passes/memory-plan.js';
import { schedule } from '../../compiler/passes/schedule.js';
import { simplify } from '../../compiler/passes/simplify.js';
import { arbGraph } from '../helpers/random-graph.js';
import { parseIr } from './support.js';

describe('memoryPlan on random graphs', () => {
  it('validates, places every stored value once, and lies between the lower bound and the naive sum (200 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), (g) => {
        const f = schedule(fusion(simplify(g)));
        const plan = memoryPlan(f);
        expect(validatePlan(f, plan)).toEqual([]);
        expect(plan.peakBytes).toBeGreaterThanOrEqual(plan.lowerBoundBytes);
        expect(plan.peakBytes).toBeLessThanOrEqual(plan.naiveBytes);
        expect(new Set(plan.rows.map((r) => r.value)).size).toBe(plan.rows.length);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('with storage f16: in the half arena at 2 bytes an element exactly the f32 temporaries that are not graph outputs, made by elementwise, view, contraction or range-keeping reduction ops (not sums); the plan validates (200 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), (g) => {
        const f = schedule(fusion(simplify(g)));
        const plan = memoryPlan(f, undefined, 'f16', 1);
        expect(validatePlan(f, plan)).toEqual([]);
        const nodes = new Map(f.graph.nodes.map((n) => [n.id, n]));
        const outputs = new Set(f.graph.outputs.map((o) => o.value));
        for (const r of plan.rows) {
          const { type: t, op } = nodes.get(r.value)!;
          const eligible = t.dtype === 'f32' && !outputs.has(r.value) && (['elementwise', 'view', 'contraction'].includes(fusionClass(op)) || ['max', 'mean', 'softmax', 'maxpool2d', 'avgpool2d', 'maxpool2d_backward', 'avgpool2d_backward'].includes(op));
          expect('half' in r.at).toBe(eligible);
          if ('half' in r.at) expect(r.bytes).toBe(2 * t.shape.reduce((a, b) => a * b, 1));
        }
        expect(plan.peakBytes + plan.halfPeakBytes).toBeGreaterThanOrEqual(plan.lowerBoundBytes);
        expect(plan.peakBytes + plan.halfPeakBytes).toBeLessThanOrEqual(plan.naiveBytes);
        expect(plan.peakBytes).toBeLessThanOrEqual(memoryPlan(f).peakBytes);
        // By default only temporaries of 1024 elements or more.
        const sized = memoryPlan(f, undefined, 'f16');
        for (const r of sized.rows) if ('half' in r.at) expect(r.bytes / 2).toBeGreaterThanOrEqual(1024);
      }),
      { seed: 43, numRuns: 200 },
    );
  });
});

/** Three kernels: a = exp(x) and b = exp(y) live together, then c = a + b; plus a sum for an output. */
const THREE = `graph @Three(%x: f32[64], %y: f32[64]) -> (c: f32[64], next.w: f32[64] aliases %w) {
  param %w: f32[64] = zeros
  kernel @k0 {
    %a = exp(%x) : f32[64]
  }
  kernel @k1 {
    %b = exp(%y) : f32[64]
  }
  kernel @k2 {
    %c = add(%a, %b) : f32[64]
  }
  kernel @k3 {
    %n = sub(%w, %c) : f32[64]
  }
  return %c, %n
}
`;

function three(): { fused: Fused; plan: MemoryPlan } {
  const { graph, layout } = parseIr(THREE);
  const fused: Fused = { graph, kernels: layout.kernels!.map((k) => [...k.nodes]), decisions: [] };
  return { fused, plan: memoryPlan(fused) };
}

function withRow(plan: MemoryPlan, k: number, change: Partial<MemoryRow>): MemoryPlan {
  return { ...plan, rows: plan.rows.map((r, i) => (i === k ? { ...r, ...change } : r)) };
}

describe('validatePlan', () => {
  it('accepts the planner’s plan: a and b apart, c over a dead input, the update in place', () => {
    const { fused, plan } = three();
    expect(validatePlan(fused, plan)).toEqual([]);
    expect(plan.rows.map((r) => ('offset' in r.at ? r.at.offset : 'param' in r.at ? r.at.param : null))).toEqual([0, 256, 0, 'w']);
  });

  it('rejects two values live at once in the same bytes', () => {
    const { fused, plan } = three();
    expect(validatePlan(fused, withRow(plan, 1, { at: { offset: 0 } }))).toEqual([expect.stringContaining('are live at the same time and overlap')]);
  });

  it('rejects a live range that ends before the last read, or starts elsewhere than the writer', () => {
    const { fused, plan } = three();
    expect(validatePlan(fused, withRow(plan, 0, { last: 1 }))[0]).toContain('read (or returned) until 2');
    expect(validatePlan(fused, withRow(plan, 1, { first: 0 }))[0]).toContain('kernel 1 writes it');
  });

  it('rejects misaligned offsets, wrong sizes, bytes outside the arena, and a missing row', () => {
    const { fused, plan } = three();
    expect(validatePlan(fused, withRow(plan, 1, { at: { offset: 128 } }))).toContain('%4: offset 128 is not a multiple of 256');
    expect(validatePlan(fused, withRow(plan, 0, { bytes: 4 }))[0]).toContain('but its type needs 256');
    expect(validatePlan(fused, withRow(plan, 1, { at: { offset: 1024 } })).join()).toContain('outside the');
    expect(validatePlan(fused, { ...plan, rows: plan.rows.slice(1) })).toContain('stored value %3 has no row');
  });

  it('rejects a graph output in the half arena, f32 bytes there, and two half values in the same bytes', () => {
    const { fused } = three();
    const plan = memoryPlan(fused, undefined, 'f16', 1);
    expect(plan.rows.map((r) => r.at)).toEqual([{ half: 0 }, { half: 256 }, { offset: 0 }, { param: 'w' }]);
    expect(validatePlan(fused, plan)).toEqual([]);
    expect(memoryPlan(fused, undefined, 'f16').rows.map((r) => r.at)).toEqual(memoryPlan(fused).rows.map((r) => r.at)); // 64 elements: below 1024
    expect(validatePlan(fused, withRow(plan, 2, { at: { half: 0 }, bytes: 128 }))).toContain("%5 is in the half arena, which holds only f32 temporaries that are not graph outputs or op kernels' results");
    expect(validatePlan(fused, withRow(plan, 0, { bytes: 256 }))[0]).toContain('but its type needs 128 as f16');
    expect(validatePlan(fused, withRow(plan, 1, { at: { half: 0 } }))[0]).toContain('overlap in the half arena');
    expect(validatePlan(fused, withRow(plan, 1, { at: { half: 512 } })).join()).toContain('outside the 512-byte half arena');
  });

  it('rejects an in-place write over a param that is not the output’s alias', () => {
    const { fused, plan } = three();
    expect(validatePlan(fused, withRow(plan, 1, { at: { param: 'w' } }))[0]).toContain('is written over param %w');
  });
});
