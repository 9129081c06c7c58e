// WebGPU device limits as the WGSL lowering checks them at compile time, and the diagnostic a kernel that cannot fit gets.
//
// The compiler targets WebGPU's default limits unless asked for an adapter's own, so that a
// program that runs here runs in every browser. What each limit means for the lowering:
// - storage bindings per stage (8): a kernel binds one storage buffer per memory space it
//   touches (the arena, the half arena with storage f16, and the state chunks holding its
//   inputs and params), so it needs 8 only when it reads from 7 chunks of 128 MiB — a model
//   of most of a gigabyte;
// - binding size (128 MiB): the arena is one binding, and the state is packed into chunks no
//   larger; a single tensor larger than a binding cannot be bound at all;
// - workgroup storage (16 KiB) and invocations per workgroup (256): tiles and workgroup
//   sizes are chosen to fit (a smaller tile, a smaller workgroup), never refused;
// - workgroups per dimension (65,535): point kernels use a 2-D grid; a contraction's batch
//   is its grid's third dimension and must fit it.
// A kernel that still cannot fit raises WgslLimitError: the DSL layer (location) that made the
// kernel, the limit with its value and what was asked, and the fix.

import type { Loc } from '../../ir/graph.js';
import type { TargetLimits } from '../../kernel/target.js';
import { WEBGPU_DEFAULTS } from '../../kernel/target.js';

export interface WgslLimits extends TargetLimits {
  /** maxStorageBufferBindingSize (default 128 MiB). */
  readonly maxBindingBytes: number;
  /** maxComputeInvocationsPerWorkgroup (default 256). */
  readonly maxInvocations: number;
  /** maxComputeWorkgroupsPerDimension (default 65,535). */
  readonly maxWorkgroupsPerDim: number;
}

export const WGSL_DEFAULTS: WgslLimits = {
  ...WEBGPU_DEFAULTS,
  maxBindingBytes: 128 * 1024 * 1024,
  maxInvocations: 256,
  maxWorkgroupsPerDim: 65535,
};

/** The subset of a GPUSupportedLimits object the lowering reads (to compile for an adapter's own limits). */
export interface AdapterLimits {
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly minStorageBufferOffsetAlignment: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

export function limitsOfAdapter(a: AdapterLimits): WgslLimits {
  return {
    maxStorageBindings: a.maxStorageBuffersPerShaderStage,
    maxWorkgroupBytes: a.maxComputeWorkgroupStorageSize,
    offsetAlignment: a.minStorageBufferOffsetAlignment,
    maxBindingBytes: a.maxStorageBufferBindingSize,
    maxInvocations: a.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupsPerDim: a.maxComputeWorkgroupsPerDimension,
  };
}

export type LimitName = 'maxStorageBuffersPerShaderStage' | 'maxStorageBufferBindingSize' | 'maxComputeWorkgroupStorageSize' | 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupsPerDimension';

/** A program that does not fit the target's limits: a user diagnostic (the model is too large for the target), not a compiler bug. */
export class WgslLimitError extends Error {
  constructor(
    readonly limit: LimitName,
    readonly allowed: number,
    readonly needed: number,
    readonly loc: Loc | undefined,
    readonly what: string,
    readonly hint: string,
  ) {
    super(`${loc ? `${loc.file}:${loc.line}:${loc.col}: ` : ''}${what} needs ${limit} = ${needed}, but the target allows ${allowed}`);
    this.name = 'WgslLimitError';
  }
}
