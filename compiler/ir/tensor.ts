// Dense host tensors: a type and a typed array in row-major order (bool stored as 0/1 bytes).

import type { DType, Shape, TensorType } from './types.js';
import { numel } from './types.js';

export type TensorData = Float32Array | Int32Array | Uint8Array;

export interface Tensor {
  readonly type: TensorType;
  readonly data: TensorData;
}

export function allocData(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'f32':
      return new Float32Array(n);
    case 'i32':
      return new Int32Array(n);
    case 'bool':
      return new Uint8Array(n);
    default:
      return dtype satisfies never;
  }
}

/** A zero-filled tensor of the given type. */
export function zerosTensor(type: TensorType): Tensor {
  return { type, data: allocData(type.dtype, numel(type.shape)) };
}

/** A tensor from values (copied and converted to the dtype's array). */
export function tensorFrom(dtype: DType, shape: Shape, values: ArrayLike<number>): Tensor {
  const n = numel(shape);
  if (values.length !== n) {
    throw new Error(`internal: ${values.length} values for shape [${shape.join(',')}] (${n} elements)`);
  }
  const data = allocData(dtype, n);
  for (let i = 0; i < n; i++) data[i] = values[i]!;
  return { type: { dtype, shape: [...shape] }, data };
}
