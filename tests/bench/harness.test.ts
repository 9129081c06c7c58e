// The benchmark harness's pure parts: median, ratios, checks, options, the table and the results schema (no timings).

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applies, CASES, caseById, FASHION_CNN, implDevice, MLP, PEERS, parseArgs, sinterImpls, skipReason, UsageError } from '../../bench/cases.js';
import { caseData, expectedParamShapes } from '../../bench/data.js';
import { stepsPerRun } from '../../bench/measure.js';
import type { BenchFile, CaseResult } from '../../bench/results.js';
import { checkMismatches, formatNotes, formatNumber, formatTable, median, RESULTS_SCHEMA, speedup, validateBenchFile } from '../../bench/results.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function result(over: Partial<CaseResult> & Pick<CaseResult, 'case' | 'impl'>): CaseResult {
  const runs = over.runs ?? (over.status === undefined || over.status === 'ok' ? [10] : []);
  return {
    status: 'ok',
    unit: 'samples/s',
    size: 'batch 64',
    figure: runs.length ? median(runs) : null,
    runs,
    stepsPerRun: 1,
    warmupSteps: 2,
    threads: 1,
    check: null,
    note: null,
    reason: null,
    seconds: 1,
    ...over,
  };
}

function file(results: CaseResult[]): BenchFile {
  return {
    schema: RESULTS_SCHEMA,
    date: '2026-01-02T03:04:05.000Z',
    command: 'npm run bench',
    host: { kind: 'linux-x64-2cpu', cpuModel: 'Test CPU', cpus: 2, node: '20.0.0', loadavg: [0.5, 0.5, 0.5] },
    options: { quick: false, includeSlow: false },
    results,
  };
}

describe('median', () => {
  it('takes the middle of an odd count and the mean of the two middles of an even one, unsorted input', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('refuses no values as a broken invariant', () => {
    expect(() => median([])).toThrow(/internal: median of no values/);
  });

  it('lies between min and max and ignores order', () => {
    const prop = fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 30 }), (xs) => {
      const m = median(xs);
      expect(m).toBeGreaterThanOrEqual(Math.min(...xs));
      expect(m).toBeLessThanOrEqual(Math.max(...xs));
      expect(median([...xs].reverse())).toBe(m);
    });
    fc.assert(prop, { seed: 42, numRuns: 200 });
  });
});

describe('ratios and checks', () => {
  it('divides the Sinter figure by the peer figure, only when both were measured', () => {
    const s = result({ case: 'c', impl: 'sinter-ref', runs: [10] });
    const p = result({ case: 'c', impl: 'tfjs-wasm', runs: [4] });
    expect(speedup(s, p)).toBe(2.5);
    expect(speedup(s, result({ case: 'c', impl: 'tfjs-wasm', status: 'unsupported', reason: 'no kernel' }))).toBeNull();
    expect(speedup(undefined, p)).toBeNull();
  });

  it('flags an implementation whose check differs from the first one of its case', () => {
    const rs = [
      result({ case: 'a', impl: 'sinter-ref', check: 2.3 }),
      result({ case: 'a', impl: 'tfjs-wasm', check: 2.3 * (1 + 1e-5) }),
      result({ case: 'a', impl: 'jax-wasm', check: 2.4 }),
      result({ case: 'b', impl: 'jax-wasm', check: 5 }),
    ];
    expect(checkMismatches(rs)).toEqual([{ case: 'a', impl: 'jax-wasm', check: 2.4, expected: 2.3, against: 'sinter-ref' }]);
  });

  it('holds a Sinter variant (f16 storage) to its own tolerance, and others never to the variant', () => {
    const rs = [
      result({ case: 'a', impl: 'sinter-webgpu-f16s', check: 2.3 * (1 + 1e-2) }),
      result({ case: 'a', impl: 'sinter-webgpu', check: 2.3 }),
      result({ case: 'a', impl: 'tfjs-webgpu', check: 2.3 * (1 + 1e-5) }),
      result({ case: 'b', impl: 'sinter-webgpu', check: 5 }),
      result({ case: 'b', impl: 'sinter-webgpu-f16s', check: 5 * (1 + 5e-2) }),
    ];
    expect(checkMismatches(rs)).toEqual([{ case: 'b', impl: 'sinter-webgpu-f16s', check: 5 * (1 + 5e-2), expected: 5, against: 'sinter-webgpu' }]);
  });

  it('fills a timed run to its minimum time at the warm-up pace, at least one step, at most 1000', () => {
    expect(stepsPerRun(0.01, 0.3)).toBe(30);
    expect(stepsPerRun(5, 0.3)).toBe(1);
    expect(stepsPerRun(1e-7, 0.3)).toBe(1000);
  });
});

