// The browser adapter of the CPU backend: its worker entry (runtime/cpu/worker.ts) under a Web-Worker-like shim gives the bits of one thread.
//
// Node has no Web Workers, so each "Web Worker" here is a worker_threads worker whose global
// scope gets the one Web Worker API the entry uses (`addEventListener('message', …)`) before
// it imports the entry: the adapter and the entry run as they would in a page.

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { browserThreads, createBrowserCpuBackend } from '../../runtime/cpu/browser.js';
import type { WorkerLike } from '../../runtime/cpu/browser.js';
import { tsxApi } from '../../runtime/cpu/node.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import { identicalOutputs, randomFeeds } from '../passes/support.js';

function webWorker(): WorkerLike {
  const code = [
    `import { parentPort } from 'node:worker_threads';`,
    `const { register } = await import(${JSON.stringify(tsxApi())});`,
    'register();',
    'globalThis.addEventListener = (type, listener) => parentPort.once(type, (data) => listener({ data }));',
    `await import(${JSON.stringify(new URL('../../runtime/cpu/worker.ts', import.meta.url).href)});`,
  ].join('\n');
  const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
  w.unref();
  // The entry listens once its imports are done; messages sent before then wait in the port.
  return { postMessage: (m) => w.postMessage(m), terminate: () => void w.terminate() };
}

function graph() {
  const b = new GraphBuilder('Browser');
  const x = b.input('x', { dtype: 'f32', shape: [4, 3, 10, 10] });
  const w = b.param('w', { dtype: 'f32', shape: [8, 3, 3, 3] }, { kind: 'zeros', args: {} });
  const a = b.input('a', { dtype: 'f32', shape: [33, 40] });
  const c = b.param('c', { dtype: 'f32', shape: [40, 21] }, { kind: 'zeros', args: {} });
  b.output('conv', b.op('relu', [b.op('conv2d', [x, w], { stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 })]));
  b.output('mm', b.op('matmul', [a, c], { transpose_a: false, transpose_b: false }));
  return b.build();
}

describe('cpu backend through the browser adapter', () => {
  it('runs kernels on Web-Worker-style workers with the same bits as one thread', { timeout: 60_000 }, async () => {
    const g = graph();
    const feeds = randomFeeds(g);
    const many = createBrowserCpuBackend({ worker: webWorker, threads: 3, parallelWork: 0 }).load(g);
    await many.whenReady();
    expect(many.threads).toBe(3);
    const one = cpuBackend.load(g);
    many.setParams(feeds.params);
    one.setParams(feeds.params);
    const names = g.outputs.map((o) => o.name);
    expect(identicalOutputs(many.run(feeds.inputs, names), one.run(feeds.inputs, names))).toBe(true);
  });

  it('stays on the page thread where memory cannot be shared (no cross-origin isolation)', () => {
    const g = globalThis as { crossOriginIsolated?: boolean };
    g.crossOriginIsolated = false;
    try {
      let made = 0;
      const backend = createBrowserCpuBackend({ worker: () => (made++, webWorker()), threads: 3, parallelWork: 0 });
      expect(backend.threads).toBe(1);
      backend.load(graph());
      expect(made).toBe(0);
    } finally {
      delete g.crossOriginIsolated;
    }
  });

  it('defaults to the navigator.hardwareConcurrency cores', () => {
    expect(browserThreads(webWorker, 5).cores).toBe(5);
    const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
    expect(browserThreads(webWorker).cores).toBe(nav?.hardwareConcurrency ?? 1);
  });
});
