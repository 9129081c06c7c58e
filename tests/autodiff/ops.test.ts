// Every op's VJP against float64 central differences on random one-op graphs, enumerated from the registry.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VjpContext } from '../../compiler/ir/ops/op.js';
import { OPS, OP_NAMES } from '../../compiler/ir/ops/registry.js';
import { GradientError, differentiate } from '../../compiler/passes/autodiff.js';
import { checkGradients, oneOpGraph } from './gradcheck.js';
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
