// The WebGPU finiteness watch: a NaN or an infinity injected into the loss is reported by bit pattern, sticky across steps that read nothing back.
//
// The graph is loss = x · y elementwise, so the loss holds exactly what the feeds put there
// (IEEE multiplication by 1 keeps NaN and ±infinity). WGSL on lavapipe cannot test `x != x`,
// which is why the session checks exponent bits; these cases would pass a value-based check
// only by accident. The largest finite float32 and a subnormal must not be flagged: their
// exponent bits are all ones but one, and all zeros.

import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { NonFiniteOutput } from '../../runtime/webgpu/errors.js';
import type { WebgpuSession } from '../../runtime/webgpu/session.js';
import { gpu, webgpu } from './support.js';

function lossGraph(): Graph {
  const b = new GraphBuilder('nan_watch');
  const t = { dtype: 'f32' as const, shape: [4] };
  b.output('loss', b.op('mul', [b.input('x', t), b.input('y', t)]));
  return b.build();
}

const ONES = tensorFrom('f32', [4], [1, 1, 1, 1]);
const feeds = (x: readonly number[]): Map<string, Tensor> => new Map([['x', tensorFrom('f32', [4], x)], ['y', ONES]]);

/** The error a run raises, or null when it succeeds. */
async function failure(s: WebgpuSession, x: readonly number[], fetch: readonly string[]): Promise<unknown> {
  try {
    await s.run(feeds(x), fetch);
    return null;
  } catch (e) {
    return e;
  }
}

describe.skipIf(!webgpu)('webgpu finiteness watch', () => {
  const load = (): WebgpuSession => {
    const s = gpu().load(lossGraph());
    s.setParams(new Map());
    return s;
  };

  it.each([
    ['NaN', Number.NaN],
    ['+infinity', Number.POSITIVE_INFINITY],
    ['-infinity', Number.NEGATIVE_INFINITY],
  ])('reports %s in the loss as NonFiniteOutput naming it', async (_name, bad) => {
    const s = load();
    try {
      const e = await failure(s, [1, bad, 2, 3], ['loss']);
      expect(e).toBeInstanceOf(NonFiniteOutput);
      expect((e as NonFiniteOutput).outputs).toEqual(['loss']);
    } finally {
      s.destroy();
    }
  });

  it('does not flag the largest finite float32, a subnormal or -0', async () => {
    const s = load();
    try {
      const max = 3.4028234663852886e38;
      const out = await s.run(feeds([max, 1e-45, -0, -max]), ['loss']);
      expect(Array.from(out.get('loss')!.data)).toEqual([max, 1e-45, -0, -max].map(Math.fround));
    } finally {
      s.destroy();
    }
  });

  it('reports a NaN of a step that read nothing back at the next read-back, then clears the flag', async () => {
    const s = load();
    try {
      expect(await failure(s, [Number.NaN, 0, 0, 0], [])).toBeNull();
      expect(await failure(s, [1, 2, 3, 4], [])).toBeNull();
      expect(await failure(s, [1, 2, 3, 4], ['loss'])).toBeInstanceOf(NonFiniteOutput);
      const out = await s.run(feeds([1, 2, 3, 4]), ['loss']);
      expect(Array.from(out.get('loss')!.data)).toEqual([1, 2, 3, 4]);
    } finally {
      s.destroy();
    }
  });
});
