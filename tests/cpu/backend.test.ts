// The one backend suite: every op of the registry as a one-op graph, forward and gradient, on every backend against the reference interpreter.
//
// Run with `describe.each` over the backends (ref, cpu; a WebGPU backend joins the list),
// so each backend passes the same cases. Three kinds of case, all enumerated from OP_NAMES
// through tables typed over every op (a new op without cases fails to type-check or fails
// the coverage test):
// - the hand-computed cases of tests/ops/hand-cases.ts, against their expected values and
//   the reference interpreter, with the op's tolerance class (DESIGN.md, Conventions); the
//   cases with a zero-element tensor (here and below) run on the reference only, since the
//   kernel program has no zero-extent index variables (ExprBuilder.newVar refuses them), so
//   no compiled backend can load such a graph yet;
// - random one-op cases from the gradient tests' table: the op's output and the gradient of a
//   weighted sum of it (the backward ops, through the whole pipeline), against the reference
//   interpreter on the same float32 graph, NaN-aware within rtol 1e-4, atol 1e-5 × scale;
// - contractions at sizes that exercise the CPU's tiling: panel remainders, column blocks,
//   batches, strides, padding, dilation and groups.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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
import { cpuBackend } from '../../runtime/cpu/session.js';
import { referenceBackend } from '../../runtime/reference/session.js';
import type { Backend } from '../../runtime/session.js';
import { oneOpGraph, toFloat32Feeds } from '../autodiff/gradcheck.js';
import { GRAD_CASES } from '../autodiff/op-cases.js';
import { allCloseReport, maxAbs, toleranceFor } from '../helpers/allclose.js';
import type { HandCase } from '../ops/hand-cases.js';
import { HAND_CASES } from '../ops/hand-cases.js';
import { seededNormal, TILED_CONTRACTIONS } from '../helpers/contraction-cases.js';
import { outputsReport } from '../passes/support.js';

const BACKENDS: readonly (readonly [string, Backend])[] = [
  ['ref', referenceBackend],
  ['cpu', cpuBackend],
];

/** A graph of one op whose operands are inputs `x0`, `x1`, …; output `y`. */
function oneOp(op: OpName, inputs: readonly Tensor[], attrs: Attrs = {}): { graph: Graph; feeds: Map<string, Tensor> } {
  const b = new GraphBuilder(`one_${op}`);
  const ids = inputs.map((t, k) => b.input(`x${k}`, t.type));
  b.output('y', b.op(op, ids, attrs));
  return { graph: b.build(), feeds: new Map(inputs.map((t, k) => [`x${k}`, t])) };
}

/** Runs a graph's every output on a backend with the given feeds. */
function runOn(backend: Backend, graph: Graph, inputs: ReadonlyMap<string, Tensor>, params: ReadonlyMap<string, Tensor> = new Map()): Map<string, Tensor> {
  const s = backend.load(graph);
  s.setParams(params);
  return s.run(inputs, graph.outputs.map((o) => o.name));
}

function toleranceOf(op: OpName, inputs: readonly Tensor[]) {
  const terms = Math.max(1, ...inputs.map((t) => t.data.length));
  return toleranceFor(OPS[op].tolerance, { terms, maxAbsInput: maxAbs(...inputs) });
}

const seeded = (shape: Shape, seed: number): Tensor => seededNormal(shape, seed, 'backend-suite');

/** Contractions large enough to need several 4×4 tiles, tails in both directions, and (K = 2000) more than one column block. */
const TILED = TILED_CONTRACTIONS;

describe('the suite covers every op', () => {
  it('has hand cases and a gradient entry for every op of the registry', () => {
    for (const op of OP_NAMES) {
      expect(HAND_CASES[op].length, op).toBeGreaterThan(0);
      expect(GRAD_CASES[op], op).toBeDefined();
    }
  });
});

const hasEmptyTensor = (c: HandCase): boolean => [...c.inputs, c.want].some((t) => t.data.length === 0);
const hasEmptyValue = (g: Graph): boolean => [...g.inputs, ...g.params, ...g.nodes].some((v) => numel(v.type.shape) === 0);

describe.each(BACKENDS)('backend %s', (name, backend) => {
  describe('hand cases, one op each', () => {
    for (const op of OP_NAMES) {
      it(op, () => {
        for (const c of HAND_CASES[op] as readonly HandCase[]) {
          if (name !== 'ref' && hasEmptyTensor(c)) continue;
          const { graph, feeds } = oneOp(op, c.inputs, c.attrs);
          const got = runOn(backend, graph, feeds).get('y')!;
          const ref = interpret(graph, { inputs: feeds, params: new Map() }).outputs.get('y')!;
          const tol = toleranceOf(op, c.inputs);
          expect(allCloseReport(got, c.want, tol), `${op}: ${c.name} (expected values)`).toBeNull();
          expect(allCloseReport(got, ref, tol), `${op}: ${c.name} (reference)`).toBeNull();
        }
      });
    }
  });

  describe('random cases, forward and gradient', () => {
    for (const op of OP_NAMES) {
      it(op, () => {
        const g = GRAD_CASES[op];
        const cases = g.kind === 'check' ? fc.sample(g.arb, { seed: 42, numRuns: 3 }) : g.kind === 'refuses' ? [g.sample] : [];
        for (const c of cases) {
          const { graph, feeds, wrt } = oneOpGraph(op, c);
          if (name !== 'ref' && hasEmptyValue(graph)) continue;
          const full = g.kind === 'check' ? differentiate(graph, 'loss', wrt).graph : graph;
          const f32 = toFloat32Feeds(feeds);
          const got = runOn(backend, full, f32.inputs, f32.params);
          const want = interpret(full, f32).outputs;
          const report = outputsReport(got, want);
          if (report) expect.fail(`${op}: ${report}`);
        }
      });
    }
  });

  describe('contractions at tiled sizes', () => {
    for (const [i, c] of TILED.entries()) {
      it(c.name, () => {
        const inputs = c.shapes.map((s, k) => seeded(s, 10 * i + k));
        const { graph, feeds } = oneOp(c.op, inputs, c.attrs);
        const got = runOn(backend, graph, feeds).get('y')!;
        const ref = interpret(graph, { inputs: feeds, params: new Map() }).outputs.get('y')!;
        expect(allCloseReport(got, ref, toleranceOf(c.op, inputs))).toBeNull();
      });
    }
  });
});
