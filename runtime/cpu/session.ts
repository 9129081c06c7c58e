// The CPU backend: a graph compiled once (pipeline, then JavaScript kernels) into a session that keeps its parameters in one ArrayBuffer.
//
// Loading runs the middle end with the CPU's limits and lowers the kernel program; the
// session then owns one storage buffer (arena, inputs, params, scratch). A step copies the
// inputs in, calls the kernels in order, copies out only the fetched outputs, and applies
// the graph's declared aliasing: an output the memory plan placed in its param's storage is
// already there; any other aliased output is copied into its param after the step (all of
// them read first, so two outputs that swap params are both right). Parameters and optimizer
// state stay in the session between steps.
//
// This module imports nothing from Node, so it runs in a browser as well. SINTER_DEBUG is
// read from `process.env` only where a `process` global exists (or given as an option).

import type { Graph } from '../../compiler/ir/graph.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { formatType, typesEqual } from '../../compiler/ir/types.js';
import type { CpuBuffer, CpuProgram } from '../../compiler/lower/cpu/lower.js';
import { CPU_LIMITS, lowerToCpu } from '../../compiler/lower/cpu/lower.js';
import { runPipeline } from '../../compiler/pipeline.js';
import type { KernelAround, KernelSource } from '../check/kernels.js';
import type { Backend, Session } from '../session.js';
import { KernelProfile } from './profile.js';
import type { BoundKernel, PhaseFn, Storage } from './storage.js';
import { allocateStorage, bindKernels, readTensor } from './storage.js';
import type { ThreadAdapter } from './threads.js';
import { ThreadPool } from './threads.js';

export interface CpuOptions {
  /** The SINTER_DEBUG level: 2 and above log each generated kernel at load and per-kernel times. */
  readonly debug?: number;
  /** Where debug lines go (default: console.error). */
  readonly log?: (line: string) => void;
  /** Run GEMMs as WebAssembly SIMD where available (default true); false runs their JavaScript twin. */
  readonly wasm?: boolean;
  /** Run loops kernels and GEMM epilogues as WebAssembly where they qualify (default true); false runs their JavaScript form (the same values). */
  readonly wasmLoops?: boolean;
  /** Starts worker threads; without one the session runs on the calling thread only. */
  readonly adapter?: ThreadAdapter;
  /** Threads to run kernels on, the calling one included (default: the adapter's cores, else 1). */
  readonly threads?: number;
  /** FLOPs plus bytes moved from which a kernel is split between threads (default 10^6). */
  readonly parallelWork?: number;
}

/**
 * A kernel is split between threads when its arithmetic or traffic is worth a handoff (waking
 * a worker costs tens of microseconds): at least this many FLOPs plus bytes moved.
 */
const PARALLEL_WORK = 1e6;

/** Stops a session's workers once the session is garbage. */
const pools = new FinalizationRegistry<ThreadPool>((pool) => pool.close());

/** Compiles a graph for the CPU: the pipeline with CPU limits, then the JavaScript lowering. */
export function compileForCpu(graph: Graph): CpuProgram {
  return compileForCpuWithSource(graph).program;
}

/** As compileForCpu, keeping the kernel program it lowered and the fused graph that program's node ids name (for `--check`). */
export function compileForCpuWithSource(graph: Graph): { program: CpuProgram; source: KernelSource } {
  const { state } = runPipeline(graph, { limits: CPU_LIMITS });
  if (!state.program) throw new Error('internal: the pipeline produced no kernel program');
  return { program: lowerToCpu(state.program), source: { program: state.program, graph: state.graph } };
}

export class CpuSession implements Session {
  private readonly storage: Storage;
  private readonly kernels: BoundKernel[];
  private readonly pool: ThreadPool | null;
  /** Per kernel: whether its phases are split between threads. */
  private readonly parallel: boolean[];
  private readonly inputs = new Map<string, CpuBuffer>();
  private readonly params = new Map<string, CpuBuffer>();
  private readonly set = new Set<string>();
  /** Params the program does not read (the pipeline removed every use): kept on the host. */
  private readonly unused = new Map<string, Tensor>();
  private readonly profile: KernelProfile | null;

