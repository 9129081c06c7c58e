// In-memory datasets: examples as rows of one tensor, seeded shuffling, batches, validation splits.

import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { allocData } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';

/** Examples as rows: inputs [N, …] and labels [N, …], row i of each belonging together. */
export interface Dataset {
  readonly inputs: Tensor;
  readonly labels: Tensor;
}

export function datasetSize(ds: Dataset): number {
  return ds.inputs.type.shape[0]!;
}

/** Rows `rows` of a tensor, in that order, as a new tensor. */
export function takeRows(t: Tensor, rows: ArrayLike<number>): Tensor {
  const rowSize = numel(t.type.shape.slice(1));
  const data = allocData(t.type.dtype, rows.length * rowSize);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    data.set(t.data.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
  }
  return { type: { dtype: t.type.dtype, shape: [rows.length, ...t.type.shape.slice(1)] }, data };
}

function range(start: number, end: number): Int32Array {
  return Int32Array.from({ length: end - start }, (_, i) => start + i);
}

export function subset(ds: Dataset, rows: ArrayLike<number>): Dataset {
  return { inputs: takeRows(ds.inputs, rows), labels: takeRows(ds.labels, rows) };
}

/** The order of one epoch: a Fisher–Yates shuffle from stream `shuffle/<epoch>` of the seed. */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const order = range(0, n);
  const rng = rngFor(seed, `shuffle/${epoch}`);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}

/** The number of batches of an epoch; the last one may be partial. */
export function batchCount(n: number, batch: number): number {
  return Math.ceil(n / batch);
}

/** Batch `k` of an epoch in `order`: full batches, then one partial batch with the remainder. */
export function batchAt(ds: Dataset, order: Int32Array, batch: number, k: number): Dataset {
  const rows = order.subarray(k * batch, Math.min((k + 1) * batch, order.length));
  return subset(ds, rows);
}

/** Holds out the last `fraction` of a seeded permutation for validation. */
export function splitValidation(ds: Dataset, fraction: number, seed: number): { train: Dataset; validation: Dataset | null } {
  const n = datasetSize(ds);
  const held = Math.floor(n * fraction);
  if (held === 0) return { train: ds, validation: null };
  const order = epochOrder(n, seed, -1);
  return { train: subset(ds, order.subarray(0, n - held)), validation: subset(ds, order.subarray(n - held)) };
}

/** MNIST-style images (integers 0–255, [N, H, W]) as f32 [N, 1, H, W] scaled to [0, 1]. */
export function imagesToInputs(images: Tensor): Tensor {
  const [n, h, w] = images.type.shape as [number, number, number];
  const data = new Float32Array(images.data.length);
  for (let i = 0; i < data.length; i++) data[i] = images.data[i]! / 255;
  return { type: { dtype: 'f32', shape: [n, 1, h, w] }, data };
}
