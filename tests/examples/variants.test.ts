// examples/variants/: the Fashion CNN with one setting the tutorial leaves open changed; the same network otherwise.
//
// Each variant must have the example's parameters (shapes in order) and train block, and
// differ only as its header says: He-uniform weights in the ReLU layers, or standardized
// pixels (which the forward pass shows: a constant image gives what the example gives on
// the standardized image).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { compileSource } from '../../dsl/frontend.js';

function load(file: string) {
  const r = compileSource(readFileSync(file, 'utf8'), file, { dims: { batch: 2 } });
  expect(r.diagnostics).toEqual([]);
  return { graph: r.graph!, train: r.train! };
}

const shapes = (g: Graph) => g.params.map((p) => p.type.shape.join('x'));
const example = load('examples/fashion_cnn.sinter');

describe('examples/variants', () => {
  it.each(['fashion_cnn_he', 'fashion_cnn_standardized'])('%s: the example’s parameter shapes and train block', (name) => {
    const v = load(`examples/variants/${name}.sinter`);
    expect(shapes(v.graph)).toEqual(shapes(example.graph));
    expect(v.train).toEqual(example.train);
  });

  it('fashion_cnn_he: He-uniform in the ReLU layers, Glorot in the output layer', () => {
    const kinds = load('examples/variants/fashion_cnn_he.sinter').graph.params.filter((p) => p.type.shape.length > 1).map((p) => p.init.kind);
    expect(kinds).toEqual(['he_uniform', 'he_uniform', 'he_uniform', 'he_uniform', 'glorot_uniform']);
  });

  it('fashion_cnn_standardized: the example applied to (x − 0.2860) / 0.3530', () => {
    const v = load('examples/variants/fashion_cnn_standardized.sinter').graph;
    const pixels = Array.from({ length: 2 * 28 * 28 }, (_, i) => ((i * 37) % 256) / 255);
    const image = tensorFrom('f32', [2, 1, 28, 28], pixels);
    const standardized = tensorFrom('f32', [2, 1, 28, 28], pixels.map((x) => Math.fround(Math.fround(x - Math.fround(0.286)) / Math.fround(0.353))));
    const params = initParams(example.graph, 1);
    const renamed = new Map(v.params.map((p, i) => [p.name, params.get(example.graph.params[i]!.name)!]));
    const got = interpret(v, { inputs: new Map([['image', image]]), params: renamed }).outputs.get('logits')!.data;
    const want = interpret(example.graph, { inputs: new Map([['image', standardized]]), params }).outputs.get('logits')!.data;
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
  });
});
