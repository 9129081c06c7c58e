// Threads for the CPU backend: workers that share the session's storage and run shares of kernel phases, driven through atomics.
//
// Every worker binds the same kernels to the same shared memory (views, WebAssembly GEMM
// instance, its own scratch region by thread index). A parallel phase is one task: the main
// thread writes (kernel, phase, fallback?, extent) into the control words, bumps the
// generation and wakes the workers, runs its own share, then spins until every worker has
// acknowledged that generation. Thread t's share of [0, extent) is [⌊extent·t/T⌋, ⌊extent·(t+1)/T⌋), so
// each output element is computed by exactly one thread with the same code as on one
// thread: results do not depend on the thread count. Until every worker has reported
// ready (they start asynchronously), phases run on the main thread alone.
//
// This module imports nothing from Node: creating a worker is the adapter's job (see
// node.ts for worker_threads; a browser adapter would make Web Workers the same way).

import type { CpuProgram } from '../../compiler/lower/cpu/lower.js';
import type { WasmMemory } from './gemm.js';
import type { PhaseFn } from './storage.js';
import { attachStorage, bindKernels } from './storage.js';

/**
 * Indices of the control words (an Int32Array after the scratch), all read and written with
 * Atomics so that neither the JIT nor the processor reorders them around the handoff. Worker
 * t acknowledges generation g by storing g in ACK + t.
 */
const GEN = 0;
const KERNEL = 1;
const PHASE = 2;
const FALLBACK = 3;
const EXTENT = 4;
const READY = 5;
const ERROR = 6;
const QUIT = 7;
const ACK = 8;

/** Bytes of the control block for a number of threads. */
export function controlBytes(threads: number): number {
  return 4 * (ACK + threads);
}

/** What a worker is started with. */
export interface WorkerInit {
  readonly program: CpuProgram;
  /** The shared storage: a shared WebAssembly memory, or a SharedArrayBuffer when WebAssembly is missing. */
  readonly memory: WasmMemory | null;
  readonly buffer: ArrayBufferLike;
  readonly tid: number;
  readonly threads: number;
}

export interface WorkerHandle {
  terminate(): void;
}

/** Starts workers: in each, `serveKernels(init)` runs with the init it was given. */
export interface ThreadAdapter {
  /** Threads to use by default (the machine's cores). */
  readonly cores: number;
  spawn(init: WorkerInit): WorkerHandle;
}

/** A share of [0, extent) for thread `t` of `threads`. */
export function share(extent: number, t: number, threads: number): [number, number] {
  return [Math.floor((extent * t) / threads), Math.floor((extent * (t + 1)) / threads)];
}

export class ThreadPool {
  private readonly workers: WorkerHandle[] = [];

  constructor(
    adapter: ThreadAdapter,
    private readonly control: Int32Array,
    readonly threads: number,
    init: Omit<WorkerInit, 'tid'>,
  ) {
    for (let tid = 1; tid < threads; tid++) this.workers.push(adapter.spawn({ ...init, tid }));
  }

  /** Whether every worker is bound and waiting. */
  ready(): boolean {
    return Atomics.load(this.control, READY) === this.threads - 1;
  }

  /** Resolves once every worker is ready (checked every few milliseconds). */
  async whenReady(): Promise<void> {
    while (!this.ready()) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** Runs a phase over [0, extent) on all threads; the main thread's share with `own`. */
  run(kernel: number, phase: number, fallback: boolean, extent: number, own: PhaseFn): boolean | undefined {
    const c = this.control;
    Atomics.store(c, KERNEL, kernel);
    Atomics.store(c, PHASE, phase);
    Atomics.store(c, FALLBACK, fallback ? 1 : 0);
    Atomics.store(c, EXTENT, extent);
    const gen = Atomics.add(c, GEN, 1) + 1;
    Atomics.notify(c, GEN);
    const [lo, hi] = share(extent, 0, this.threads);
    let result: boolean | undefined;
    try {
      result = lo < hi ? own(lo, hi, 0) : undefined;
    } finally {
      for (let t = 1; t < this.threads; t++) while (Atomics.load(c, ACK + t) !== gen);
    }
    if (Atomics.load(c, ERROR) !== 0) throw new Error(`internal: a worker thread failed in kernel k${kernel} (phase ${phase})`);
    return result;
  }

  /** Stops the workers. */
  close(): void {
    Atomics.store(this.control, QUIT, 1);
    Atomics.add(this.control, GEN, 1);
    Atomics.notify(this.control, GEN);
    for (const w of this.workers) w.terminate();
  }
}

/** A worker's loop: bind the kernels to the shared storage, report ready, run shares until told to quit. */
export function serveKernels(init: WorkerInit): void {
  const s = attachStorage(init.program, init.buffer, init.memory, init.threads);
  const kernels = bindKernels(init.program, s);
  const c = s.control;
  let gen = Atomics.load(c, GEN);
  Atomics.add(c, READY, 1);
  for (;;) {
    // Wait until the generation moves past the last one served. A wake-up alone is not a new
    // task: the main thread may be descheduled between bumping the generation and notifying,
    // so its notify can arrive after this worker has already served that generation (it saw
    // the new value without sleeping) and is waiting for the next; serving it again would
    // rerun the phase, and phases that update a buffer in place (the optimizer's) are not
    // idempotent.
    while (Atomics.load(c, GEN) === gen) Atomics.wait(c, GEN, gen);
    gen = Atomics.load(c, GEN);
    if (Atomics.load(c, QUIT) !== 0) return;
    try {
      const k = kernels[Atomics.load(c, KERNEL)]!;
      if (k.kind !== 'js') throw new Error('internal: an op kernel was dispatched to a worker');
      const fn = (Atomics.load(c, FALLBACK) ? k.fallback : k.phases)?.[Atomics.load(c, PHASE)];
      if (!fn) throw new Error('internal: a worker was dispatched a phase its kernel lacks');
      const [lo, hi] = share(Atomics.load(c, EXTENT), init.tid, init.threads);
      if (lo < hi) fn(lo, hi, init.tid);
    } catch {
      Atomics.store(c, ERROR, 1);
    }
    Atomics.store(c, ACK + init.tid, gen);
  }
}