  readonly program: CpuProgram;

  constructor(
    readonly graph: Graph,
    program: CpuProgram,
    options: CpuOptions = {},
    /** What the program was lowered from, when the session can be checked kernel by kernel. */
    readonly kernelSource: KernelSource | null = null,
  ) {
    if (options.wasmLoops === false) program = { ...program, kernels: program.kernels.map((k) => (k.kind === 'js' ? { ...k, wasm: null } : k)) };
    this.program = program;
    const log = options.log ?? ((line: string) => console.error(line));
    const debug = options.debug ?? 0;
    if (debug >= 2) for (const k of program.kernels) log(k.kind === 'js' ? `sinter: cpu kernel ${k.name} (${k.form})\n${k.source}` : `sinter: cpu kernel ${k.name} (op ${k.op})`);
    const threads = options.adapter ? Math.max(1, options.threads ?? options.adapter.cores) : 1;
    const work = options.parallelWork ?? PARALLEL_WORK;
    this.parallel = program.kernels.map((k) => threads > 1 && k.kind === 'js' && k.flops + k.bytes >= work);
    const pooled = this.parallel.some((x) => x);
    this.storage = allocateStorage(program, { wasm: options.wasm ?? true, threads: pooled ? threads : 1 });
    this.kernels = bindKernels(program, this.storage);
    this.pool = pooled && options.adapter ? new ThreadPool(options.adapter, this.storage.control, threads, { program, memory: this.storage.memory, buffer: this.storage.bytes, threads }) : null;
    if (this.pool) pools.register(this, this.pool);
    for (const b of program.buffers) {
      if (b.placement.kind === 'input') this.inputs.set(b.placement.name, b);
      if (b.placement.kind === 'param') this.params.set(b.placement.name, b);
    }
    this.profile = debug >= 2 ? new KernelProfile(program, log) : null;
  }

  /** Threads this session's kernels run on (1 when none of its kernels is worth splitting). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Resolves once the worker threads are started and bound (until then, kernels run on the calling thread). */
  whenReady(): Promise<void> {
    return this.pool ? this.pool.whenReady() : Promise.resolve();
  }

  setParams(params: ReadonlyMap<string, Tensor>): void {
    for (const p of this.graph.params) {
      const t = params.get(p.name);
      if (!t) continue;
      if (!typesEqual(t.type, p.type)) throw new Error(`parameter '${p.name}' must be ${formatType(p.type)}, got ${formatType(t.type)}`);
      const b = this.params.get(p.name);
      // A param no kernel reads has no buffer; it is still "set", and read back as given.
      if (b) this.storage.views[b.id]!.set(t.data);
      else this.unused.set(p.name, t);
      this.set.add(p.name);
    }
  }

