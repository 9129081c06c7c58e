// The page of the browser tests (bundled by browser.test.ts): compiles a model from its source in the page and runs it on Sinter's browser backends.
//
// Exposes `sinterPage` on the page's global object; arguments and results cross the
// DevTools protocol as JSON, so tensors travel as plain arrays.

import { initParams } from '../../compiler/ir/init.js';
import type { Graph } from '../../compiler/ir/graph.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { buildTrainStep } from '../../compiler/passes/train-step.js';
import { compileSource } from '../../dsl/frontend.js';
import type { WorkerLike } from '../../runtime/cpu/browser.js';
import { createBrowserCpuBackend } from '../../runtime/cpu/browser.js';
import type { AnyBackend } from '../../runtime/session.js';
import { createBrowserWebgpuBackend } from '../../runtime/webgpu/browser.js';

/** A tensor as JSON: dtype, shape and values. */
export interface PlainTensor {
  readonly dtype: 'f32' | 'i32';
  readonly shape: number[];
  readonly data: number[];
}

export interface PageRun {
  /** `forward` runs the model; `train` runs its train step (the source's train block) `steps` times, feeding the same batch. */
  readonly graph: 'forward' | 'train';
  readonly source: string;
  readonly batch: number;
  readonly seed: number;
  readonly inputs: Record<string, PlainTensor>;
  readonly fetch: string[];
  readonly steps: number;
  readonly backend: 'webgpu' | 'cpu';
}

export interface PageResult {
  /** The fetched outputs of each step. */
  readonly steps: Record<string, number[]>[];
  /** What the backend says about itself: the contraction form and subgroups on webgpu, the session's threads on cpu. */
  readonly backend: Record<string, unknown>;
  readonly crossOriginIsolated: boolean;
}

function graphOf(run: PageRun): Graph {
  const r = compileSource(run.source, 'page.sinter', { dims: { batch: run.batch }, mode: run.graph === 'train' ? 'train' : 'infer' });
  if (!r.graph || r.diagnostics.length > 0) throw new Error(`the model does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  if (run.graph === 'forward') return r.graph;
  if (!r.train) throw new Error('the model has no train block');
  return buildTrainStep(r.graph, { loss: r.train.loss, optimizer: r.train.optimizer, l2: r.train.l2, clip_norm: r.train.clip_norm });
}

/** The page's globals this file uses (the project compiles without the DOM's types). */
const page = globalThis as unknown as { Worker: new (url: URL, options: { type: 'module' }) => WorkerLike; location: { href: string }; crossOriginIsolated: boolean };

async function backendOf(run: PageRun): Promise<AnyBackend> {
  if (run.backend === 'cpu') return createBrowserCpuBackend({ worker: () => new page.Worker(new URL('/worker.js', page.location.href), { type: 'module' }) });
  const webgpu = await createBrowserWebgpuBackend();
  if (!webgpu) throw new Error('navigator.gpu gave no adapter');
  return webgpu;
}

async function run(r: PageRun): Promise<PageResult> {
  const graph = graphOf(r);
  const backend = await backendOf(r);
  const session = backend.load(graph);
  // The cpu backend's workers start asynchronously; wait, so that the kernels run on them.
  const ready = (session as { whenReady?: () => Promise<void> }).whenReady;
  if (ready) await ready.call(session);
  session.setParams(initParams(graph, r.seed));
  const inputs = new Map(Object.entries(r.inputs).map(([name, t]): [string, Tensor] => [name, tensorFrom(t.dtype, t.shape, t.data)]));
  const steps: Record<string, number[]>[] = [];
  for (let i = 0; i < r.steps; i++) {
    const out = await session.run(inputs, r.fetch);
    steps.push(Object.fromEntries([...out].map(([name, t]) => [name, Array.from(t.data)])));
  }
  const b = backend as unknown as Record<string, unknown>;
  const threads = (session as { threads?: number }).threads;
  return { steps, backend: { name: backend.name, gemm: b['gemm'], subgroups: b['subgroups'], threads }, crossOriginIsolated: page.crossOriginIsolated };
}

(globalThis as { sinterPage?: unknown }).sinterPage = { run };
