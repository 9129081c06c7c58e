// Fashion-MNIST (or any MNIST-format directory): the four IDX files as train and test datasets.

import type { Dataset } from './dataset.js';
import { imagesToInputs } from './dataset.js';
import { IdxError, readIdx } from './idx.js';

export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** Reads a file's bytes by path; the Node adapter passes fs, a browser passes fetch. */
export type ReadBytes = (path: string) => Uint8Array | Promise<Uint8Array>;

async function pair(read: ReadBytes, dir: string, images: string, labels: string): Promise<Dataset> {
  const imagesPath = `${dir}/${images}`;
  const labelsPath = `${dir}/${labels}`;
  const x = await readIdx(await read(imagesPath), imagesPath);
  const y = await readIdx(await read(labelsPath), labelsPath);
  if (x.type.dtype !== 'i32' || x.type.shape.length !== 3) throw new IdxError(imagesPath, `expected u8 images [N, H, W], got [${x.type.shape.join(', ')}]`);
  if (y.type.dtype !== 'i32' || y.type.shape.length !== 1) throw new IdxError(labelsPath, `expected u8 labels [N], got [${y.type.shape.join(', ')}]`);
  if (x.type.shape[0] !== y.type.shape[0]) throw new IdxError(labelsPath, `${y.type.shape[0]} labels for ${x.type.shape[0]} images in ${imagesPath}`);
  for (const v of y.data) if (v < 0 || v > 9) throw new IdxError(labelsPath, `label ${v} is outside 0..9`);
  return { inputs: imagesToInputs(x), labels: y };
}

export async function loadFashionMnist(read: ReadBytes, dir: string): Promise<{ train: Dataset; test: Dataset }> {
  const f = FASHION_MNIST_FILES;
  return { train: await pair(read, dir, f.trainImages, f.trainLabels), test: await pair(read, dir, f.testImages, f.testLabels) };
}
