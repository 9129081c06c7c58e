// Sinter in a real browser: headless Chromium runs a bundle of the compiler and runtime, compiles the examples from source in the page, and runs them on WebGPU (`navigator.gpu`, SwiftShader) and on the CPU backend's Web Workers; results equal Node's cpu backend.
//
// The page (tests/browser/page.ts) and the CPU backend's worker entry are bundled with esbuild
// for the browser — which also checks that nothing they import needs Node — and served from
// 127.0.0.1 (a secure context, so `navigator.gpu` exists) with the COOP/COEP headers that make
// the page cross-origin isolated, as the CPU backend's shared memory needs. Chromium is
// Debian's (`apt-get install chromium`, as .ci/run does), or SINTER_CHROMIUM. In CI a
// missing Chromium fails the suite; elsewhere it is skipped with a message.
//
// Tolerances: a forward pass within rtol 1e-4, atol 1e-5 × scale of the cpu backend (float32
// in a different summation order); train-step losses within 1e-4 relative.

import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { Browser, Page } from 'puppeteer-core';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTrainingModel } from '../../cli/training.js';
import { initParams } from '../../compiler/ir/init.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import { compileSource } from '../../dsl/frontend.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import { allCloseReport, maxAbs } from '../helpers/allclose.js';
import type { PageResult, PageRun, PlainTensor } from './page.js';

const CHROMIUM = process.env['SINTER_CHROMIUM'] ?? '/usr/lib/chromium/chromium';
const found = existsSync(CHROMIUM);
if (!found && process.env['CI']) throw new Error(`Chromium not found at ${CHROMIUM}: .ci/run installs it (apt-get install chromium)`);
if (!found) console.log(`skipping the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set SINTER_CHROMIUM)`);

/** The page and the worker entry, bundled for the browser. */
async function bundles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const [url, entry] of [['/page.js', 'tests/browser/page.ts'], ['/worker.js', 'runtime/cpu/worker.ts']] as const) {
    const r = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    files.set(url, r.outputFiles[0]!.text);
  }
  files.set('/', '<!doctype html><meta charset="utf-8"><title>Sinter</title><script type="module" src="/page.js"></script>');
  return files;
}

function serve(files: ReadonlyMap<string, string>): Promise<Server> {
  const server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': req.url === '/' ? 'text/html' : 'text/javascript',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let server: Server | null = null;
let browser: Browser | null = null;
let page: Page | null = null;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!found) return;
  server = await serve(await bundles());
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction('globalThis.sinterPage !== undefined', { timeout: 30_000 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

function inPage(run: PageRun): Promise<PageResult> {
  return page!.evaluate((r) => (globalThis as unknown as { sinterPage: { run(r: PageRun): Promise<PageResult> } }).sinterPage.run(r), run);
}

const plain = (t: Tensor): PlainTensor => ({ dtype: t.type.dtype === 'i32' ? 'i32' : 'f32', shape: [...t.type.shape], data: Array.from(t.data) });

function source(name: string): string {
  return readFileSync(`examples/${name}.sinter`, 'utf8');
}

/** Seeded inputs of a graph: images in [0, 1), labels among 10 classes, the train step's lr and step. */
function inputsOf(graph: Graph, seed: string): Map<string, Tensor> {
  const rng = rngFor(9, seed);
  return new Map(
    graph.inputs.map((i): [string, Tensor] => {
      const n = numel(i.type.shape);
      if (i.type.dtype === 'i32') return [i.name, tensorFrom('i32', i.type.shape, Array.from({ length: n }, () => rng.nextInt(10)))];
      if (i.name === 'lr') return [i.name, tensorFrom('f32', [], [1e-3])];
      if (i.name === 'step') return [i.name, tensorFrom('f32', [], [1])];
      return [i.name, tensorFrom('f32', i.type.shape, Array.from({ length: n }, () => rng.nextFloat()))];
    }),
  );
}

describe.skipIf(!found)('in headless Chromium', () => {
  for (const backend of ['webgpu', 'cpu'] as const) {
    it(`${backend}: the Fashion CNN compiled in the page equals Node's cpu backend at batch 2`, { timeout: 60_000 }, async () => {
      const r = compileSource(source('fashion_cnn'), 'examples/fashion_cnn.sinter', { dims: { batch: 2 }, mode: 'infer' });
      const graph = r.graph!;
      const inputs = inputsOf(graph, 'forward');
      const fetch = graph.outputs.map((o) => o.name);
      const cpu = cpuBackend.load(graph);
      cpu.setParams(initParams(graph, 4));
      const want = cpu.run(inputs, fetch);
      const got = await inPage({ graph: 'forward', source: source('fashion_cnn'), batch: 2, seed: 4, inputs: Object.fromEntries([...inputs].map(([k, t]) => [k, plain(t)])), fetch, steps: 1, backend });
      expect(pageErrors).toEqual([]);
      expect(got.backend['name']).toBe(backend);
      for (const name of fetch) {
        const w = want.get(name)!;
        const report = allCloseReport(got.steps[0]![name]!, w, { rtol: 1e-4, atol: 1e-5 * Math.max(1, maxAbs(w)) });
        if (report) expect.fail(`${name}: ${report}`);
      }
      if (backend === 'webgpu') expect(got.backend['gemm']).toBe('rows'); // SwiftShader is a software adapter
      if (backend === 'cpu') {
        expect(got.crossOriginIsolated).toBe(true);
        expect(got.backend['threads']).toBeGreaterThan(1);
      }
    });

    it(`${backend}: three Adam steps of the MLP's train step give Node's cpu losses`, { timeout: 60_000 }, async () => {
      const model = await loadTrainingModel('examples/mlp.sinter', undefined);
      const graph = model.graphs.train(8);
      const inputs = inputsOf(graph, 'train');
      const cpu = cpuBackend.load(graph);
      cpu.setParams(initParams(graph, 6));
      const want = [0, 1, 2].map(() => cpu.run(inputs, [model.names.loss]).get(model.names.loss)!.data[0]!);
      const got = await inPage({ graph: 'train', source: source('mlp'), batch: 8, seed: 6, inputs: Object.fromEntries([...inputs].map(([k, t]) => [k, plain(t)])), fetch: [model.names.loss], steps: 3, backend });
      expect(pageErrors).toEqual([]);
      const losses = got.steps.map((s) => s[model.names.loss]![0]!);
      losses.forEach((l, i) => expect(Math.abs(l - want[i]!), `step ${i}: ${l} vs ${want[i]}`).toBeLessThanOrEqual(1e-4 * Math.abs(want[i]!)));
      expect(losses[2]!).toBeLessThan(losses[0]!);
    });
  }
});
