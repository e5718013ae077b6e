import * as tf from '@tensorflow/tfjs-core';
import '@elbo/core';
import type { GenerativeModel } from '@elbo/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractorStatistics, fid, inceptionScore } from '../generation/fid';
import { precisionRecallOfImages } from '../generation/precision-recall';
import { modelSamples } from '../generation/sources';
import { mnistTestSlice, parkMiller } from '../test-helpers';
import type { FeatureExtractor } from './feature-extractor';
import { mnistClassifier } from './load-mnist-classifier';

// These tests run the shipped classifier over ~2,000 real images. The wasm backend
// (a dev dependency) does that ~3x faster than tfjs-backend-cpu; the layers' equality
// with tf.conv2d / tf.maxPool on the cpu backend is tested in features.test.ts.
beforeAll(async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
});

describe('MnistClassifier (shipped weights)', () => {
  it('the shipped weights classify real MNIST test digits (first 1000) at >= 98% and report >= 99% on the full test set', async () => {
    const clf = await mnistClassifier();
    const { images, labels } = await mnistTestSlice(1000);
    const x = tf.tensor4d(images, [1000, 28, 28, 1]);
    const before = tf.memory().numTensors;
    expect(clf.metadata.testAccuracy).toBeGreaterThanOrEqual(0.99);
    const pred = clf.classify(x);
    const p = pred.dataSync();
    let correct = 0;
    for (let i = 0; i < 1000; i++) if (p[i] === labels[i]) correct++;
    pred.dispose();
    expect(correct / 1000).toBeGreaterThanOrEqual(0.98);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    clf.dispose();
  });
});

describe('FID (MNIST classifier) and Inception Score', () => {
  it('two halves of real MNIST are close, MNIST vs noise is far; IS of real digits is high, of one repeated digit about 1', async () => {
    const clf: FeatureExtractor & { dispose(): void } = await mnistClassifier();
    const { images } = await mnistTestSlice(600, 1000);
    const a = tf.tensor4d(images.subarray(0, 300 * 784), [300, 28, 28, 1]);
    const b = tf.tensor4d(images.subarray(300 * 784), [300, 28, 28, 1]);
    const noise = tf.tensor4d(Float32Array.from(parkMiller(15, 300 * 784)), [300, 28, 28, 1]);
    const before = tf.memory().numTensors;
    const statsA = extractorStatistics(a, { extractor: clf });
    const same = fid(statsA, b, { extractor: clf, batchSize: 200 });
    const far = fid(statsA, noise, { extractor: clf, batchSize: 200 });
    expect(same).toBeGreaterThan(0);
    // Measured with the shipped weights: 11.4 (300 vs 300 real digits; small-sample bias in 128-d) and 470.
    expect(far).toBeGreaterThan(20 * same);
    const is = inceptionScore(a, { extractor: clf, splits: 3 });
    expect(is.mean).toBeGreaterThan(7);
    const repeated = tf.tidy(() => tf.tile(tf.slice(a, 0, 1), [40, 1, 1, 1]));
    expect(inceptionScore(repeated, { extractor: clf, splits: 2 }).mean).toBeCloseTo(1, 5);
    repeated.dispose();
    // A model's samples as a lazily drawn BatchSource: a stand-in model whose successive "samples" are the rows of b, in order.
    let drawn = 0;
    const model = { sample: (n: number) => tf.slice(b, (drawn += n) - n, n) } as unknown as GenerativeModel;
    expect(fid(statsA, modelSamples(model, 300, 100), { extractor: clf })).toBeCloseTo(same, 6);
    // Real vs real: high precision and recall (measured 0.91 / 0.87). Uniform noise maps to one tight cluster of
    // features (which happens to sit inside a real point's ball, precision 1.0 measured): a collapsed set, so recall is 0.
    const pr = precisionRecallOfImages(a, b, { extractor: clf });
    expect(pr.precision).toBeGreaterThan(0.8);
    expect(pr.recall).toBeGreaterThan(0.8);
    const prNoise = precisionRecallOfImages(a, noise, { extractor: clf });
    expect(prNoise.recall).toBeLessThan(0.05);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, noise]);
    clf.dispose();
  });
});
