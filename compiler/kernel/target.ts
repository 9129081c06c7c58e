// Target limits and storage layout as data: what fusion and memory planning must respect (WebGPU's defaults).
//
// One table for the limits a kernel must fit and one for how each dtype is laid out in a
// storage buffer, read by fusion, the memory planner and (later) the runtimes' binding code.
// WGSL has no 8-bit storage type, so bool elements take a u32 (4 bytes) on the device.

import type { DType, TensorType } from '../ir/types.js';
import { numel } from '../ir/types.js';

export interface TargetLimits {
  /** Storage buffers one kernel may bind (WebGPU maxStorageBuffersPerShaderStage, default 8). */
  readonly maxStorageBindings: number;
  /** Workgroup memory one kernel may use (WebGPU maxComputeWorkgroupStorageSize, default 16 KiB). */
  readonly maxWorkgroupBytes: number;
  /** Alignment of a buffer's offset in the arena (WebGPU minStorageBufferOffsetAlignment, default 256). */
  readonly offsetAlignment: number;
}

export const WEBGPU_DEFAULTS: TargetLimits = { maxStorageBindings: 8, maxWorkgroupBytes: 16384, offsetAlignment: 256 };

/** Bytes of one element in a storage buffer, per dtype. */
export const ELEMENT_BYTES: Readonly<Record<DType, number>> = { f32: 4, i32: 4, bool: 4 };

/**
 * Workgroup memory a kernel is planned to use: a tiled contraction keeps a 64×16 tile of each
 * operand (2 · 64 · 16 · 4 bytes); each reduction combines partial results of a 256-thread
 * workgroup (256 · 4 bytes).
 */
export const WORKGROUP_BYTES = { contractionTiles: 2 * 64 * 16 * 4, perReduction: 256 * 4 } as const;

export function tensorBytes(t: TensorType): number {
  return numel(t.shape) * ELEMENT_BYTES[t.dtype];
}

/**
 * How float32 temporaries are stored: `f32`, or `f16` — half the bytes, in an arena of their
 * own (WGSL's `array<f16>`: a 16-bit element needs a binding of that type, and one buffer
 * may not be bound writable twice in a dispatch). Inputs, params, optimizer state and graph
 * outputs stay f32 either way.
 */
export type Storage = 'f32' | 'f16';

/** Bytes of one element of a half-arena value. */
export const HALF_BYTES = 2;

/** Bytes of a value stored as f16. */
export function halfBytes(t: TensorType): number {
  return numel(t.shape) * HALF_BYTES;
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
