// Shared by the pass and kernel tests: seeded feeds for a graph, a NaN-aware output comparison, IR parsing.

import { expect } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import type { Feeds } from '../../compiler/ir/interpret.js';
import { parseGraph } from '../../compiler/ir/parse.js';
import type { IrLayout } from '../../compiler/ir/print.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { allocData } from '../../compiler/ir/tensor.js';
import type { TensorType } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';
import { allCloseReport, maxAbs } from '../helpers/allclose.js';

/** A tensor of normal(0, 2) values (f32), small integers in [-1, 3] (i32) or random bools. */
function randomTensor(t: TensorType, draw: () => number, int: (n: number) => number): Tensor {
  const data = allocData(t.dtype, numel(t.shape));
  for (let i = 0; i < data.length; i++) data[i] = t.dtype === 'f32' ? draw() * 2 : t.dtype === 'i32' ? int(5) - 1 : int(2);
  return { type: t, data };
}

/** Seeded values for every input and param of a graph (the same seed gives the same feeds). */
export function randomFeeds(g: Graph, seed = 1): Feeds {
  const rng = rngFor(seed, 'feeds');
  const draw = (): number => rng.nextNormal();
  const int = (n: number): number => rng.nextInt(n);
  return {
    inputs: new Map(g.inputs.map((i) => [i.name, randomTensor(i.type, draw, int)])),
    params: new Map(g.params.map((p) => [p.name, randomTensor(p.type, draw, int)])),
  };
}

/**
 * Null when every output of `got` matches `want`: NaN only with NaN, infinities exactly,
 * finite values within rtol 1e-4 and atol 1e-5 scaled by the output's largest magnitude
 * (the reduction class of DESIGN.md with √K·max|x| bounded by the tensor's own scale).
 * Otherwise a report naming the output.
 */
export function outputsReport(got: ReadonlyMap<string, Tensor>, want: ReadonlyMap<string, Tensor>): string | null {
  for (const [name, w] of want) {
    const g = got.get(name);
    if (!g) return `output '${name}' is missing`;
    const finite = Array.from(w.data).filter((x) => Number.isFinite(x));
    const r = allCloseReport(g, w, { rtol: 1e-4, atol: 1e-5 * Math.max(1, maxAbs(finite)) });
    if (r) return `output '${name}': ${r}`;
  }
  return null;
}

/** Whether two runs agree bit for bit, reading −0 and +0 as equal and NaN as equal to NaN. */
export function identicalOutputs(got: ReadonlyMap<string, Tensor>, want: ReadonlyMap<string, Tensor>): boolean {
  for (const [name, w] of want) {
    const g = got.get(name)!;
    for (let i = 0; i < w.data.length; i++) {
      const [a, b] = [g.data[i]!, w.data[i]!];
      if (!(a === b || (Number.isNaN(a) && Number.isNaN(b)))) return false;
    }
  }
  return true;
}

/** Parses IR text that must be valid. */
export function parseIr(text: string): { graph: Graph; layout: IrLayout } {
  const r = parseGraph(text, 'test.ir');
  expect(r.diagnostics.map((d) => `${d.span.start.line}:${d.span.start.col} ${d.message}`)).toEqual([]);
  return { graph: r.graph!, layout: r.layout };
}
