import * as tf from '@tensorflow/tfjs-core';
import { Rng, useBackend } from '@elbo/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ByteBatchSource } from './byte-batch-source';
import type { MnistSubset } from './mnist-asset';
import { Playground } from './playground';

/** Random 8x8 "images" with labels, from a seeded Rng. */
function synthetic(train: number, test: number): MnistSubset {
  const rng = new Rng(3);
  const split = (count: number) => {
    const images = new Uint8Array(count * 64);
    for (let i = 0; i < images.length; i++) images[i] = rng.next() < 0.3 ? 255 : 0;
    const labels = new Uint8Array(count).map((_, i) => i % 10);
    return { images, labels, count };
  };
  return { rows: 8, cols: 8, train: split(train), test: split(test) };
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe('ByteBatchSource', () => {
  it('serves every example once per epoch as grey levels / 255, in a seeded order', () => {
    const data = synthetic(10, 2);
    const source = new ByteBatchSource(data.train, 64, 4, 1);
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const sizes: number[] = [];
    for (const batch of source.batches(0)) {
      const x = batch.x.dataSync();
      const y = batch.y!.dataSync();
      sizes.push(batch.x.shape[0]);
      for (let i = 0; i < batch.x.shape[0]; i++) {
        // Find the example by its label (i % 10 is unique for 10 examples) and compare its pixels.
        const k = y[i];
        seen.push(k);
        for (let j = 0; j < 64; j++) expect(x[i * 64 + j]).toBe(data.train.images[k * 64 + j] / 255);
      }
      tf.dispose([batch.x, batch.y!]);
    }
    expect(sizes).toEqual([4, 4, 2]);
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const again = [...source.batches(0)].flatMap((b) => {
      const y = [...b.y!.dataSync()];
      tf.dispose([b.x, b.y!]);
      return y;
    });
    expect(again).toEqual(seen);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a bad batch size or a mismatched buffer', () => {
    const data = synthetic(4, 1);
    expect(() => new ByteBatchSource(data.train, 64, 0, 0)).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => new ByteBatchSource(data.train, 63, 2, 0)).toThrow(/do not hold 4 images of 63 pixels/);
  });
});

describe('Playground (cpu in Node)', () => {
  it('trains with a falling loss, renders views of the right sizes and leaks no tensors', async () => {
    const data = synthetic(256, 20);
    const pg = new Playground(data, { latentDim: 2, hiddenDim: 32, mlpLayers: 1, seed: 0 });
    const before = tf.memory().numTensors;
    const steps: number[] = [];
    const result = await pg.train({ steps: 40, batchSize: 32, learningRate: 3e-3, onStep: (_l, s) => void steps.push(s) });
    expect(result.steps).toBe(40);
    expect(steps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(pg.losses).toHaveLength(40);
    expect(pg.stepMs).toHaveLength(40);
    const first = pg.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = pg.losses.slice(-5).reduce((a, b) => a + b) / 5;
    // Untrained: about 64 ln 2 = 44 nats per 8x8 image; the pixels are 30% on, so the marginal entropy is 64 * 0.61 = 39 nats.
    expect(first).toBeGreaterThan(40);
    expect(last).toBeLessThan(first - 2);
    const v = await pg.views({ samples: 6, reconstructions: 8, span: 5, range: 2 });
    expect(v.samples).toHaveLength(6 * 64);
    expect(v.reconstructions).toHaveLength(16 * 64);
    expect(v.interpolation).toHaveLength(10 * 64);
    expect(v.manifold).toHaveLength(25 * 64);
    // The reconstruction grid's first row is the test images themselves.
    expect([...v.reconstructions.subarray(0, 64)]).toEqual([...data.test.images.subarray(0, 64)].map((b) => b / 255));
    // The manifold's centre cell is z = (0, 0): the same digit decodeAt(0, 0) draws.
    const centre = await pg.decodeAt(0, 0);
    const cell = v.manifold.subarray(12 * 64, 13 * 64);
    for (let j = 0; j < 64; j++) expect(cell[j]).toBeCloseTo(centre[j], 5);
    for (const arr of Object.values(v)) expect(arr.every((p: number) => p >= 0 && p <= 1)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    pg.model.dispose();
  });

  it('refuses bad settings with the field named', async () => {
    const data = synthetic(8, 2);
    expect(() => new Playground(data, { latentDim: 0, hiddenDim: 8, mlpLayers: 1, seed: 0 })).toThrow(/latentDim must be a positive integer, got 0/);
    const pg = new Playground(data, { latentDim: 2, hiddenDim: 8, mlpLayers: 1, seed: 0 });
    await expect(pg.train({ steps: 0 })).rejects.toThrow(/steps must be a positive integer, got 0/);
    pg.model.dispose();
  });
});
