// `--check` as a backend wrapper: sessions that run chosen steps kernel by kernel against the reference, report, and stop at the first disagreement.
//
// Wrapping the backend (rather than the training loop or the CLI) checks whatever runs a
// graph through it: `sinter run`'s one step, a training run's train step (its first, then
// every Nth) and the first run of each evaluation graph. A clean check reports one line; a
// disagreement throws CheckFailed, an `internal:` error (a kernel that disagrees with the
// reference is a compiler or backend bug) naming the kernel, its graph nodes, its DSL line and
// its errors.

import type { Graph } from '../../compiler/ir/graph.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import type { AnyBackend, AnySession, AsyncBackend, AsyncSession } from '../session.js';
import type { CheckableSession, KernelComparison } from './kernels.js';
import { checkStep, isCheckable } from './kernels.js';

export interface CheckOptions {
  /** Besides each session's first run, check every Nth run of a train step (0: only the first). */
  readonly every?: number;
  /** Receives one line per checked step. */
  readonly report: (line: string) => void;
  /** The error to throw when a session has no kernel program to check (the reference backend). */
  readonly unavailable?: (backend: string) => Error;
}

/** A kernel whose outputs differ from the reference beyond tolerance. */
export class CheckFailed extends Error {
  constructor(
    readonly failure: KernelComparison,
    readonly step: string,
    readonly agreed: number,
  ) {
    super(describeFailure(failure, step, agreed));
    this.name = 'CheckFailed';
  }
}

const g = (x: number): string => (x === 0 ? '0' : x.toExponential(2));

function describeFailure(f: KernelComparison, step: string, agreed: number): string {
  const w = f.worst;
  return [
    `internal: check: kernel ${f.kernel} differs from the reference beyond its tolerance (rtol ${g(f.tolerance.rtol)}, atol ${g(f.tolerance.atol)})`,
    `  graph nodes: ${f.nodes.join(', ')}`,
    `  at ${f.loc ?? 'no source location (compiler-made nodes)'}`,
    `  max abs err ${g(f.maxAbsErr)}, max rel err ${g(f.maxRelErr)}${w ? `; worst: output ${w.output} element ${w.index} is ${w.got}, the reference ${w.want}` : ''}`,
    `  (${step}; the ${agreed} kernel${agreed === 1 ? '' : 's'} before it agree)`,
  ].join('\n');
}

/** The line for a clean step. */
export function describeClean(kernels: readonly KernelComparison[], step: string): string {
  const rel = Math.max(0, ...kernels.map((k) => k.maxRelErr));
  const abs = Math.max(0, ...kernels.map((k) => k.maxAbsErr));
  return `check: ${kernels.length} kernels agree with the reference (max rel err ${g(rel)}, max abs err ${g(abs)}): ${step}`;
}

/** Runs one step checked; throws CheckFailed at the first kernel that disagrees, else reports and returns the step's outputs. */
export async function runChecked(session: CheckableSession, graph: Graph, step: string, inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[], report: (line: string) => void): Promise<Map<string, Tensor>> {
  const { outputs, kernels } = await checkStep(session, inputs, fetch);
  const bad = kernels.findIndex((k) => !k.ok);
  if (bad >= 0) throw new CheckFailed(kernels[bad]!, `@${graph.name}, ${step}`, bad);
  report(describeClean(kernels, `@${graph.name}, ${step}`));
  return outputs;
}

class CheckedSession implements AsyncSession {
  private runs = 0;

  constructor(
    private readonly inner: AnySession & CheckableSession,
    private readonly options: CheckOptions,
  ) {}

  get graph(): Graph {
    return this.inner.graph;
  }

  setParams(params: ReadonlyMap<string, Tensor>): void {
    this.inner.setParams(params);
  }

  async getParams(): Promise<Map<string, Tensor>> {
    return this.inner.getParams();
  }

  async run(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[]): Promise<Map<string, Tensor>> {
    const n = this.runs++;
    const every = this.options.every ?? 0;
    const train = this.graph.outputs.some((o) => o.aliases !== undefined);
    if (n === 0 || (train && every > 0 && n % every === 0)) return runChecked(this.inner, this.graph, `${train ? 'step' : 'run'} ${n + 1}`, inputs, fetch, this.options.report);
    return this.inner.run(inputs, fetch);
  }
}

/** The backend with `--check`: every session it loads checks its steps as `options` say. */
export function checkedBackend(backend: AnyBackend, options: CheckOptions): AsyncBackend {
  return {
    name: backend.name,
    async: true,
    load(graph: Graph): AsyncSession {
      const s = backend.load(graph);
      if (!isCheckable(s)) throw options.unavailable?.(backend.name) ?? new Error(`internal: the ${backend.name} backend's sessions cannot be checked kernel by kernel`);
      return new CheckedSession(s, options);
    },
  };
}
