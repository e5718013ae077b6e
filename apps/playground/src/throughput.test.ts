import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@elbo/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { measureBrowserThroughput } from './throughput';

/** Seeded uniform [0, 1] images (the page fetches the MNIST subset, which a unit test does not serve). */
const uniform = (batchSize: number) => ({
  size: batchSize * 100,
  batchSize,
  *batches(epoch: number) {
    for (let i = 0; i < 100; i++) yield { x: tf.randomUniform([batchSize, 784], 0, 1, 'float32', epoch * 1000 + i) };
  },
});

beforeAll(async () => {
  await useBackend('cpu');
});

describe('measureBrowserThroughput (cpu in Node)', () => {
  it('times fit steps of the throughput MLP VAE (createModel), reports consistent numbers and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const r = await measureBrowserThroughput({ model: 'mlp', steps: 2, warmup: 1, batchSize: 8, source: uniform });
    expect(tf.memory().numTensors).toBe(before);
    expect(r).toMatchObject({ model: 'mlp', backend: 'cpu', batchSize: 8, steps: 2 });
    expect(r.samplesPerSec).toBeCloseTo((2 * 8 * 1000) / (r.msPerStep * 2), 6);
    expect(r.msPerStep).toBeGreaterThan(0);
    // Negative ELBO of an untrained Bernoulli decoder on uniform inputs: about 784 ln 2 = 543 nats, plus a small KL.
    expect(r.finalLoss).toBeGreaterThan(450);
    expect(r.finalLoss).toBeLessThan(650);
  });

  it('names a bad argument', async () => {
    await expect(measureBrowserThroughput({ model: 'rnn' as never })).rejects.toThrow(/model must be 'mlp' or 'conv', got "rnn"/);
    await expect(measureBrowserThroughput({ model: 'mlp', steps: 0 })).rejects.toThrow(/steps must be an integer >= 1, got 0/);
  });
});
