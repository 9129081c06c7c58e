// The named runtime failures of the WebGPU backend: each says what happened and what to do.

/** The GPU device was lost (driver reset, another process, the browser reclaiming it): the session is unusable. */
export class DeviceLost extends Error {
  constructor(readonly reason: string, detail: string) {
    super(`the WebGPU device was lost (${reason}${detail ? `: ${detail}` : ''}); load the model again on a new device, or run with --backend cpu`);
    this.name = 'DeviceLost';
  }
}

/** Precision or storage f16 was asked of a device or adapter without the `shader-f16` feature. */
export class ShaderF16Unavailable extends Error {
  constructor(what: string, asked: 'precision' | 'storage' = 'precision') {
    super(`${asked} 'f16' needs the WebGPU feature 'shader-f16', which ${what} lacks; use ${asked} 'f32' (the default), or an adapter that has it`);
    this.name = 'ShaderF16Unavailable';
  }
}

/** A program whose kernels use subgroup operations, loaded on a device without the `subgroups` feature. */
export class SubgroupsUnavailable extends Error {
  constructor() {
    super("the program's reductions use subgroup operations (the WebGPU feature 'subgroups'), which the device lacks; compile it without subgroups (the default of sinter compile), or request a device with the feature");
    this.name = 'SubgroupsUnavailable';
  }
}

/** A buffer or the step's work did not fit in GPU memory. */
export class OutOfGpuMemory extends Error {
  constructor(detail: string) {
    super(`the GPU ran out of memory (${detail}); use a smaller batch, or run with --backend cpu`);
    this.name = 'OutOfGpuMemory';
  }
}

/** A watched output (the loss) held a NaN or an infinity at some step since the last read-back; found by bit pattern on the device. */
export class NonFiniteOutput extends Error {
  constructor(readonly outputs: readonly string[]) {
    super(`${outputs.map((o) => `'${o}'`).join(', ')} became NaN or infinite at a step since the last read-back; training diverged — lower the learning rate, or add gradient clipping (clip_norm)`);
    this.name = 'NonFiniteOutput';
  }
}
