import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type BatchSource, fit, loadModel, saveModel } from '@elbo/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cvae, createCvae } from './index';
import { mnistSlice } from './test-support/mnist-slice';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

/** A labelled MNIST slice as a BatchSource (fixed order; tensors made lazily, owned by the consumer). */
function slice(count: number, batchSize: number): BatchSource {
  const { images, labels } = mnistSlice(count);
  return {
    size: count,
    batchSize,
    *batches(): Iterable<Batch> {
      for (let s = 0; s < count; s += batchSize) {
        const n = Math.min(batchSize, count - s);
        yield { x: tf.tensor2d(images.subarray(s * 784, (s + n) * 784), [n, 784]), y: tf.tensor1d(labels.subarray(s, s + n), 'int32') };
      }
    },
  };
}

describe('trainer and checkpoints', () => {
  it("trains with core's fit (labels from batch.y), then saveModel/loadModel round-trips to identical outputs", async () => {
    const m = createCvae({ inputShape: [784], numClasses: 10, latentDim: 4, hiddenDims: [32], conditionEmbedding: 4, seed: 5 });
    const result = await fit(m, slice(96, 32), { epochs: 4, learningRate: 3e-3, progress: false });
    expect(result.history).toHaveLength(4);
    const losses = result.history.map((h) => h.train.loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[3]).toBeLessThan(losses[0]);
    expect(Object.keys(result.history[0].train)).toEqual(expect.arrayContaining(['loss', 'reconstruction', 'kl', 'elbo']));

    const dir = mkdtempSync(join(tmpdir(), 'elbo-cvae-'));
    try {
      await saveModel(m, dir);
      const loaded = (await loadModel(dir)) as Cvae;
      expect(loaded).toBeInstanceOf(Cvae);
      expect(loaded.config).toEqual(m.config);
      const { images, labels } = mnistSlice(6, 't10k');
      const x = tf.tensor2d(images, [6, 784]);
      const y = tf.tensor1d(labels, 'int32');
      const [a, b] = [m, loaded].map((model) => {
        const r = model.reconstruct(x, y);
        const v = r.dataSync().slice();
        r.dispose();
        return v;
      });
      expect(Array.from(b)).toEqual(Array.from(a));
      // Same weights and same RNG state: identical samples too.
      loaded.rng.setState(m.rng.getState());
      const [sa, sb] = [m, loaded].map((model) => {
        const s = model.sample(4, [0, 3, 6, 9]);
        const v = s.dataSync().slice();
        s.dispose();
        return v;
      });
      expect(Array.from(sb)).toEqual(Array.from(sa));
      tf.dispose([x, y]);
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    m.dispose();
  });
});
