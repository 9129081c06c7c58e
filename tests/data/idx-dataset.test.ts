// IDX decoding (plain and gzipped), the bundled Fashion-MNIST subset, shuffling, batching and splits.

import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { batchAt, batchCount, datasetSize, epochOrder, splitValidation } from '../../runtime/data/dataset.js';
import { loadFashionMnist } from '../../runtime/data/fashion-mnist.js';
import { decodeIdx, IdxError, readIdx } from '../../runtime/data/idx.js';
import { readBytes } from '../../cli/io.js';

/** u8 IDX bytes: header [0, 0, 0x08, rank], big-endian extents, values. */
function idx(shape: number[], values: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + values.length);
  out.set([0, 0, 0x08, shape.length]);
  const v = new DataView(out.buffer);
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  out.set(values, 4 + 4 * shape.length);
  return out;
}

describe('IDX', () => {
  it('decodes u8 data, plain or gzipped', async () => {
    const bytes = idx([2, 3], [1, 2, 3, 4, 5, 255]);
    expect(Array.from(decodeIdx(bytes, 'a').data)).toEqual([1, 2, 3, 4, 5, 255]);
    const t = await readIdx(new Uint8Array(gzipSync(bytes)), 'a.gz');
    expect(t.type).toEqual({ dtype: 'i32', shape: [2, 3] });
  });

  it('rejects malformed files with the file name and the reason', async () => {
    expect(() => decodeIdx(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 0]), 'x')).toThrow('x: not a valid IDX file: the first two bytes must be zero');
    expect(() => decodeIdx(new Uint8Array([0, 0, 0x42, 1, 0, 0, 0, 0]), 'x')).toThrow('unknown type code 0x42');
    expect(() => decodeIdx(idx([2, 3], [1, 2, 3]), 'x')).toThrow('expected 18 bytes');
    expect(() => decodeIdx(idx([65536, 65536, 256], []), 'x')).toThrow('too large');
    await expect(readIdx(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), 'x.gz')).rejects.toThrow(IdxError);
  });

  it('loads the bundled subset: 4,000 training and 1,000 test images scaled to [0, 1]', async () => {
    const { train, test } = await loadFashionMnist(readBytes, 'data/fashion-mnist-subset');
    expect(train.inputs.type.shape).toEqual([4000, 1, 28, 28]);
    expect(test.labels.type).toEqual({ dtype: 'i32', shape: [1000] });
    expect(Math.max(...train.inputs.data.subarray(0, 784))).toBeLessThanOrEqual(1);
    expect(new Set(test.labels.data).size).toBe(10);
  });
});

describe('batches', () => {
  const ds = { inputs: tensorFrom('f32', [10, 2], Array.from({ length: 20 }, (_, i) => i)), labels: tensorFrom('i32', [10], Array.from({ length: 10 }, (_, i) => i)) };

  it('shuffles each epoch into a seeded permutation', () => {
    const a = epochOrder(10, 3, 0);
    expect([...a].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(epochOrder(10, 3, 0))).toEqual(Array.from(a));
    expect(Array.from(epochOrder(10, 3, 1))).not.toEqual(Array.from(a));
    expect(Array.from(epochOrder(10, 4, 0))).not.toEqual(Array.from(a));
  });

  it('covers every example once per epoch, ending with a partial batch', () => {
    const order = epochOrder(10, 1, 0);
    expect(batchCount(10, 4)).toBe(3);
    const seen = [0, 1, 2].flatMap((k) => Array.from(batchAt(ds, order, 4, k).labels.data));
    expect(datasetSize(batchAt(ds, order, 4, 2))).toBe(2);
    expect(seen.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const b = batchAt(ds, order, 4, 0);
    // Inputs and labels stay paired: row r's inputs are [2r, 2r + 1].
    Array.from(b.labels.data).forEach((r, i) => expect(Array.from(b.inputs.data.subarray(2 * i, 2 * i + 2))).toEqual([2 * r, 2 * r + 1]));
  });

  it('splits a validation set off disjointly', () => {
    const { train, validation } = splitValidation(ds, 0.3, 5);
    expect(datasetSize(validation!)).toBe(3);
    const all = [...train.labels.data, ...validation!.labels.data].sort((x, y) => x - y);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(splitValidation(ds, 0, 5).validation).toBeNull();
  });
});
