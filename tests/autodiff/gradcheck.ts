// Gradient checking for tests: one-op graphs with a weighted-sum loss, float64 central differences, and float32 parity.
//
// The analytic gradient is the `grad.<name>` output of the differentiated graph run at
// float64 precision; the numeric one is (L(x + eps) − L(x − eps)) / 2eps on the forward
// graph, also at float64. Tolerances are DESIGN.md's: float64 gradients against central
// differences eps 1e-6, rtol 1e-3, atol 1e-5; float32 gradients against float64 ones rtol
// 1e-3, atol 1e-4.

import { expect } from 'vitest';
import type { Graph, ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { RefFeeds } from '../../compiler/ir/interpret.js';
import type { Attrs, RefTensor } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { TensorType } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { differentiate } from '../../compiler/passes/autodiff.js';
import type { Tolerance } from '../helpers/allclose.js';
import { allCloseReport } from '../helpers/allclose.js';

export const FD_EPS = 1e-6;
export const FD_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-5 };
export const F32_GRAD_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-4 };

/** One input of a one-op case: its type, its values, and whether to differentiate with respect to it. */
export interface InputSpec {
  readonly type: TensorType;
  readonly values: readonly number[];
  readonly wrt: boolean;
}

/** A single node of `op` on some inputs; `seed` draws the weights of the loss Σ y·weights. */
export interface OneOpCase {
  readonly inputs: readonly InputSpec[];
  readonly attrs: Attrs;
  readonly seed: number;
}

/** A host value: f32 data in a Float64Array (float64 runs widen Float32Array feeds anyway). */
export function f64Tensor(type: TensorType, values: ArrayLike<number>): RefTensor {
  if (type.dtype !== 'f32') return tensorFrom(type.dtype, type.shape, values);
  if (values.length !== numel(type.shape)) throw new Error(`test bug: ${values.length} values for [${type.shape.join(',')}]`);
  return { type, data: Float64Array.from(values) };
}

/** The same feeds with every f32 value rounded into a Float32Array, for a float32 run. */
export function toFloat32Feeds(feeds: RefFeeds): { inputs: Map<string, Tensor>; params: Map<string, Tensor> } {
  const narrow = (m: ReadonlyMap<string, RefTensor>): Map<string, Tensor> =>
    new Map([...m].map(([k, t]) => [k, tensorFrom(t.type.dtype, t.type.shape, t.data)]));
  return { inputs: narrow(feeds.inputs), params: narrow(feeds.params) };
}

/** Appends `loss = Σ value · weights` (weights a new input named `loss_weights`) and outputs it. */
export function addWeightedLoss(b: GraphBuilder, value: ValueId): void {
  const t = b.typeOf(value);
  const w = b.input('loss_weights', { dtype: 'f32', shape: t.shape });
  const axes = t.shape.map((_, i) => i);
  b.output('loss', b.op('sum', [b.op('mul', [value, w])], { axes, keepdims: false }));
}

/** The one-op graph of a case: wrt inputs are params `x0`, `x1`, …, the others inputs `aux0`, …. */
export function oneOpGraph(op: OpName, c: OneOpCase): { graph: Graph; feeds: RefFeeds; wrt: string[] } {
  const b = new GraphBuilder(`grad_${op}`);
  const inputs = new Map<string, RefTensor>();
  const params = new Map<string, RefTensor>();
  const wrt: string[] = [];
  const ids = c.inputs.map((spec, k) => {
    const value = f64Tensor(spec.type, spec.values);
    if (spec.wrt) {
      const name = `x${k}`;
      wrt.push(name);
      params.set(name, value);
      return b.param(name, spec.type, { kind: 'zeros', args: {} });
    }
    inputs.set(`aux${k}`, value);
    return b.input(`aux${k}`, spec.type);
  });
  const y = b.op(op, ids, c.attrs, { file: 'grad.sinter', line: 1, col: 1 });
  b.output('y', y);
  addWeightedLoss(b, y);
  const shape = b.typeOf(y).shape;
  const rng = rngFor(c.seed, 'loss-weights');
  inputs.set('loss_weights', f64Tensor({ dtype: 'f32', shape }, Array.from({ length: numel(shape) }, () => Math.fround(2 * rng.nextFloat() - 1))));
  return { graph: b.build(), feeds: { inputs, params }, wrt };
}

/** The loss of the forward graph at float64 with one coordinate of one param or input moved by `delta`. */
export function lossAt(graph: Graph, feeds: RefFeeds, name: string, index: number, delta: number): number {
  const moved = (m: ReadonlyMap<string, RefTensor>): Map<string, RefTensor> => {
    const t = m.get(name);
    if (!t) return new Map(m);
    const data = Float64Array.from(t.data);
    data[index]! += delta;
    return new Map(m).set(name, { type: t.type, data });
  };
  const out = interpret(graph, { inputs: moved(feeds.inputs), params: moved(feeds.params) }, { float64: true });
  return out.outputs.get('loss')!.data[0]!;
}

export function centralDifference(graph: Graph, feeds: RefFeeds, name: string, index: number): number {
  return (lossAt(graph, feeds, name, index, FD_EPS) - lossAt(graph, feeds, name, index, -FD_EPS)) / (2 * FD_EPS);
}

export interface GradCheckOptions {
  /** Coordinates to check per wrt name (default: all of them). */
  readonly coords?: ReadonlyMap<string, readonly number[]>;
  /** Also run the differentiated graph at float32 and compare it with float64 (default true). */
  readonly float32?: boolean;
}

/**
 * Differentiates `graph` (output `loss`) with respect to `wrt`, checks the result verifies,
 * and compares its gradients at float64 with central differences, and at float32 with
 * float64. Returns the float64 gradients by wrt name; fails the test with a report otherwise.
 */
export function checkGradients(graph: Graph, feeds: RefFeeds, wrt: readonly string[], options: GradCheckOptions = {}): Map<string, RefTensor> {
  const { graph: dg, grads } = differentiate(graph, 'loss', wrt);
  expect(verifyGraph(dg)).toEqual([]);
  const exact = interpret(dg, feeds, { float64: true }).outputs;
  const result = new Map<string, RefTensor>();
  for (const name of wrt) {
    const g = exact.get(grads.get(name)!)!;
    result.set(name, g);
    const coords = options.coords?.get(name) ?? Array.from(g.data, (_, i) => i);
    const numeric = coords.map((i) => centralDifference(graph, feeds, name, i));
    const analytic = coords.map((i) => g.data[i]!);
    const report = allCloseReport(analytic, numeric, FD_TOLERANCE);
    if (report !== null) expect.fail(`d loss / d ${name} (analytic vs central differences at coordinates [${coords.join(', ')}]): ${report}`);
  }
  if (options.float32 ?? true) {
    const rounded = interpret(dg, toFloat32Feeds(feeds)).outputs;
    for (const name of wrt) {
      const report = allCloseReport(rounded.get(grads.get(name)!)!.data, result.get(name)!.data, F32_GRAD_TOLERANCE);
      if (report !== null) expect.fail(`d loss / d ${name} at float32 vs float64: ${report}`);
    }
  }
  return result;
}
