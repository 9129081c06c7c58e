// Whole-model gradients: each example at batch 2 with a weighted-sum loss on its logits, checked against float64 finite differences.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Graph, ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import type { RefFeeds } from '../../compiler/ir/interpret.js';
import type { RefTensor } from '../../compiler/ir/ops/op.js';
import { rngFor } from '../../compiler/ir/random.js';
import { numel } from '../../compiler/ir/types.js';
import { compileSource } from '../../dsl/frontend.js';
import { addWeightedLoss, checkGradients, f64Tensor } from './gradcheck.js';

/** Coordinates drawn at random over all parameters of a model. */
const SAMPLED_COORDS = 20;
/** Parameters this small are checked at every coordinate. */
const SMALL_PARAM = 10;

/** The elaborated model at batch 2 with `loss = Σ logits · loss_weights` appended. */
function modelWithLoss(file: string): Graph {
  const path = `examples/${file}`;
  const r = compileSource(readFileSync(path, 'utf8'), path, { dims: { batch: 2 } });
  expect(r.diagnostics).toEqual([]);
  const g = r.graph!;
  const b = new GraphBuilder(g.name);
  const ids = new Map<ValueId, ValueId>();
  for (const i of g.inputs) ids.set(i.id, b.input(i.name, i.type));
  for (const p of g.params) ids.set(p.id, b.param(p.name, p.type, p.init, p.trainable));
  for (const n of g.nodes) ids.set(n.id, b.op(n.op, n.inputs.map((v) => ids.get(v)!), n.attrs, n.loc));
  for (const o of g.outputs) b.output(o.name, ids.get(o.value)!);
  addWeightedLoss(b, ids.get(g.outputs.find((o) => o.name === 'logits')!.value)!);
  return b.build();
}

/** Initial params (seed 1), inputs uniform in [0, 1) and loss weights in [−1, 1), all float32 values. */
function feedsFor(g: Graph): RefFeeds {
  const rng = rngFor(5, 'model-gradients');
  const draw = (n: number, lo: number) => Array.from({ length: n }, () => Math.fround(lo + (1 - lo) * rng.nextFloat()));
  const inputs = new Map<string, RefTensor>(g.inputs.map((i) => [i.name, f64Tensor(i.type, draw(numel(i.type.shape), i.name === 'loss_weights' ? -1 : 0))]));
  return { inputs, params: initParams(g, 1) };
}

/** Every coordinate of small params, plus SAMPLED_COORDS drawn uniformly over all parameter elements. */
function coordinates(g: Graph): Map<string, number[]> {
  const rng = rngFor(9, 'model-coordinates');
  const coords = new Map(g.params.map((p) => [p.name, numel(p.type.shape) <= SMALL_PARAM ? Array.from({ length: numel(p.type.shape) }, (_, i) => i) : []]));
  const total = g.params.reduce((s, p) => s + numel(p.type.shape), 0);
  for (let k = 0; k < SAMPLED_COORDS; k++) {
    let at = rng.nextInt(total);
    const p = g.params.find((q) => (at -= numel(q.type.shape)) < 0)!;
    const i = at + numel(p.type.shape);
    const list = coords.get(p.name)!;
    if (!list.includes(i)) list.push(i);
  }
  return coords;
}

describe.each(['mlp.sinter', 'fashion_cnn.sinter', 'rnn.sinter', 'transformer.sinter', 'residual_mlp.sinter'])('%s at batch 2', (file) => {
  it('has parameter gradients that match central differences (float64) and float32 gradients within 1e-3', () => {
    const g = modelWithLoss(file);
    const gradients = checkGradients(g, feedsFor(g), g.params.map((p) => p.name), { coords: coordinates(g) });
    // The check would pass vacuously if the loss did not reach the parameters.
    const nonzero = [...gradients.values()].filter((t) => t.data.some((v) => v !== 0)).length;
    expect(nonzero).toBe(g.params.length);
  });
});
