// Panels packed through offset tables (compiler/lower/cpu/gemm.ts, gatherPanel) hold what the operand's loop nest would.
//
// A GEMM operand that loads at base + f(row) + g(k) — an unpadded conv's patches, its
// gradients' operands, a matmul's — is packed by tables of f and g; a padded conv (a mask)
// keeps the loop nest. Unpadded convs of random geometry (stride, dilation, groups, batch,
// and sizes that leave partial panels) and their gradients must equal the reference
// interpreter, and their kernels must use the tables, so the property tests the new path.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { differentiate } from '../../compiler/passes/autodiff.js';
import { compileForCpu, cpuBackend } from '../../runtime/cpu/session.js';
import { allCloseReport, maxAbs, toleranceFor } from '../helpers/allclose.js';
import { seededNormal } from '../helpers/contraction-cases.js';

interface Geometry {
  readonly n: number;
  readonly groups: number;
  readonly cinPerGroup: number;
  readonly coutPerGroup: number;
  readonly h: number;
  readonly w: number;
  readonly k: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly padded: boolean;
}

/** conv2d(x, w) and the gradients of a weighted sum of it with respect to x and w. */
function convGraph(c: Geometry) {
  const b = new GraphBuilder('Conv');
  const x = b.input('x', { dtype: 'f32', shape: [c.n, c.groups * c.cinPerGroup, c.h, c.w] });
  const w = b.input('w', { dtype: 'f32', shape: [c.groups * c.coutPerGroup, c.cinPerGroup, ...c.k] });
  const padding = c.padded ? [1, 0, 1, 1] : [0, 0, 0, 0];
  const y = b.op('conv2d', [x, w], { stride: c.stride, padding, dilation: c.dilation, groups: c.groups });
  const r = b.input('r', b.typeOf(y));
  b.output('y', y);
  b.output('loss', b.op('sum', [b.op('mul', [y, r])], { axes: [0, 1, 2, 3], keepdims: false }));
  return differentiate(b.build(), 'loss', ['x', 'w']).graph;
}

const geometry = (padded: boolean): fc.Arbitrary<Geometry> =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 3 }),
      groups: fc.integer({ min: 1, max: 2 }),
      cinPerGroup: fc.integer({ min: 1, max: 5 }),
      coutPerGroup: fc.integer({ min: 1, max: 9 }),
      k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
      dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
      extra: fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })),
    })
    .map(({ extra, ...g }) => ({ ...g, h: (g.k[0] - 1) * g.dilation[0] + 1 + extra[0], w: (g.k[1] - 1) * g.dilation[1] + 1 + extra[1], padded }));

function check(c: Geometry, seed: number): { tables: boolean } {
  const g = convGraph(c);
  const feeds = new Map(g.inputs.map((i, k) => [i.name, seededNormal(i.type.shape, seed + k, 'gather-pack')]));
  const want = interpret(g, { inputs: feeds, params: new Map() }).outputs;
  const session = cpuBackend.load(g);
  const got = session.run(feeds, g.outputs.map((o) => o.name));
  for (const o of g.outputs) {
    const terms = c.groups * c.cinPerGroup * c.k[0] * c.k[1] * c.n * c.h * c.w;
    const report = allCloseReport(got.get(o.name)!, want.get(o.name)!, toleranceFor('reduction', { terms, maxAbsInput: maxAbs(...feeds.values()) }));
    expect(report, `${o.name} of ${JSON.stringify(c)}`).toBeNull();
  }
  return { tables: compileForCpu(g).kernels.some((k) => k.kind === 'js' && k.source.includes('new Int32Array(')) };
}

describe('cpu GEMM panels packed through offset tables', () => {
  it('unpadded convs and both gradients, random geometry: equal to the reference, packed by tables', () => {
    fc.assert(
      fc.property(geometry(false), fc.nat(1000), (c, seed) => {
        expect(check(c, seed).tables).toBe(true);
      }),
      { seed: 20261129, numRuns: 40 },
    );
  });

  it('padded convs keep the masked loop nest and still equal the reference', () => {
    fc.assert(
      fc.property(geometry(true), fc.nat(1000), (c, seed) => {
        check(c, seed);
      }),
      { seed: 20261130, numRuns: 15 },
    );
  });
});
