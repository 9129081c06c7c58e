// Gradient checks against float64 central differences: every op of the registry on random one-op graphs, and the five example models.
//
// The per-op table enumerates the registry, so an op added without a gradient case fails
// here. The models get a weighted-sum loss on their logits at batch 2 and are checked on a
// sample of parameter coordinates; their whole float32 gradients are compared with float64.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import type { RefFeeds } from '../../compiler/ir/interpret.js';
import type { RefTensor, VjpContext } from '../../compiler/ir/ops/op.js';
import { OPS, OP_NAMES } from '../../compiler/ir/ops/registry.js';
import { rngFor } from '../../compiler/ir/random.js';
import { numel } from '../../compiler/ir/types.js';
import { GradientError, differentiate } from '../../compiler/passes/autodiff.js';
import { compileSource } from '../../dsl/frontend.js';
import { addWeightedLoss, checkGradients, f64Tensor, oneOpGraph } from './gradcheck.js';
import { GRAD_CASES } from './op-cases.js';

describe('gradient cases', () => {
  it('cover every op of the registry', () => {
    const missing = OP_NAMES.filter((op) => GRAD_CASES[op] === undefined);
    expect(missing).toEqual([]);
  });

  it("declare 'refuses' exactly for the ops whose VJP is 'none'", () => {
    const none = OP_NAMES.filter((op) => OPS[op].vjp === 'none');
    const refuses = OP_NAMES.filter((op) => GRAD_CASES[op].kind === 'refuses');
    expect(refuses).toEqual(none);
  });

  it('mark an op as passing no gradient only when its VJP emits nothing and returns null for every input', () => {
    const ctx: VjpContext = {
      typeOf: () => expect.fail('a no-gradient VJP asked for a type'),
      op: (op) => expect.fail(`a no-gradient VJP emitted '${op}'`),
    };
    for (const op of OP_NAMES.filter((o) => GRAD_CASES[o].kind === 'no-gradient')) {
      const rule = OPS[op].vjp;
      if (rule === 'none') expect.fail(`${op} is marked no-gradient but its VJP is 'none'`);
      const arity = OPS[op].arity === 'variadic' ? 2 : (OPS[op].arity as number);
      const inputs = Array.from({ length: arity }, (_, i) => i);
      expect(rule(ctx, inputs, 99, {}, 100), op).toEqual(inputs.map(() => null));
    }
  });
});

describe('VJP against central differences (float64) and float32 against float64', () => {
  for (const op of OP_NAMES) {
    const c = GRAD_CASES[op];
    if (c.kind !== 'check') continue;
    it(op, () => {
      fc.assert(
        fc.property(c.arb, (oneOp) => {
          const { graph, feeds, wrt } = oneOpGraph(op, oneOp);
          checkGradients(graph, feeds, wrt);
        }),
        { seed: 42, numRuns: c.runs ?? 40 },
      );
    });
  }
});

describe("ops whose VJP is 'none'", () => {
  for (const op of OP_NAMES) {
    const c = GRAD_CASES[op];
    if (c.kind !== 'refuses') continue;
    it(`${op} (${c.why}): differentiating through it throws GradientError naming the op and its loc`, () => {
      const { graph, wrt } = oneOpGraph(op, c.sample);
      expect(() => differentiate(graph, 'loss', wrt)).toThrow(GradientError);
      expect(() => differentiate(graph, 'loss', wrt)).toThrow(`'${op}' at grad.sinter:1:1`);
    });
  }
});

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