describe('table', () => {
  it('formats three significant digits with thousands separators', () => {
    expect(formatNumber(0.008512)).toBe('0.00851');
    expect(formatNumber(29.14)).toBe('29.1');
    expect(formatNumber(245.4)).toBe('245');
    expect(formatNumber(6499.7)).toBe('6,500');
  });

  it('prints one row per result with a ratio column per Sinter implementation', () => {
    const rs = [
      result({ case: 'mlp-train', impl: 'sinter-ref', runs: [100] }),
      result({ case: 'mlp-train', impl: 'sinter-cpu', status: 'not-available', reason: "Sinter has no 'cpu' backend yet", threads: null }),
      result({ case: 'mlp-train', impl: 'tfjs-wasm', runs: [400] }),
      result({ case: 'cnn-train', impl: 'sinter-ref', status: 'skipped', reason: 'slow', threads: null }),
      result({ case: 'cnn-train', impl: 'tfjs-wasm', status: 'unsupported', reason: 'no Conv2DBackpropFilter', threads: null }),
    ];
    const lines = formatTable(file(rs)).split('\n');
    expect(lines[0]).toBe('| case | implementation | threads | median | sinter-ref ÷ peer | sinter-cpu ÷ peer |');
    expect(lines).toHaveLength(2 + rs.length);
    // 100 / 400 samples/s: Sinter at a quarter of the peer's speed.
    expect(lines[4]).toBe('| MLP 784-128-64-10 train step (Adam), batch 64 | tfjs-wasm | 1 | 400 samples/s | 0.25× | n/a |');
    expect(lines[3]).toContain('| not available |');
    expect(lines[6]).toBe('| Fashion CNN train step (Adam), batch 64 | tfjs-wasm |  | unsupported | — | n/a |');
  });

  it('explains every cell that has no figure, once per missing backend', () => {
    const rs = [
      result({ case: 'a', impl: 'sinter-cpu', status: 'not-available', reason: 'none yet' }),
      result({ case: 'b', impl: 'sinter-cpu', status: 'not-available', reason: 'none yet' }),
      result({ case: 'b', impl: 'tfjs-wasm', status: 'error', reason: 'boom' }),
    ];
    const notes = formatNotes(file(rs));
    expect(notes.filter((n) => n.includes('none yet'))).toHaveLength(1);
    expect(notes).toContain('b × tfjs-wasm: error: boom');
  });
});

describe('results schema', () => {
  const good = file([result({ case: 'a', impl: 'sinter-ref', runs: [1, 3, 2] }), result({ case: 'a', impl: 'tfjs-wasm', status: 'unsupported', reason: 'no kernel' })]);

  it('accepts a well-formed file, also after a JSON round trip', () => {
    expect(validateBenchFile(good)).toEqual([]);
    expect(validateBenchFile(JSON.parse(JSON.stringify(good)))).toEqual([]);
  });

  it('names each broken field', () => {
    const broken = (over: Partial<CaseResult>) => validateBenchFile(file([{ ...good.results[0]!, ...over }]));
    expect(broken({ figure: 3 })).toEqual(['results[0].figure: the median of runs']);
    expect(broken({ status: 'fine' as never })).toEqual(['results[0].status: one of ok, unsupported, not-available, skipped, error']);
    expect(broken({ status: 'error', figure: null, runs: [] })).toEqual(['results[0].reason: a reason unless ok']);
    expect(broken({ threads: 0 })).toEqual(['results[0].threads: a positive integer or null']);
    expect(broken({ runs: [Number.NaN] })).toEqual(['results[0].runs: an array of numbers']);
    expect(validateBenchFile({ ...good, schema: 'other' })).toEqual([`schema: expected ${RESULTS_SCHEMA}`]);
    expect(validateBenchFile(file([good.results[0]!, good.results[0]!]))).toEqual(['results: a × sinter-ref appears twice']);
  });
});

