// The middle end's contract: the kernel program after every pass, run by the kernel interpreter, equals the reference on the input graph.
//
// For each random graph: run every stage with verification on (the verifier, the fused
// program's invariants and the memory-plan validator after each stage), run the resulting
// kernel program — temporaries at their planned arena offsets — and compare every output
// with the reference interpreter on the unoptimized graph: NaN only with NaN, infinities
// exactly, finite values within rtol 1e-4 and atol 1e-5 × the output's largest magnitude.
// (In practice the two agree bit for bit up to the sign of a zero: lowerings round where the
// reference rounds and reduce in its order.) Train-step graphs come from random forward
// graphs with an MSE loss, their backward pass and an optimizer update.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { runKernelProgram } from '../../compiler/kernel/interpret.js';
import { runPipeline, STAGE_NAMES } from '../../compiler/pipeline.js';
import { arbGraph } from '../helpers/random-graph.js';
import { arbTrainStep } from '../helpers/random-train-step.js';
import { outputsReport, randomFeeds } from './support.js';

function checkEquivalent(g: Graph): void {
  const feeds = randomFeeds(g);
  const want = interpret(g, feeds).outputs;
  const { state, timings } = runPipeline(g, { verify: true });
  expect(timings.map((t) => t.pass)).toEqual(STAGE_NAMES);
  const got = runKernelProgram(state.program!, feeds).outputs;
  const report = outputsReport(got, want);
  if (report) expect.fail(report);
}

describe('the whole pipeline against the reference', () => {
  it('forward graphs: kernel program after all passes equals the reference (250 graphs)', () => {
    fc.assert(fc.property(arbGraph(), checkEquivalent), { seed: 42, numRuns: 250 });
  });

  it('train-step graphs: forward, loss, backward and update (60 graphs)', () => {
    let checked = 0;
    fc.assert(
      fc.property(arbTrainStep(), (step) => {
        if (step === null) return;
        checked++;
        checkEquivalent(step);
      }),
      { seed: 42, numRuns: 60 },
    );
    expect(checked).toBeGreaterThan(30);
  });
});