  getParams(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const p of this.graph.params) {
      if (!this.set.has(p.name)) continue;
      const b = this.params.get(p.name);
      out.set(p.name, b ? readTensor(b, this.storage.views[b.id]!) : this.unused.get(p.name)!);
    }
    return out;
  }

  run(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[]): Map<string, Tensor> {
    this.upload(inputs);
    if (this.profile) {
      const profile = this.profile;
      this.kernels.forEach((_, i) => profile.time(i, () => this.runKernel(i)));
      profile.endStep();
    } else for (let i = 0; i < this.kernels.length; i++) this.runKernel(i);
    return this.finish(inputs, fetch);
  }

  /** One step as `run`, with `around(i, runKernel)` called in place of running kernel i (see runtime/check). */
  async runKernels(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[], around: KernelAround): Promise<Map<string, Tensor>> {
    this.upload(inputs);
    for (let i = 0; i < this.kernels.length; i++) await around(i, () => this.runKernel(i));
    return this.finish(inputs, fetch);
  }

  /** A copy of a buffer (by the kernel program's buffer id) as it is now. */
  readBuffer(id: number): Tensor {
    return readTensor(this.program.buffers[id]!, this.storage.views[id]!);
  }

  /** Checks and copies in a step's inputs. */
  private upload(inputs: ReadonlyMap<string, Tensor>): void {
    const g = this.graph;
    const missing = g.params.find((p) => !this.set.has(p.name));
    if (missing) throw new Error(`internal: parameter '${missing.name}' was never set`);
    const declared = new Set(g.inputs.map((i) => i.name));
    for (const name of inputs.keys()) if (!declared.has(name)) throw new Error(`graph @${g.name} has no input named '${name}'`);
    for (const i of g.inputs) {
      const t = inputs.get(i.name);
      if (!t) throw new Error(`graph @${g.name}: no value given for input '${i.name}' (${formatType(i.type)})`);
      if (!typesEqual(t.type, i.type)) throw new Error(`graph @${g.name}: input '${i.name}' expects ${formatType(i.type)}, got ${formatType(t.type)}`);
      const b = this.inputs.get(i.name);
      if (b) this.storage.views[b.id]!.set(t.data);
    }
  }

  /** Reads the fetched outputs, then applies the graph's aliasing. */
  private finish(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[]): Map<string, Tensor> {
    const fetched = new Map(fetch.map((name) => [name, this.output(name, inputs)]));
    this.applyAliasing(inputs);
    return fetched;
  }

  /** Runs a kernel's phases in order (switching to its fallback phases when one asks), each split between threads where that pays. */
  private runKernel(i: number): void {
    const k = this.kernels[i]!;
    if (k.kind === 'op') return k.run();
    for (let j = 0; j < k.phases.length; j++) {
      if (this.runPhase(i, j, false, k.info.phases[j]!.extent, k.phases[j]!) === true) {
        k.fallback?.forEach((fn, f) => this.runPhase(i, f, true, k.info.fallback![f]!.extent, fn));
        return;
      }
    }
  }

  private runPhase(i: number, j: number, fallback: boolean, extent: number, fn: PhaseFn): boolean | undefined {
    if (this.pool && this.parallel[i] && extent > 1 && this.pool.ready()) return this.pool.run(i, j, fallback, extent, fn);
    return fn(0, extent, 0);
  }

  /** An output's current value: from its buffer, or (an output naming a value no kernel touches) from the feeds. */
  private output(name: string, inputs: ReadonlyMap<string, Tensor>): Tensor {
    const o = this.program.outputs.find((x) => x.name === name);
    if (!o) throw new Error(`graph @${this.graph.name} has no output named '${name}'`);
    const b = this.program.buffers[o.buffer]!;
    const pl = b.placement;
    if (pl.kind === 'param' && !this.params.has(pl.name)) return this.unused.get(pl.name)!;
    if (pl.kind === 'input' && !this.inputs.has(pl.name)) return inputs.get(pl.name)!;
    return readTensor(b, this.storage.views[b.id]!);
  }

  /** Copies aliased outputs that were not written in place into their params, reading all before writing any. */
  private applyAliasing(inputs: ReadonlyMap<string, Tensor>): void {
    const pending: [string, Tensor][] = [];
    for (const o of this.program.outputs) {
      if (o.aliases === undefined) continue;
      const b = this.program.buffers[o.buffer]!;
      if (b.placement.kind === 'in-param' && b.placement.name === o.aliases) continue;
      pending.push([o.aliases, this.output(o.name, inputs)]);
    }
    if (pending.length > 0) this.setParams(new Map(pending));
  }
}

/** The SINTER_DEBUG level of the environment, where there is one (Node); 0 in a browser. */
function envDebug(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return Number(env?.['SINTER_DEBUG'] ?? 0) || 0;
}

/** The CPU backend: its sessions are CpuSessions. */
export interface CpuBackend extends Backend {
  load(graph: Graph): CpuSession;
}

export function createCpuBackend(options: CpuOptions = {}): CpuBackend {
  return {
    name: 'cpu',
    threads: options.adapter ? Math.max(1, options.threads ?? options.adapter.cores) : 1,
    load: (graph) => {
      const { program, source } = compileForCpuWithSource(graph);
      return new CpuSession(graph, program, { ...options, debug: options.debug ?? envDebug() }, source);
    },
  };
}

export const cpuBackend: CpuBackend = createCpuBackend();
