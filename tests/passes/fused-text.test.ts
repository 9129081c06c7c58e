// The fused, planned IR's textual form: printing, parsing and printing again is the identity, on random graphs.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../compiler/ir/parse.js';
import { printState, runPipeline, stateFromText } from '../../compiler/pipeline.js';
import { arbGraph } from '../helpers/random-graph.js';

describe('fused IR text', () => {
  it('parses back after fusion, schedule and memory-plan, to the same text and the same plan, f32 or f16 storage (200 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), fc.constantFrom('f32' as const, 'f16' as const), (g, storage) => {
        const { state } = runPipeline(g, { passes: ['simplify', 'fusion', 'schedule', 'memory-plan'], storage, halfMinElements: 1 });
        const text = printState(state);
        const r = parseGraph(text, 'fused.ir');
        expect(r.diagnostics.map((d) => d.message)).toEqual([]);
        const back = stateFromText(r.graph!, r.layout);
        if ('problems' in back) expect.fail(back.problems.join('; '));
        expect(printState(back.state)).toBe(text);
        expect(back.state.fused!.kernels.length).toBe(state.fused!.kernels.length);
        expect(back.state.plan!.peakBytes).toBe(state.plan!.peakBytes);
        expect(back.state.plan!.halfPeakBytes).toBe(state.plan!.halfPeakBytes);
        expect(back.state.plan!.lowerBoundBytes).toBe(state.plan!.lowerBoundBytes);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
