import { type Batch, type BatchSource, fit, loadModel, saveModel } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHvae, HierarchicalVae } from './index';
import { loadMnistSlice } from './test-mnist';

const CONFIG = { variant: 'hvae', inputShape: [784], latentDims: [6, 4, 2], hiddenDims: [48, 24, 12], blockDepth: 1, seed: 5 };

let pixels: Float32Array;
let dir: string;

beforeAll(() => {
  pixels = loadMnistSlice('train', 64, 100).pixels.map((v) => (v > 0.5 ? 1 : 0));
  dir = mkdtempSync(join(tmpdir(), 'hvae-io-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 64 fixed binarised MNIST images in batches of 16 (the trainer's BatchSource contract). */
const source: BatchSource = {
  size: 64,
  batchSize: 16,
  *batches(): Iterable<Batch> {
    for (let s = 0; s < 64; s += 16) yield { x: tf.tensor2d(pixels.subarray(s * 784, (s + 16) * 784), [16, 784]) };
  },
};

describe('HierarchicalVae with core io and the trainer', () => {
  it('trains with fit (loss goes down, no tensors left) and saveModel/loadModel round-trips to identical outputs', async () => {
    const model = createHvae(CONFIG);
    const before = tf.memory().numTensors;
    const result = await fit(model, source, { epochs: 6, learningRate: 3e-3, progress: false });
    expect(tf.memory().numTensors).toBe(before);
    const losses = result.history.map((h) => h.train.loss);
    expect(Object.keys(result.history[0].train)).toEqual(expect.arrayContaining(['kl_1', 'kl_2', 'kl_3', 'reconstruction']));
    expect(losses).toHaveLength(6);
    expect(losses.at(-1)!).toBeLessThan(losses[0] - 20);

    const path = join(dir, 'model');
    await saveModel(model, path);
    const loaded = (await loadModel(path)) as HierarchicalVae;
    expect(loaded).toBeInstanceOf(HierarchicalVae);
    expect(loaded.config).toEqual(model.config);
    const x = tf.tensor2d(pixels.subarray(0, 8 * 784), [8, 784]);
    loaded.rng.setState(model.rng.getState());
    const a = tf.tidy(() => [model.reconstruct(x).dataSync().slice(), model.sample(3).dataSync().slice(), model.importanceLogWeights(x, 2).dataSync().slice()]);
    const b = tf.tidy(() => [loaded.reconstruct(x).dataSync().slice(), loaded.sample(3).dataSync().slice(), loaded.importanceLogWeights(x, 2).dataSync().slice()]);
    for (let i = 0; i < 3; i++) expect(Array.from(b[i])).toEqual(Array.from(a[i]));
    x.dispose();
    model.dispose();
    loaded.dispose();
  });

  it("fit's klWeight option overrides the config's schedule, and the terms report the weight used", async () => {
    const model = createHvae({ ...CONFIG, klWeight: { type: 'linear', annealSteps: 1000, weight: 2 } });
    const result = await fit(model, source, { epochs: 1, learningRate: 1e-3, klWeight: 0.25, progress: false });
    expect(result.history[0].train.klWeight).toBeCloseTo(0.25, 6);
    model.dispose();
  });
});
