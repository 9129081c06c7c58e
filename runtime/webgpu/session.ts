// The WebGPU backend's runtime core: a WgslProgram on a GPUDevice — pipelines made once, one command encoder and one submit per step, readback only when asked.
//
// Memory spaces (the arena and the state chunks, compiler/lower/wgsl/lower.ts) are one
// GPUBuffer each; parameters and optimizer state live in the state buffers for the whole
// session and are read back only by getParams (checkpoints). A step queues the input
// uploads, records every kernel's dispatch in a compute pass of its own (with timestamps at
// SINTER_DEBUG=2), the copies that apply aliased outputs not updated in
// place, the finiteness check and the copies of the fetched outputs, and submits once.
// With nothing to fetch, `run` returns without waiting for the device; errors of such
// steps (validation, out of memory) are reported by the next call that waits.
//
// The finiteness check: outputs to watch (the loss) are tested on the device by bit pattern
// (exponent bits all ones), since WGSL on the target drivers has no NaN semantics to test
// with; the flag is sticky, so a NaN at a step that read nothing back is reported at the
// next read-back, as NonFiniteOutput.
//
// This module imports nothing from Node: the device is handed in by an adapter (node.ts,
// browser.ts). WebGPU's numeric flag constants are spelled out here for the same reason
// (the GPUBufferUsage globals exist only where the host defines them).

/// <reference types="@webgpu/types" />

import type { Graph } from '../../compiler/ir/graph.js';
import type { Tensor, TensorData } from '../../compiler/ir/tensor.js';
import { allocData } from '../../compiler/ir/tensor.js';
import { formatType, numel, typesEqual } from '../../compiler/ir/types.js';
import type { WgslBuffer, WgslKernel, WgslProgram } from '../../compiler/lower/wgsl/lower.js';
import { halfBitsToNumber } from '../../compiler/kernel/half.js';
import type { KernelAround, KernelSource } from '../check/kernels.js';
import type { AsyncSession } from '../session.js';
import { DeviceLost, NonFiniteOutput, OutOfGpuMemory, ShaderF16Unavailable, SubgroupsUnavailable } from './errors.js';
import { KernelTimer } from './profile.js';

export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80, QUERY_RESOLVE: 0x200 } as const;
const MAP_READ = 0x1;
const COMPUTE_STAGE = 0x4;

export interface WebgpuSessionOptions {
  /** The SINTER_DEBUG level: 2 and above log each kernel's source at load and its GPU time per step. */
  readonly debug?: number;
  readonly log?: (line: string) => void;
  /** Outputs checked for NaN and infinity on the device (default: an output named `loss`, if any). */
  readonly watch?: readonly string[];
}

interface Dispatchable {
  /** Set once compiled (pipelines are compiled concurrently, before the first step). */
  pipeline: GPUComputePipeline | null;
  readonly pending: Promise<GPUComputePipeline>;
  readonly group: GPUBindGroup;
}

interface Bound extends Dispatchable {
  readonly kernel: WgslKernel;
}

/** A buffer's tensor from bytes read back at `offset`: u32 words as the dtype (bool as 0/1), or f16 halves decoded (the half arena). */
function tensorOf(b: WgslBuffer, bytes: ArrayBuffer, offset: number, half: boolean): Tensor {
  const n = numel(b.type.shape);
  const data = allocData(b.type.dtype, n);
  if (half) {
    const bits = new Uint16Array(bytes, offset, n);
    for (let i = 0; i < n; i++) data[i] = halfBitsToNumber(bits[i]!);
  } else if (b.type.dtype === 'f32') data.set(new Float32Array(bytes, offset, n));
  else if (b.type.dtype === 'i32') data.set(new Int32Array(bytes, offset, n));
  else data.set(new Uint32Array(bytes, offset, n));
  return { type: b.type, data };
}

/** The source line of a shader, for an error that quotes it. */
function sourceLine(source: string, line: number): string {
  return (source.split('\n')[line - 1] ?? '').trim();
}

export class WebgpuSession implements AsyncSession {
  private readonly spaces: GPUBuffer[];
  private readonly bound: Bound[] = [];
  private readonly checks: (Dispatchable & { readonly name: string })[] = [];
  private readonly flag: GPUBuffer | null;
  private readonly moves: { from: WgslBuffer; to: WgslBuffer; bytes: number }[];
  private readonly aliasing: GPUBuffer | null;
  private readonly set = new Set<string>();
  private readonly ready: Promise<void>;
  private readonly pending: Promise<GPUError | null>[] = [];
  private lost: DeviceLost | null = null;
  private readonly timer: KernelTimer | null;
  private readonly log: (line: string) => void;

