// Every example parses, elaborates, verifies, prints, round-trips through the textual IR, and runs.

import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { initParams } from '../../compiler/ir/init.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { parseGraph } from '../../compiler/ir/parse.js';
import { printGraph } from '../../compiler/ir/print.js';
import { rngFor } from '../../compiler/ir/random.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { compileSource } from '../../dsl/frontend.js';

const examples = readdirSync('examples').filter((f) => f.endsWith('.sinter'));

function compileExample(file: string, batch: number) {
  const path = `examples/${file}`;
  const r = compileSource(readFileSync(path, 'utf8'), path, { dims: { batch } });
  expect(r.diagnostics).toEqual([]);
  return r;
}

describe('examples', () => {
  it('include the five the project promises', () => {
    expect(examples.sort()).toEqual(['fashion_cnn.sinter', 'mlp.sinter', 'residual_mlp.sinter', 'rnn.sinter', 'transformer.sinter']);
  });

  describe.each(examples)('%s', (file) => {
    it('elaborates to a verified graph that round-trips through the textual IR', () => {
      const { graph, train } = compileExample(file, 2);
      expect(verifyGraph(graph!)).toEqual([]);
      expect(train).not.toBeNull();
      const text = printGraph(graph!);
      const parsed = parseGraph(text, `${file}.ir`);
      expect(parsed.diagnostics).toEqual([]);
      expect(printGraph(parsed.graph!)).toBe(text);
    });

    it('runs on the reference interpreter: finite logits of shape [2, 10] that depend on the input', () => {
      const { graph } = compileExample(file, 2);
      const g = graph!;
      const params = initParams(g, 1);
      const run = (seed: number) => {
        const rng = rngFor(seed, 'test-input');
        const inputs = new Map(g.inputs.map((i) => [i.name, tensorFrom(i.type.dtype, i.type.shape, Array.from({ length: numel(i.type.shape) }, () => rng.nextFloat()))]));
        return interpret(g, { inputs, params }).outputs.get('logits')!;
      };
      const a = run(1);
      expect(a.type.shape).toEqual([2, 10]);
      expect(Array.from(a.data).every(Number.isFinite)).toBe(true);
      const b = run(2);
      expect(Array.from(a.data)).not.toEqual(Array.from(b.data));
    });
  });

  it('fashion_cnn at batch 64 has three convolutions, the Keras parameter count, and a f32[64,10] output', () => {
    const { graph } = compileExample('fashion_cnn.sinter', 64);
    const g = graph!;
    expect(g.nodes.filter((n) => n.op === 'conv2d')).toHaveLength(3);
    expect(g.outputs.map((o) => g.nodes.find((n) => n.id === o.value)!.type)).toEqual([{ dtype: 'f32', shape: [64, 10] }]);
    // Keras's model.summary() for this architecture reports 93,322 trainable parameters:
    // conv 320 + 18,496 + 36,928, dense 36,928 + 650.
    expect(g.params.reduce((s, p) => s + numel(p.type.shape), 0)).toBe(93_322);
  });

  it('rnn shares one GRU cell across all 28 steps', () => {
    const g = compileExample('rnn.sinter', 2).graph!;
    expect(g.params.map((p) => p.name)).toEqual(['cell.wx', 'cell.wh', 'cell.b', 'dense_1.w', 'dense_1.b']);
    expect(g.nodes.filter((n) => n.op === 'matmul').length).toBe(28 * 2 + 1);
  });

  it('transformer has two encoder blocks with separate parameters', () => {
    const names = compileExample('transformer.sinter', 2).graph!.params.map((p) => p.name);
    expect(names).toContain('encoder_block_1.attention_1.dense_1.w');
    expect(names).toContain('encoder_block_2.attention_1.dense_1.w');
    expect(names.filter((n) => n.startsWith('encoder_block_2.'))).toHaveLength(names.filter((n) => n.startsWith('encoder_block_1.')).length);
  });
});
