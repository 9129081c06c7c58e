// Summaries of tensors for people: shape, a few values, statistics and a checksum.

import type { Tensor } from '../compiler/ir/tensor.js';
import { formatType } from '../compiler/ir/types.js';

/** FNV-1a (32-bit) over the tensor's little-endian bytes: equal checksums, equal bits. */
export function checksum(t: Tensor): string {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(6);
}

/** Two lines: `name: f32[2,10]  sum=… min=… max=…  fnv1a=…` and the first values. */
export function describeTensor(name: string, t: Tensor, shown = 8): string {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const head = Array.from(t.data.subarray(0, shown), fmt).join(', ');
  const more = t.data.length > shown ? `, … (${t.data.length} values)` : '';
  const stats = t.data.length ? `sum=${fmt(sum)} min=${fmt(min)} max=${fmt(max)}` : 'empty';
  return `${name}: ${formatType(t.type)}  ${stats}  fnv1a=${checksum(t)}\n  [${head}${more}]`;
}
