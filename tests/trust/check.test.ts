// `--check`: every kernel of a step against the reference on the inputs it saw; a planted wrong kernel is named, with its nodes, line and errors.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { allocData } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import type { CpuJsKernel, CpuProgram } from '../../compiler/lower/cpu/lower.js';
import { loadModel } from '../../cli/load.js';
import { BACKENDS } from '../../cli/training.js';
import { CheckFailed, runChecked } from '../../runtime/check/checked.js';
import { checkStep, compareOutputs } from '../../runtime/check/kernels.js';
import { compileForCpuWithSource, CpuSession } from '../../runtime/cpu/session.js';
import type { Backend } from '../../runtime/session.js';
import { runCli } from '../helpers/cli.js';
import { writeTinyData } from '../helpers/tiny-data.js';

const examples = readdirSync('examples').filter((f) => f.endsWith('.sinter')).map((f) => join('examples', f));
const dir = mkdtempSync(join(tmpdir(), 'sinter-check-'));
const data = join(dir, 'data');

/** The first kernel of a program, from `from` on, that is JavaScript without fallback phases. */
function plantable(p: CpuProgram, from: number): number {
  const i = p.kernels.findIndex((k, j) => j >= from && k.kind === 'js' && k.fallback === null);
  if (i < 0) throw new Error('no kernel to plant a fault in');
  return i;
}

/**
 * A wrong kernel: kernel i's generated factory, wrapped so that its last phase then adds 0.5
 * to element 0 of its first output (on the thread that runs the start of the range).
 */
function plant(p: CpuProgram, i: number): CpuProgram {
  const k = p.kernels[i] as CpuJsKernel;
  const source = [
    `const made_ = (function () {\n${k.source}\n})();`,
    'const last_ = made_.phases[made_.phases.length - 1];',
    'made_.phases[made_.phases.length - 1] = (lo, hi, tid) => { const r = last_(lo, hi, tid); if (lo === 0) o0[0] += 0.5; return r; };',
    'return made_;',
  ].join('\n');
  return { ...p, kernels: p.kernels.map((x, j) => (j === i ? { ...k, source } : x)) };
}

/** A session of the CPU backend whose kernel i is wrong, and the kernel's name. */
function plantedSession(g: Graph, from = 1): { session: CpuSession; kernel: string } {
  const { program, source } = compileForCpuWithSource(g);
  const i = plantable(program, from);
  return { session: new CpuSession(g, plant(program, i), {}, source), kernel: `k${i}` };
}

function randomInputs(g: Graph): Map<string, Tensor> {
  const rng = rngFor(3, 'check-inputs');
  return new Map(g.inputs.map((i) => {
    const d = allocData(i.type.dtype, numel(i.type.shape));
    for (let j = 0; j < d.length; j++) d[j] = i.type.dtype === 'f32' ? rng.nextFloat() : rng.nextInt(i.type.dtype === 'i32' ? 10 : 2);
    return [i.name, { type: i.type, data: d }];
  }));
}

const planted: Backend = {
  name: 'planted',
  load: (g) => plantedSession(g).session,
};

beforeAll(() => {
  writeTinyData(data, 64, 32);
  (BACKENDS as Record<string, Backend>)['planted'] = planted;
});
afterAll(() => {
  delete (BACKENDS as Record<string, Backend>)['planted'];
});

describe('a clean check', () => {
  it.each(examples)('%s: run --check says every kernel of the program agrees', async (file) => {
    const r = await runCli('run', file, '--batch', '2', '--check');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const n = compileForCpuWithSource(loadModel(file, { batch: 2 }).graph).program.kernels.length;
    expect(r.stdout).toMatch(new RegExp(`^check: ${n} kernels agree with the reference \\(max rel err \\S+, max abs err \\S+\\): @\\w+, run 1\\n`));
  });

  it('train --check checks the first train step, then every Nth with --check-every, and the first evaluation', async () => {
    const r = await runCli('train', 'examples/mlp.sinter', '--data', data, '--epochs', '1', '--batch', '16', '--check', '--check-every', '2');
    expect(r.status).toBe(0);
    const steps = [...r.stdout.matchAll(/^check: \d+ kernels agree .*: @Mlp\.train, step (\d+)$/gm)].map((m) => Number(m[1]));
    // 64 examples at batch 16: steps 1..4, checked at 1 and 3.
    expect(steps).toEqual([1, 3]);
    expect(r.stdout).toMatch(/^check: \d+ kernels agree .*: @Mlp\.eval, run 1$/m);
  });

  it('refuses --check on the reference backend and --check-every without --check (usage errors)', async () => {
    expect((await runCli('run', 'examples/mlp.sinter', '--check', '--backend', 'ref')).status).toBe(2);
    expect((await runCli('train', 'examples/mlp.sinter', '--data', data, '--check-every', '2')).status).toBe(2);
  });
});

