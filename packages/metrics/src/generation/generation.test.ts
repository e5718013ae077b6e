import * as tf from '@tensorflow/tfjs-core';
import '@elbo/core';
import { describe, expect, it } from 'vitest';
import { parkMiller } from '../test-helpers';
import { fid, inceptionScore, inceptionScoreFromProbabilities } from './fid';
import { type FeatureStatistics, featureStatistics, frechetDistance } from './frechet';
import { precisionRecall } from './precision-recall';

function gaussian(mean: number[], cov: number[][]): FeatureStatistics {
  return { count: 100, dim: mean.length, mean: Float64Array.from(mean), covariance: Float64Array.from(cov.flat()) };
}

describe('frechetDistance', () => {
  it('is 0 for identical Gaussians', () => {
    const g = gaussian([1, 2, 3], [[2, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 0.7]]);
    expect(frechetDistance(g, g)).toBeCloseTo(0, 9);
  });

  it('matches the closed form |mu1-mu2|^2 + sum (sigma1 - sigma2)^2 for commuting (diagonal) covariances', () => {
    const a = gaussian([0, 1], [[1, 0], [0, 9]]);
    const b = gaussian([1, 3], [[4, 0], [0, 1]]);
    // 1 + 4 + (1-2)^2 + (3-1)^2 = 10
    expect(frechetDistance(a, b)).toBeCloseTo(10, 9);
  });

  it("agrees with scipy's sqrtm-based formula to 1e-3 relative", () => {
    // Reference values from scripts/reference.py (scipy 1.10.1).
    const d = 8;
    const A = parkMiller(5, d * d).map((v) => v - 0.5);
    const B = parkMiller(6, d * d).map((v) => v - 0.5);
    const cov = (M: Float64Array, eps: number) =>
      Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => {
        let s = i === j ? eps : 0;
        for (let k = 0; k < d; k++) s += M[i * d + k] * M[j * d + k];
        return s;
      }));
    const g1 = gaussian(Array.from(parkMiller(7, d)), cov(A, 0.1));
    const g2 = gaussian(Array.from(parkMiller(8, d), (v) => 2 * v), cov(B, 0.05));
    const ref = 5.109063132838402;
    expect(Math.abs(frechetDistance(g1, g2) - ref) / ref).toBeLessThan(1e-3);

    // From features, with np.cov (ddof 1) statistics.
    const x = tf.tensor2d(Array.from(parkMiller(9, 200 * 6)), [200, 6]);
    const y = tf.tensor2d(Array.from(parkMiller(10, 150 * 6), (v) => v * v + 0.1), [150, 6]);
    const refF = 0.029070259658589448;
    expect(Math.abs(frechetDistance(featureStatistics(x), featureStatistics(y)) - refF) / refF).toBeLessThan(1e-3);
    // fid() with an identity extractor runs batched over the same data and gives the same number.
    const before = tf.memory().numTensors;
    const extractor = { name: 'identity', features: (t: tf.Tensor) => tf.clone(t) as tf.Tensor2D };
    expect(Math.abs(fid(x, y, { extractor, batchSize: 64 }) - refF) / refF).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('needs an extractor', () => {
    const x = tf.zeros([4, 2]);
    expect(() => fid(x, x, {} as never)).toThrow(/options.extractor/);
    x.dispose();
  });
});

describe('inceptionScore', () => {
  it('is 1 for identical predictions and the number of classes for confident, balanced ones', () => {
    const uniform = new Float64Array(40).fill(0.1);
    expect(inceptionScoreFromProbabilities(uniform, 10, 1).mean).toBeCloseTo(1, 12);
    const oneHot = new Float64Array(20 * 10);
    for (let i = 0; i < 20; i++) oneHot[i * 10 + (i % 10)] = 1;
    const r = inceptionScoreFromProbabilities(oneHot, 10, 2);
    expect(r.mean).toBeCloseTo(10, 10);
    expect(r.std).toBeCloseTo(0, 10);
  });

  it('matches a hand computation for two classes and runs batched without leaks', () => {
    // p(y|x) = (0.9, 0.1) and (0.1, 0.9): p(y) = (0.5, 0.5), KL = 0.9 ln 1.8 + 0.1 ln 0.2 for both.
    const kl = 0.9 * Math.log(1.8) + 0.1 * Math.log(0.2);
    const logits = tf.tensor2d([[Math.log(9), 0], [0, Math.log(9)]]);
    const extractor = { name: 'softmax', features: (t: tf.Tensor) => tf.clone(t) as tf.Tensor2D, probabilities: (t: tf.Tensor) => tf.softmax(t) as tf.Tensor2D };
    const before = tf.memory().numTensors;
    expect(inceptionScore(logits, { extractor, splits: 1, batchSize: 1 }).mean).toBeCloseTo(Math.exp(kl), 5);
    expect(tf.memory().numTensors).toBe(before);
    logits.dispose();
  });
});

describe('precisionRecall', () => {
  it('matches a hand case (k = 1)', () => {
    // Real points on a line at 0, 1, 2, 3: 1-NN radius 1 each, so the real manifold is [-1, 4].
    const real: tf.Tensor2D = tf.tensor2d([[0], [1], [2], [3]]);
    // Generated: two inside the real manifold ([0.5], [3.9]), two outside ([10], [11]).
    // Their 1-NN radii: 0.5 and 3.9 are each other's nearest (3.4); 10 and 11 likewise (1).
    const gen = tf.tensor2d([[0.5], [3.9], [10], [11]]);
    const before = tf.memory().numTensors;
    const { precision, recall } = precisionRecall(real, gen, { k: 1, batchSize: 3 });
    expect(precision).toBe(0.5);
    // Generated balls: B(0.5, 3.4) covers 0, 1, 2, 3; so recall = 1.
    expect(recall).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    // Identical sets: precision = recall = 1.
    expect(precisionRecall(real, real, { k: 3 })).toEqual({ precision: 1, recall: 1 });
    tf.dispose([real, gen]);
  });

  it('rejects sets no larger than k', () => {
    const a = tf.zeros([3, 2]) as tf.Tensor2D;
    expect(() => precisionRecall(a, a, { k: 3 })).toThrow(/more than k = 3/);
    a.dispose();
  });
});
