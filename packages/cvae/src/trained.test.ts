import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createCvae } from './index';
import { mnistSlice } from './test-support/mnist-slice';

/**
 * After brief training on real MNIST, samples drawn for digit d must look like
 * d: the mean of the samples for d is nearer (in pixel L2) to the data's class
 * mean of d than to any other class mean. An untrained model's samples do not
 * pass this (checked below), so the test measures learned conditioning.
 */
describe('trained conditioning', () => {
  it('samples for digit d are nearest to the class-d mean image for at least 8 of 10 digits (9 measured)', { timeout: 240_000 }, () => {
    const n = 1000;
    const { images, labels } = mnistSlice(n);
    const classMeans = Array.from({ length: 10 }, () => new Float64Array(784));
    const counts = new Array(10).fill(0);
    for (let i = 0; i < n; i++) {
      counts[labels[i]]++;
      for (let p = 0; p < 784; p++) classMeans[labels[i]][p] += images[i * 784 + p];
    }
    classMeans.forEach((m, d) => m.forEach((_, p) => (m[p] /= counts[d])));
    const nearestClass = (img: ArrayLike<number>): number => {
      let best = -1;
      let bestD = Infinity;
      classMeans.forEach((m, d) => {
        let s = 0;
        for (let p = 0; p < 784; p++) s += (img[p] - m[p]) ** 2;
        if (s < bestD) [best, bestD] = [d, s];
      });
      return best;
    };
    // A 2-d latent has little room for the class, so the decoder learns to use the condition within a few epochs.
    const m = createCvae({ inputShape: [784], numClasses: 10, latentDim: 2, hiddenDims: [128], seed: 3 });
    const correctDigits = (): number => {
      let correct = 0;
      for (let d = 0; d < 10; d++) {
        const mean = tf.tidy(() => tf.mean(m.sample(32, d), 0).dataSync());
        if (nearestClass(mean) === d) correct++;
      }
      return correct;
    };
    const untrained = correctDigits();
    const opt = tf.train.adam(5e-3);
    const batch = 100;
    const start = tf.memory().numTensors;
    for (let epoch = 0; epoch < 6; epoch++) {
      for (let b = 0; b < n / batch; b++) {
        tf.tidy(() => {
          const x = tf.tensor2d(images.subarray(b * batch * 784, (b + 1) * batch * 784), [batch, 784]);
          const y = tf.tensor1d(labels.subarray(b * batch, (b + 1) * batch), 'int32');
          opt.minimize(() => m.loss({ x, y }).loss, false, m.parameters());
        });
      }
    }
    const trained = correctDigits();
    expect(untrained).toBeLessThan(5);
    expect(trained).toBeGreaterThanOrEqual(8);
    opt.dispose();
    m.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(start);
  });
});