  constructor(
    readonly graph: Graph,
    readonly program: WgslProgram,
    private readonly device: GPUDevice,
    options: WebgpuSessionOptions = {},
    /** The kernel program the WGSL was lowered from and its fused graph, for `--check` (runtime/check). */
    readonly kernelSource: KernelSource | null = null,
  ) {
    this.log = options.log ?? ((line: string) => console.error(line));
    if (program.features.includes('shader-f16') && !device.features.has('shader-f16')) throw new ShaderF16Unavailable('the device', program.precision === 'f16' ? 'precision' : 'storage');
    if (program.features.includes('subgroups') && !device.features.has('subgroups')) throw new SubgroupsUnavailable();
    const debug = options.debug ?? 0;
    void device.lost.then((info) => {
      this.lost = new DeviceLost(info.reason, info.message);
    });
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const label = (i: number): string => (i === 0 ? 'arena' : program.spaceTypes[i] === 'f16' ? 'half-arena' : `state${i}`);
    this.spaces = program.spaceBytes.map((size, i) => device.createBuffer({ label: label(i), size, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST }));
    const modules = program.kernels.map((k) => device.createShaderModule({ label: k.name, code: k.source }));
    program.kernels.forEach((k, i) => {
      if (debug >= 2) this.log(`sinter: webgpu kernel ${k.name} (${k.form}), ${k.dispatch.join('x')} workgroups of ${k.workgroupSize.join('x')}\n${k.source}`);
      this.bound.push({ kernel: k, ...this.pipelineOf(k.name, modules[i]!, k.spaces.map((s) => this.spaces[s]!)) });
    });
    const watch = options.watch ?? (program.outputs.some((o) => o.name === 'loss') ? ['loss'] : []);
    this.flag = watch.length > 0 ? device.createBuffer({ label: 'finite-flags', size: 4 * Math.max(4, watch.length), usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST }) : null;
    watch.forEach((name, i) => this.checks.push({ name, ...this.finiteCheck(name, i) }));
    this.moves = this.aliasMoves();
    const aliasBytes = this.moves.reduce((a, m) => a + m.bytes, 0);
    this.aliasing = aliasBytes > 0 ? device.createBuffer({ label: 'aliasing', size: aliasBytes, usage: USAGE.COPY_SRC | USAGE.COPY_DST }) : null;
    const validation = device.popErrorScope();
    const memory = device.popErrorScope();
    this.timer = debug >= 2 && device.features.has('timestamp-query') ? new KernelTimer(device, program.kernels, this.log) : null;
    this.ready = this.checkShaders(modules, validation, memory);
    // A rejected `ready` is reported by the first call that awaits it, not as an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** A one-workgroup kernel setting flag `bit` when an element of output `name` has all exponent bits set (NaN or ±infinity). */
  private finiteCheck(name: string, bit: number): Dispatchable {
    const b = this.outputBuffer(name);
    if (b.type.dtype !== 'f32') throw new Error(`output '${name}' is ${formatType(b.type)}; only f32 outputs can be checked for NaN`);
    const n = numel(b.type.shape);
    const code = [
      `// Sinter: finiteness check of output '${name.replace(/[^ -~]/g, '?')}' by bit pattern (WGSL has no NaN semantics to test with).`,
      '@group(0) @binding(0) var<storage, read_write> m: array<u32>;',
      '@group(0) @binding(1) var<storage, read_write> flags: array<u32>;',
      '@compute @workgroup_size(64)',
      'fn main(@builtin(local_invocation_index) li: u32) {',
      `  for (var i = li; i < ${n}u; i += 64u) {`,
      `    if ((m[${b.word}u + i] & 0x7f800000u) == 0x7f800000u) { flags[${bit}u] = 1u; }`,
      '  }',
      '}',
    ].join('\n');
    return this.pipelineOf(`check_${bit}`, this.device.createShaderModule({ label: `check_${bit}`, code }), [this.spaces[b.space]!, this.flag!]);
  }

  /** A pipeline (compiled asynchronously: the driver may compile several at once) and its bind group over whole memory spaces. */
  private pipelineOf(label: string, module: GPUShaderModule, buffers: readonly GPUBuffer[]): Dispatchable {
    const layout = this.device.createBindGroupLayout({ label, entries: buffers.map((_, binding) => ({ binding, visibility: COMPUTE_STAGE, buffer: { type: 'storage' as const } })) });
    const pending = this.device.createComputePipelineAsync({ label, layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module, entryPoint: 'main' } });
    // Rejections are reported by checkShaders (with the compiler's message), never as unhandled.
    pending.catch(() => undefined);
    const group = this.device.createBindGroup({ label, layout, entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
    return { pipeline: null, pending, group };
  }

  /** Every shader's compilation messages, then the errors of creating buffers and pipelines. */
  private async checkShaders(modules: readonly GPUShaderModule[], validation: Promise<GPUError | null>, memory: Promise<GPUError | null>): Promise<void> {
    const infos = await Promise.all(modules.map((m) => m.getCompilationInfo()));
    infos.forEach((info, i) => {
      const k = this.program.kernels[i]!;
      const error = info.messages.find((m) => m.type === 'error');
      if (error) {
        const at = k.loc ? `${k.loc.file}:${k.loc.line}:${k.loc.col}` : 'no source location';
        throw new Error(`internal: the generated WGSL of kernel ${k.name} (from ${at}) does not compile: ${error.message} — line ${error.lineNum}: ${sourceLine(k.source, error.lineNum)}`);
      }
    });
    const oom = await memory;
    if (oom) throw new OutOfGpuMemory(oom.message);
    const bad = await validation;
    if (bad) throw new Error(`internal: WebGPU rejected the program's buffers or pipelines: ${bad.message}`);
    for (const d of [...this.bound, ...this.checks]) {
      try {
        d.pipeline = await d.pending;
      } catch (e) {
        throw new Error(`internal: WebGPU could not create a pipeline of @${this.program.name}: ${(e as Error).message}`);
      }
    }
  }

  /** Resolves once shaders are checked and pipelines made; rejects with what went wrong. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  private outputBuffer(name: string): WgslBuffer {
    const o = this.program.outputs.find((x) => x.name === name);
    if (!o) throw new Error(`graph @${this.graph.name} has no output named '${name}'`);
    return this.program.buffers[o.buffer]!;
  }

  private write(b: WgslBuffer, data: TensorData): void {
    const words = data instanceof Uint8Array ? Uint32Array.from(data) : data;
    this.device.queue.writeBuffer(this.spaces[b.space]!, b.word * 4, words.buffer, words.byteOffset, words.byteLength);
  }

  setParams(params: ReadonlyMap<string, Tensor>): void {
    if (this.lost) throw this.lost;
    for (const p of this.graph.params) {
      const t = params.get(p.name);
      if (!t) continue;
      if (!typesEqual(t.type, p.type)) throw new Error(`parameter '${p.name}' must be ${formatType(p.type)}, got ${formatType(t.type)}`);
      const b = this.program.buffers.find((x) => x.placement.kind === 'param' && x.placement.name === p.name);
      if (!b) throw new Error(`internal: parameter '${p.name}' has no buffer in the WGSL program`);
      this.write(b, t.data);
      this.set.add(p.name);
    }
  }

  async getParams(): Promise<Map<string, Tensor>> {
    const wanted = this.program.buffers.filter((b) => b.placement.kind === 'param' && this.set.has(b.placement.name));
    const encoder = this.device.createCommandEncoder();
    const read = this.readback(encoder, wanted);
    this.device.queue.submit([encoder.finish()]);
    const tensors = await read();
    return new Map(wanted.map((b, i) => [(b.placement as { name: string }).name, tensors[i]!]));
  }

  /** Copies buffers into one mappable buffer; the returned function waits for the copy and reads them as tensors. */
  private readback(encoder: GPUCommandEncoder, buffers: readonly WgslBuffer[], flags = false): () => Promise<Tensor[]> {
    const sizes = buffers.map((b) => 4 * numel(b.type.shape));
    const flagBytes = flags && this.flag ? this.flag.size : 0;
    const total = sizes.reduce((a, b) => a + b, 0) + flagBytes;
    const staging = this.device.createBuffer({ label: 'readback', size: Math.max(4, total), usage: USAGE.MAP_READ | USAGE.COPY_DST });
    let at = 0;
    buffers.forEach((b, i) => {
      if (sizes[i]! > 0) encoder.copyBufferToBuffer(this.spaces[b.space]!, b.word * 4, staging, at, sizes[i]!);
      at += sizes[i]!;
    });
    if (flagBytes > 0) encoder.copyBufferToBuffer(this.flag!, 0, staging, at, flagBytes);
    return async () => {
      await this.settle();
      // Measured on Dawn/lavapipe: a session's first read-back intermittently waited 11–33 s
      // for a step that ran in 0.1 s (the example train steps at batch 3), with one compute
      // pass for all kernels and mapAsync alone. With a pass per kernel and this wait first,
      // none did in 16 single-process runs, but the stall still shows at times while several
      // test processes share the machine; its cause inside Dawn or lavapipe is not pinned down.
      await this.device.queue.onSubmittedWorkDone();
      await staging.mapAsync(MAP_READ);
      const bytes = staging.getMappedRange().slice(0);
      staging.unmap();
      staging.destroy();
      if (flagBytes > 0) {
        const raised = new Uint32Array(bytes, at, flagBytes / 4);
        const bad = this.checks.filter((_, i) => raised[i] !== 0).map((c) => c.name);
        if (bad.length > 0) {
          this.device.queue.writeBuffer(this.flag!, 0, new Uint32Array(flagBytes / 4));
          throw new NonFiniteOutput(bad);
        }
      }
      let off = 0;
      return buffers.map((b, i) => {
        const t = tensorOf(b, bytes, off, false);
        off += sizes[i]!;
        return t;
      });
    };
  }

  /** Throws the first error of the steps submitted since the last wait (device loss, out of memory, validation). */
  private async settle(): Promise<void> {
    await this.ready;
    const errors = await Promise.all(this.pending.splice(0));
    if (this.lost) throw this.lost;
    const e = errors.find((x) => x !== null);
    if (!e) return;
    if (e.constructor.name === 'GPUOutOfMemoryError' || /out of memory/i.test(e.message)) throw new OutOfGpuMemory(e.message);
    throw new Error(`internal: WebGPU rejected a step: ${e.message}`);
  }

  async run(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[]): Promise<Map<string, Tensor>> {
    const fetched = await this.upload(inputs, fetch);
    return this.submitStep(fetch, fetched, (encoder) => this.bound.forEach((_, i) => this.encodeKernel(encoder, i)));
  }

  /**
   * One step like `run`, with `around` called for every kernel in order: `runKernel` submits
   * that kernel alone and waits for it, so `around` can read buffers before and after it
   * (`--check`). A step, not a fast path: one submit and one wait per kernel.
   */
  async runKernels(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[], around: KernelAround): Promise<Map<string, Tensor>> {
    const fetched = await this.upload(inputs, fetch);
    for (let i = 0; i < this.bound.length; i++) {
      await around(i, async () => {
        const encoder = this.device.createCommandEncoder();
        this.encodeKernel(encoder, i);
        this.device.queue.submit([encoder.finish()]);
        await this.device.queue.onSubmittedWorkDone();
      });
    }
    return this.submitStep(fetch, fetched, () => undefined);
  }

  /** A copy of a buffer (by the kernel program's buffer id) as it is now, once the submitted work is done; half-arena values decoded from f16. */
  async readBuffer(id: number): Promise<Tensor> {
    const b = this.program.buffers[id];
    if (!b) throw new Error(`internal: the program has no buffer ${id}`);
    const n = numel(b.type.shape);
    const half = this.program.spaceTypes[b.space] === 'f16';
    // Copies move multiples of 4 bytes; a half buffer's last 2 bytes past its end lie inside its aligned slot.
    const size = Math.max(4, Math.ceil((half ? 2 * n : 4 * n) / 4) * 4);
    const staging = this.device.createBuffer({ label: `read-buffer-${id}`, size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.spaces[b.space]!, b.word * (half ? 2 : 4), staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    await this.settle();
    await staging.mapAsync(MAP_READ);
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    return tensorOf(b, bytes, 0, half);
  }

  /** Checks a step's inputs and queues their uploads; returns the buffers of the outputs to fetch. */
  private async upload(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[]): Promise<WgslBuffer[]> {
    if (this.lost) throw this.lost;
    // Compilation, not the device: resolved after the first step.
    await this.ready;
    const g = this.graph;
    const missing = g.params.find((p) => !this.set.has(p.name));
    if (missing) throw new Error(`internal: parameter '${missing.name}' was never set`);
    const declared = new Set(g.inputs.map((i) => i.name));
    for (const name of inputs.keys()) if (!declared.has(name)) throw new Error(`graph @${g.name} has no input named '${name}'`);
    const fetched = fetch.map((name) => this.outputBuffer(name));
    for (const i of g.inputs) {
      const t = inputs.get(i.name);
      if (!t) throw new Error(`graph @${g.name}: no value given for input '${i.name}' (${formatType(i.type)})`);
      if (!typesEqual(t.type, i.type)) throw new Error(`graph @${g.name}: input '${i.name}' expects ${formatType(i.type)}, got ${formatType(t.type)}`);
      const b = this.program.buffers.find((x) => x.placement.kind === 'input' && x.placement.name === i.name);
      if (b) this.write(b, t.data);
    }
    return fetched;
  }

  /** Records `kernels`, the finiteness checks, the aliasing copies and the read-back of `fetched` in one encoder, submits it, and returns the fetched outputs. */
  private async submitStep(fetch: readonly string[], fetched: readonly WgslBuffer[], kernels: (encoder: GPUCommandEncoder) => void): Promise<Map<string, Tensor>> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const encoder = this.device.createCommandEncoder();
    kernels(encoder);
    this.encodeChecks(encoder);
    this.encodeAliasing(encoder);
    const read = fetched.length > 0 ? this.readback(encoder, fetched, true) : null;
    this.timer?.resolve(encoder);
    this.device.queue.submit([encoder.finish()]);
    const validation = this.device.popErrorScope();
    this.pending.push(validation, this.device.popErrorScope());
    if (this.timer) {
      await this.settle();
      await this.timer.report();
    }
    if (!read) return new Map();
    const tensors = await read();
    return new Map(fetch.map((name, i) => [name, tensors[i]!]));
  }

  private dispatch(pass: GPUComputePassEncoder, b: Dispatchable, size: readonly number[]): void {
    if (!b.pipeline) throw new Error('internal: a step was encoded before its pipelines were compiled');
    pass.setPipeline(b.pipeline);
    pass.setBindGroup(0, b.group);
    pass.dispatchWorkgroups(size[0]!, size[1]!, size[2]!);
  }

  /** Kernel i in a compute pass of its own: see readback() on the first-step stall; the steady-state speed is the same as one pass. */
  private encodeKernel(encoder: GPUCommandEncoder, i: number): void {
    const b = this.bound[i]!;
    const pass = encoder.beginComputePass(this.timer ? { timestampWrites: this.timer.writes(i) } : {});
    this.dispatch(pass, b, b.kernel.dispatch);
    pass.end();
  }

  private encodeChecks(encoder: GPUCommandEncoder): void {
    if (this.checks.length === 0) return;
    const pass = encoder.beginComputePass();
    for (const c of this.checks) this.dispatch(pass, c, [1, 1, 1]);
    pass.end();
  }

  /** The aliased outputs not written in place, with the params they replace. */
  private aliasMoves(): { from: WgslBuffer; to: WgslBuffer; bytes: number }[] {
    const moves: { from: WgslBuffer; to: WgslBuffer; bytes: number }[] = [];
    for (const o of this.program.outputs) {
      if (o.aliases === undefined) continue;
      const from = this.program.buffers[o.buffer]!;
      if (from.placement.kind === 'in-param' && from.placement.name === o.aliases) continue;
      const to = this.program.buffers.find((b) => b.placement.kind === 'param' && b.placement.name === o.aliases);
      if (!to) throw new Error(`internal: output '${o.name}' aliases param '${o.aliases}', which has no buffer`);
      moves.push({ from, to, bytes: 4 * numel(from.type.shape) });
    }
    return moves;
  }

  /** Copies aliased outputs into their params: all of them into a staging buffer first, so outputs that swap params are both right. */
  private encodeAliasing(encoder: GPUCommandEncoder): void {
    if (!this.aliasing) return;
    let at = 0;
    for (const m of this.moves) {
      encoder.copyBufferToBuffer(this.spaces[m.from.space]!, m.from.word * 4, this.aliasing, at, m.bytes);
      at += m.bytes;
    }
    at = 0;
    for (const m of this.moves) {
      encoder.copyBufferToBuffer(this.aliasing, at, this.spaces[m.to.space]!, m.to.word * 4, m.bytes);
      at += m.bytes;
    }
  }

  /** Frees the session's GPU buffers. */
  destroy(): void {
    for (const b of this.spaces) b.destroy();
    this.flag?.destroy();
    this.aliasing?.destroy();
  }
}
