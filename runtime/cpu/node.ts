// The Node adapter of the CPU backend: worker_threads workers for its thread pool, and the backend with them (threads default to the machine's cores).
//
// A worker's entry is a small module (a data: URL, so no extra file is needed) that
// registers tsx's loader, as cli/sinter.js does for the main thread, imports threads.ts and
// serves kernels with the init it receives. Workers are unref'd: an idle pool never keeps
// the process alive.

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CpuBackend, CpuOptions } from './session.js';
import { createCpuBackend } from './session.js';
import type { ThreadAdapter, WorkerInit } from './threads.js';

/** tsx's ESM loader API as a file URL (resolved here: a data: URL module cannot resolve bare names). */
export function tsxApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  const require = createRequire(import.meta.url);
  const pkg = require('tsx/package.json') as { exports: Record<string, { import: { default: string } }> };
  return new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(require.resolve('tsx/package.json'))).href;
}

const entry = (): URL => {
  const tsx = tsxApi();
  const threads = new URL('./threads.ts', import.meta.url).href;
  const code = [
    `import { parentPort } from 'node:worker_threads';`,
    `const { register } = await import(${JSON.stringify(tsx)});`,
    'register();',
    `const { serveKernels } = await import(${JSON.stringify(threads)});`,
    'parentPort.once("message", (init) => serveKernels(init));',
  ].join('\n');
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
};

export const nodeThreads: ThreadAdapter = {
  cores: availableParallelism(),
  spawn(init: WorkerInit) {
    const w = new Worker(entry());
    w.unref();
    w.postMessage(init);
    return { terminate: () => void w.terminate() };
  },
};

/** The CPU backend using worker threads (all cores unless `threads` says otherwise). */
export function createNodeCpuBackend(options: CpuOptions = {}): CpuBackend {
  return createCpuBackend({ adapter: nodeThreads, ...options });
}

export const nodeCpuBackend: CpuBackend = createNodeCpuBackend();