describe('a planted wrong kernel', () => {
  it('is the one kernel that disagrees: the kernels after it are judged on the inputs they saw', async () => {
    const { graph } = loadModel('examples/mlp.sinter', { batch: 3 });
    const { session, kernel } = plantedSession(graph);
    session.setParams(initParams(graph, 0));
    const { kernels } = await checkStep(session, randomInputs(graph), []);
    expect(kernels.filter((k) => !k.ok).map((k) => k.kernel)).toEqual([kernel]);
    const bad = kernels.find((k) => !k.ok)!;
    // The fault adds 0.5 to element 0 of the first output.
    expect(bad.maxAbsErr).toBeCloseTo(0.5, 5);
    expect(bad.worst).toMatchObject({ output: 0, index: 0 });
    expect(bad.loc).toMatch(/^examples\/mlp\.sinter:\d+$/);
  });

  it('stops a checked step with an internal error naming the kernel, its nodes, its line and its errors', async () => {
    const { graph } = loadModel('examples/mlp.sinter', { batch: 2 });
    const { session, kernel } = plantedSession(graph);
    session.setParams(initParams(graph, 0));
    const lines: string[] = [];
    const err = await runChecked(session, graph, 'run 1', randomInputs(graph), ['logits'], (l) => lines.push(l)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckFailed);
    const msg = (err as CheckFailed).message;
    expect(msg).toMatch(new RegExp(`^internal: check: kernel ${kernel} differs from the reference`));
    expect(msg).toMatch(/graph nodes: %\d+ \w+/);
    expect(msg).toMatch(/at examples\/mlp\.sinter:\d+/);
    expect(msg).toMatch(/max abs err 5\.00e-1/);
    expect(lines).toEqual([]);
  });

  it('makes sinter run --check and sinter train --check exit non-zero with the report', async () => {
    const r = await runCli('run', 'examples/mlp.sinter', '--batch', '2', '--backend', 'planted', '--check');
    expect(r.status).toBe(70);
    expect(r.stderr).toMatch(/^internal: check: kernel k\d+ differs from the reference/);
    expect(r.stderr).toContain('examples/mlp.sinter:');
    const t = await runCli('train', 'examples/mlp.sinter', '--data', data, '--epochs', '1', '--batch', '16', '--backend', 'planted', '--check');
    expect(t.status).toBe(70);
    expect(t.stderr).toMatch(/internal: check: kernel k\d+ differs .*\n(.*\n)*.*@Mlp\.train, step 1/);
    // Without --check the wrong kernel goes unnoticed: that is what the check is for.
    expect((await runCli('run', 'examples/mlp.sinter', '--batch', '2', '--backend', 'planted')).status).toBe(0);
  });
});

describe('comparing outputs', () => {
  const t = (...xs: number[]): Tensor => ({ type: { dtype: 'f32', shape: [xs.length] }, data: Float32Array.from(xs) });

  it('agrees within atol + rtol·|want|, NaN with NaN, and names the worst element beyond', () => {
    const tol = { rtol: 1e-5, atol: 1e-6 };
    expect(compareOutputs([t(1, NaN, Infinity)], [t(1 + 5e-6, NaN, Infinity)], tol).ok).toBe(true);
    const r = compareOutputs([t(1, 2, 3)], [t(1, 2.001, 3.1)], tol);
    expect(r.ok).toBe(false);
    expect(r.worst).toMatchObject({ output: 0, index: 2 });
    expect(r.maxAbsErr).toBeCloseTo(0.1, 5);
    expect(compareOutputs([t(1)], [t(Math.fround(1 + 2 ** -23))], { rtol: 0, atol: 0 }).ok).toBe(false);
    expect(compareOutputs([t(NaN)], [t(0)], tol).ok).toBe(false);
  });

  it('also allows 4× how far the reference moved on perturbed inputs, element by element', () => {
    const tol = { rtol: 1e-5, atol: 1e-6 };
    // The reference moved by 0.1 at element 0 (ill-conditioned there) and not at element 1.
    const moved = [t(1.1, 2)];
    expect(compareOutputs([t(1.3, 2)], [t(1, 2)], tol, 0, moved).ok).toBe(true);
    expect(compareOutputs([t(1.5, 2)], [t(1, 2)], tol, 0, moved).ok).toBe(false);
    expect(compareOutputs([t(1, 2.01)], [t(1, 2)], tol, 0, moved).worst).toMatchObject({ index: 1 });
  });
});
