// Window loops (compiler/lower/cpu/split.ts): pooling gradients computed once per window on the CPU, bit-identical to the reference.
//
// The max-pooling gradient finds each window's first maximum; split into window and tap
// loops, it does so once per window. The cases cover windows that divide the axis (26 → 13),
// windows that do not (11 → 5: a guarded last window), non-square windows, and overlapping
// windows (stride < kernel), where there is nothing to split; each runs through the CPU
// backend and must equal the reference interpreter exactly (the same expression per element).

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { compileForCpu, cpuBackend } from '../../runtime/cpu/session.js';
import { identicalOutputs, randomFeeds } from '../passes/support.js';

const cases = [
  { name: '2×2 windows over 26×26', shape: [2, 3, 26, 26], kernel: [2, 2], stride: [2, 2], split: true },
  { name: '2×2 windows over 11×11 (guarded last window)', shape: [1, 4, 11, 11], kernel: [2, 2], stride: [2, 2], split: true },
  { name: '3×2 windows over 9×7', shape: [1, 2, 9, 7], kernel: [3, 2], stride: [3, 2], split: true },
  { name: 'overlapping 3×3 windows, stride 2', shape: [1, 2, 9, 9], kernel: [3, 3], stride: [2, 2], split: false },
];

describe('cpu window loops for pooling gradients', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.split ? 'split' : 'not split'}, equal to the reference`, () => {
      const b = new GraphBuilder('Pool');
      const x = b.input('x', { dtype: 'f32', shape: c.shape });
      const attrs = { kernel: c.kernel, stride: c.stride, padding: [0, 0, 0, 0] };
      const pooled = b.typeOf(b.op('maxpool2d', [x], attrs)).shape;
      const dy = b.input('dy', { dtype: 'f32', shape: [...pooled] });
      b.output('dx', b.op('maxpool2d_backward', [x, dy], attrs));
      const g = b.build();
      const feeds = randomFeeds(g);
      // Ties: a repeated value in every window, so the first maximum decides.
      const xs = feeds.inputs.get('x')!.data;
      for (let i = 0; i < xs.length; i += 3) xs[i] = 0.5;
      const session = cpuBackend.load(g);
      session.setParams(feeds.params);
      expect(identicalOutputs(session.run(feeds.inputs, ['dx']), interpret(g, feeds).outputs)).toBe(true);
      const source = compileForCpu(g).kernels.map((k) => (k.kind === 'js' ? k.source : '')).join('\n');
      // Split loops store at a computed position instead of counting with p++.
      expect(source.includes('p++')).toBe(!c.split);
    });
  }
});
