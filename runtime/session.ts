// The runtime interface every backend implements: one compiled graph, its persistent state, and steps.

import type { Graph } from '../compiler/ir/graph.js';
import type { Tensor } from '../compiler/ir/tensor.js';

/**
 * A graph loaded on a backend. Parameters (and optimizer state) live in the session between
 * steps; a step feeds the graph's inputs, applies the graph's declared aliasing (outputs that
 * replace parameters), and reads back only the outputs asked for.
 */
export interface Session {
  readonly graph: Graph;
  /** Uploads parameter values by name (all of the graph's parameters, or a subset to replace). */
  setParams(params: ReadonlyMap<string, Tensor>): void;
  /** Reads every parameter back (for checkpoints and for handing state to another session). */
  getParams(): Map<string, Tensor>;
  /** Runs one step; returns the requested outputs. */
  run(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[]): Map<string, Tensor>;
}

/**
 * A session whose device answers asynchronously (WebGPU: readback is `mapAsync`). Uploads are
 * queued, so `setParams` stays synchronous; a step with nothing to fetch need not wait for the
 * device at all.
 */
export interface AsyncSession {
  readonly graph: Graph;
  setParams(params: ReadonlyMap<string, Tensor>): void;
  getParams(): Promise<Map<string, Tensor>>;
  run(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[]): Promise<Map<string, Tensor>>;
}

/** A backend compiles graphs into sessions. */
export interface Backend {
  readonly name: string;
  /** Threads its kernels run on, where the backend runs on the CPU (benchmarks report it). */
  readonly threads?: number;
  load(graph: Graph): Session;
}

/** A backend whose sessions are asynchronous. */
export interface AsyncBackend {
  readonly name: string;
  readonly async: true;
  load(graph: Graph): AsyncSession;
}

/** What the training loop and the CLI accept: either kind (they `await` every answer). */
export type AnyBackend = Backend | AsyncBackend;
export type AnySession = Session | AsyncSession;
