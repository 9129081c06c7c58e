// A tiny MNIST-format data directory for tests: class c lights a band of image rows, so a few steps learn it.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { rngFor } from '../../compiler/ir/random.js';

function idx(shape: number[], values: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head.set([0, 0, 0x08, shape.length]);
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([head, values]));
}

/** Writes `train` and `t10k` IDX files of the given sizes into `dir` (created). */
export function writeTinyData(dir: string, trainCount: number, testCount: number): void {
  mkdirSync(dir, { recursive: true });
  const rng = rngFor(1, 'tiny-data');
  const write = (prefix: string, n: number) => {
    const labels = Uint8Array.from({ length: n }, () => rng.nextInt(10));
    const images = new Uint8Array(n * 784);
    labels.forEach((c, i) => {
      for (let p = 0; p < 784; p++) images[i * 784 + p] = (Math.floor(p / 28) >> 1) % 10 === c ? 200 + rng.nextInt(56) : rng.nextInt(60);
    });
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), idx([n, 28, 28], images));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), idx([n], labels));
  };
  write('train', trainCount);
  write('t10k', testCount);
}
