// The browser adapter of the CPU backend: Web Workers for its thread pool (runtime/cpu/worker.ts is their entry).
//
// A page bundles `worker.ts` as a module worker and hands a factory for it:
//   createBrowserCpuBackend({ worker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }) })
// Workers share the session's storage, a shared WebAssembly memory, which browsers allow only
// on cross-origin-isolated pages (COOP/COEP headers). Elsewhere the backend runs on the
// page's thread alone, with the same results.

import type { CpuBackend, CpuOptions } from './session.js';
import { createCpuBackend } from './session.js';
import type { ThreadAdapter, WorkerInit } from './threads.js';

/** The part of a Web Worker the adapter uses. */
export interface WorkerLike {
  postMessage(message: WorkerInit): void;
  terminate(): void;
}

export interface BrowserCpuOptions extends CpuOptions {
  /** Makes one worker running runtime/cpu/worker.ts. */
  readonly worker: () => WorkerLike;
  /** Threads, the page's included (default: navigator.hardwareConcurrency). */
  readonly threads?: number;
}

/** Whether this page may share memory with workers. */
export function canShareMemory(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
  return typeof g.SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false;
}

export function browserThreads(worker: () => WorkerLike, cores?: number): ThreadAdapter {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return {
    cores: cores ?? nav?.hardwareConcurrency ?? 1,
    spawn(init) {
      const w = worker();
      w.postMessage(init);
      return { terminate: () => w.terminate() };
    },
  };
}

/** The CPU backend with Web Workers where the page can share memory, else on the page's thread. */
export function createBrowserCpuBackend(options: BrowserCpuOptions): CpuBackend {
  const { worker, ...rest } = options;
  return canShareMemory() ? createCpuBackend({ ...rest, adapter: browserThreads(worker) }) : createCpuBackend(rest);
}