describe('cases and options', () => {
  it('the layer lists give the parameter shapes of the examples they stand for', () => {
    expect(expectedParamShapes(MLP)).toEqual([[784, 128], [128], [128, 64], [64], [64, 10], [10]]);
    // 28 → conv 26 → pool 13 → conv 11 → pool 5 → conv 3: 64·3·3 = 576 features into the dense layer.
    expect(expectedParamShapes(FASHION_CNN).map((s) => s.join('×'))).toEqual(['32×1×3×3', '32', '64×32×3×3', '64', '64×64×3×3', '64', '576×64', '64', '64×10', '10']);
    for (const id of ['mlp-train', 'cnn-infer']) {
      const d = caseData(caseById(id)!, 2, ROOT);
      if (d.kind === 'matmul') throw new Error('expected a model case');
      expect(d.weights.map((w) => w.w.length)).toEqual(expectedParamShapes(d.model).filter((_, i) => i % 2 === 0).map((s) => s.reduce((p, x) => p * x, 1)));
      expect(d.labels.every((l) => l >= 0 && l < 10)).toBe(true);
    }
  });

  it('lists missing Sinter backends first, then any other registered one', () => {
    expect(sinterImpls(['ref'])).toEqual(['sinter-ref', 'sinter-cpu', 'sinter-webgpu']);
    expect(sinterImpls(['ref', 'kernels'])).toEqual(['sinter-ref', 'sinter-cpu', 'sinter-webgpu', 'sinter-kernels']);
  });

  it('runs the patched TF.js column on the CNN train step only, and skips the slow reference run there', () => {
    expect(CASES.filter((c) => applies('tfjs-wasm-patched', c.id)).map((c) => c.id)).toEqual(['cnn-train']);
    expect(PEERS.filter((p) => !p.only).every((p) => applies(p.id, 'cnn-train'))).toBe(true);
    expect(skipReason('sinter-ref', caseById('cnn-train')!, false)).toMatch(/--include-slow/);
    expect(skipReason('sinter-ref', caseById('cnn-train')!, true)).toBeNull();
    expect(skipReason('sinter-ref', caseById('cnn-infer')!, false)).toBeNull();
  });

  it('parses the options and rejects unknown names with a usage error', () => {
    const o = parseArgs(['--cases', 'matmul-256,cnn-train', '--impl', 'tfjs-wasm,sinter-ref', '--quick'], ['ref']);
    expect(o.cases.map((c) => c.id)).toEqual(['matmul-256', 'cnn-train']);
    expect(o.impls).toEqual(['sinter-ref', 'tfjs-wasm']);
    expect(o.quick).toBe(true);
    expect(o.includeSlow).toBe(false);
    expect(() => parseArgs(['--cases', 'matmul-2048'], ['ref'])).toThrow(UsageError);
    expect(() => parseArgs(['--impl', 'sinter-tpu'], ['ref'])).toThrow(/unknown implementation 'sinter-tpu'/);
    // Variants run only when named, on their cases, on their backend's device.
    expect(parseArgs([], ['ref', 'cpu', 'webgpu']).impls).not.toContain('sinter-webgpu-f16s');
    expect(parseArgs(['--impl', 'sinter-webgpu,sinter-webgpu-f16s'], ['ref', 'cpu', 'webgpu']).impls).toEqual(['sinter-webgpu', 'sinter-webgpu-f16s']);
    expect(applies('sinter-webgpu-f16s', 'cnn-train')).toBe(true);
    expect(applies('sinter-webgpu-f16s', 'matmul-1024')).toBe(false);
    expect(implDevice('sinter-webgpu-f16s')).toBe('webgpu');
    expect(parseArgs([], ['ref', 'cpu', 'webgpu']).impls).not.toContain('sinter-cpu-jsloops');
    expect(applies('sinter-cpu-jsloops', 'cnn-infer')).toBe(true);
    expect(implDevice('sinter-cpu-jsloops')).toBe('cpu');
    expect(() => parseArgs(['--cases'], ['ref'])).toThrow(/needs a comma-separated list/);
    expect(() => parseArgs(['--fast'], ['ref'])).toThrow(/unknown option '--fast'/);
  });
});
