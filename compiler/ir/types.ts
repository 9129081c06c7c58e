// Tensor types of the graph IR: dtypes, static shapes, and checked shape arithmetic.

export const DTYPES = ['f32', 'i32', 'bool'] as const;
export type DType = (typeof DTYPES)[number];

export type Shape = readonly number[];

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** Largest element count of one tensor (2^28 f32 = 1 GiB); larger shapes are rejected. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;
/** Largest rank a tensor may have. */
export const MAX_RANK = 8;

export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

export function tensorType(dtype: DType, shape: Shape): TensorType {
  return { dtype, shape: [...shape] };
}

/** Element count, or null when it exceeds MAX_TENSOR_ELEMENTS (never overflows). */
export function checkedNumel(shape: Shape): number | null {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return null;
    n *= d;
    if (n > MAX_TENSOR_ELEMENTS) return null;
  }
  return n;
}

/** Element count of a shape already known to be valid. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function typesEqual(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && shapesEqual(a.shape, b.shape);
}

/** `f32[64,1,28,28]`, `f32[]` for a scalar. */
export function formatType(t: TensorType): string {
  return `${t.dtype}[${t.shape.join(',')}]`;
}

export function formatShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Normalizes a possibly negative axis against a rank; null when out of range. */
export function normalizeAxis(axis: number, rank: number): number | null {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : null;
}
