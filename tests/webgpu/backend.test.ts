// The backend suite on WebGPU (Dawn on lavapipe): every op of the registry, forward and gradient, against the reference interpreter, and contractions at tiled sizes.
//
// The same three kinds of case as tests/cpu/backend.test.ts, run through the whole pipeline
// and the WGSL lowering on a real adapter:
// - the hand-computed cases of tests/ops/hand-cases.ts (except those with a zero-element
//   tensor, which no compiled backend loads), against their expected values and the
//   reference, with the op's tolerance class widened to the reduction class where the op
//   sums (WGSL sums in float32);
// - random one-op cases of the gradient table: the op's output and the gradient of a
//   weighted sum of it (one case per op here, to keep lavapipe's shader compiles in budget),
//   compared with gpuReport (finite reference elements only: WGSL assumes no NaN/Inf);
// - contractions at sizes with partial tiles in every direction, batches, strides,
//   padding, dilation and groups, against the reference, in both forms a contraction can
//   take (the tiled GEMM for GPUs, the rows-uniform one for software adapters); the other
//   cases run in the form this adapter gets.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContractionCase } from '../helpers/contraction-cases.js';
import { seededNormal, TILED_CONTRACTIONS } from '../helpers/contraction-cases.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { Attrs } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { OPS, OP_NAMES } from '../../compiler/ir/ops/registry.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import type { Shape } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';
import { differentiate } from '../../compiler/passes/autodiff.js';
import { oneOpGraph, toFloat32Feeds } from '../autodiff/gradcheck.js';
import { GRAD_CASES } from '../autodiff/op-cases.js';
import { allCloseReport, maxAbs, toleranceFor } from '../helpers/allclose.js';
import type { HandCase } from '../ops/hand-cases.js';
import { HAND_CASES } from '../ops/hand-cases.js';
import { KERNEL_FORMS, gpuReport, runGpu, webgpu } from './support.js';

function oneOp(op: OpName, inputs: readonly Tensor[], attrs: Attrs = {}): { graph: Graph; feeds: Map<string, Tensor> } {
  const b = new GraphBuilder(`one_${op}`);
  const ids = inputs.map((t, k) => b.input(`x${k}`, t.type));
  b.output('y', b.op(op, ids, attrs));
  return { graph: b.build(), feeds: new Map(inputs.map((t, k) => [`x${k}`, t])) };
}

/** The op's tolerance class, at least the reduction class: a WGSL sum runs in float32. */
function toleranceOf(op: OpName, inputs: readonly Tensor[]) {
  const terms = Math.max(1, ...inputs.map((t) => t.data.length));
  const own = toleranceFor(OPS[op].tolerance, { terms, maxAbsInput: maxAbs(...inputs) });
  const sums = toleranceFor('reduction', { terms, maxAbsInput: maxAbs(...inputs) });
  return { rtol: Math.max(own.rtol, sums.rtol), atol: Math.max(own.atol, sums.atol) };
}

const seeded = (shape: Shape, seed: number): Tensor => seededNormal(shape, seed, 'webgpu-suite');

/** Contractions with partial 64/32/16 tiles in both directions, K not a multiple of the 16-deep k tile, batches, and the three conv forms. */
const TILED: readonly ContractionCase[] = [
  TILED_CONTRACTIONS[0]!,
  { name: 'matmul 130x70 · 70x9', op: 'matmul', shapes: [[130, 70], [70, 9]], attrs: { transpose_a: false, transpose_b: false } },
  ...TILED_CONTRACTIONS.slice(1),
];

const hasEmptyTensor = (c: HandCase): boolean => [...c.inputs, c.want].some((t) => t.data.length === 0);
const hasEmptyValue = (g: Graph): boolean => [...g.inputs, ...g.params, ...g.nodes].some((v) => numel(v.type.shape) === 0);

describe.skipIf(!webgpu)('backend webgpu', () => {
  describe('hand cases, one op each', () => {
    for (const op of OP_NAMES) {
      it(op, async () => {
        for (const c of HAND_CASES[op] as readonly HandCase[]) {
          if (hasEmptyTensor(c)) continue;
          const { graph, feeds } = oneOp(op, c.inputs, c.attrs);
          const got = (await runGpu(graph, feeds)).get('y')!;
          const ref = interpret(graph, { inputs: feeds, params: new Map() }).outputs.get('y')!;
          const report = gpuReport(new Map([['y', got]]), new Map([['y', ref]]));
          if (report) expect.fail(`${op}: ${c.name}: ${report}`);
          const finite = Array.from(c.want.data).every((x) => Number.isFinite(x));
          if (finite) expect(allCloseReport(got, c.want, toleranceOf(op, c.inputs)), `${op}: ${c.name} (expected values)`).toBeNull();
        }
      });
    }
  });

  describe('random cases, forward and gradient', () => {
    for (const op of OP_NAMES) {
      it(op, async () => {
        const g = GRAD_CASES[op];
        const cases = g.kind === 'check' ? fc.sample(g.arb, { seed: 42, numRuns: 1 }) : g.kind === 'refuses' ? [g.sample] : [];
        for (const c of cases) {
          const { graph, feeds, wrt } = oneOpGraph(op, c);
          if (hasEmptyValue(graph)) continue;
          const full = g.kind === 'check' ? differentiate(graph, 'loss', wrt).graph : graph;
          const f32 = toFloat32Feeds(feeds);
          const got = await runGpu(full, f32.inputs, f32.params);
          const want = interpret(full, f32).outputs;
          const report = gpuReport(got, want);
          if (report) expect.fail(`${op}: ${report}`);
        }
      });
    }
  });

  describe('contractions at tiled sizes, every form', () => {
    for (const [i, c] of TILED.entries()) {
      it.each(KERNEL_FORMS)(`${c.name} (%s)`, async (_form, options) => {
        const inputs = c.shapes.map((s, k) => seeded(s, 10 * i + k));
        const { graph, feeds } = oneOp(c.op, inputs, c.attrs);
        const got = (await runGpu(graph, feeds, new Map(), undefined, options)).get('y')!;
        const ref = interpret(graph, { inputs: feeds, params: new Map() }).outputs.get('y')!;
        expect(allCloseReport(got, ref, toleranceOf(c.op, inputs))).toBeNull();
      });
    }
  });
});
