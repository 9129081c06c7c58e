// Per-kernel GPU times from `timestamp-query` (SINTER_DEBUG=2): one compute pass per kernel with timestamps at its start and end.
//
// Times are read back after each step and logged as one line per kernel with its achieved
// GFLOP/s and GB/s (from the lowering's operation and byte counts), plus the step's total.
// Recording one pass per kernel changes nothing about what runs; only the profiled run waits
// for the device every step.

/// <reference types="@webgpu/types" />

import type { WgslKernel } from '../../compiler/lower/wgsl/lower.js';

const QUERY_RESOLVE = 0x200;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;

export class KernelTimer {
  private readonly queries: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly staging: GPUBuffer;
  private step = 0;

  constructor(
    device: GPUDevice,
    private readonly kernels: readonly WgslKernel[],
    private readonly log: (line: string) => void,
  ) {
    const count = Math.max(2, 2 * kernels.length);
    this.queries = device.createQuerySet({ type: 'timestamp', count });
    this.resolved = device.createBuffer({ size: 8 * count, usage: QUERY_RESOLVE | COPY_SRC });
    this.staging = device.createBuffer({ size: 8 * count, usage: MAP_READ | COPY_DST });
  }

  /** The timestamp writes of kernel i's pass. */
  writes(i: number): GPUComputePassTimestampWrites {
    return { querySet: this.queries, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  resolve(encoder: GPUCommandEncoder): void {
    if (this.kernels.length === 0) return;
    encoder.resolveQuerySet(this.queries, 0, 2 * this.kernels.length, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, this.staging, 0, 16 * this.kernels.length);
  }

  /** Waits for the step's timestamps and logs each kernel's time. */
  async report(): Promise<void> {
    if (this.kernels.length === 0) return;
    await this.staging.mapAsync(MAP_READ);
    const t = new BigInt64Array(this.staging.getMappedRange().slice(0));
    this.staging.unmap();
    let total = 0;
    this.kernels.forEach((k, i) => {
      const ns = Number(t[2 * i + 1]! - t[2 * i]!);
      total += ns;
      const s = ns / 1e9;
      const rate = s > 0 ? `${(k.flops / s / 1e9).toFixed(2)} GFLOP/s, ${(k.bytes / s / 1e9).toFixed(2)} GB/s` : 'no time measured';
      this.log(`sinter: webgpu step ${this.step} ${k.name} ${(ns / 1e6).toFixed(3)} ms (${k.form}; ${rate})`);
    });
    this.log(`sinter: webgpu step ${this.step} total ${(total / 1e6).toFixed(3)} ms in ${this.kernels.length} kernels`);
    this.step++;
  }
}
