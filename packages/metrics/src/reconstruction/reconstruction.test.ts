import * as tf from '@tensorflow/tfjs-core';
import '@elbo/core';
import { describe, expect, it } from 'vitest';
import { parkMiller } from '../test-helpers';
import { lpips, lpipsTensor } from './lpips';
import { l1, mse, psnr } from './pixel-errors';
import { ssim, ssimPerImage } from './ssim';

describe('pixel errors', () => {
  it('MSE, L1 and PSNR match hand-computed values and are 0 / 0 / Infinity for identical images', () => {
    const before = tf.memory().numTensors;
    const a = tf.tensor2d([[0, 0.5], [1, 0.25]]);
    const b = tf.tensor2d([[0.1, 0.5], [0.6, 0.25]]);
    // errors 0.1, 0, 0.4, 0 -> MSE (0.01 + 0.16) / 4, L1 0.5 / 4
    expect(mse(a, b)).toBeCloseTo(0.17 / 4, 7);
    expect(l1(a, b)).toBeCloseTo(0.5 / 4, 7);
    expect(mse(a, a)).toBe(0);
    expect(l1(a, a)).toBe(0);
    expect(psnr(a, b, { dataRange: 1 })).toBeCloseTo(10 * Math.log10(1 / 0.0425), 5);
    // per-example MSEs 0.005 and 0.08
    expect(psnr(a, b, { dataRange: 1, reduction: 'mean' })).toBeCloseTo((10 * Math.log10(1 / 0.005) + 10 * Math.log10(1 / 0.08)) / 2, 4);
    expect(psnr(a, a, { dataRange: 1 })).toBe(Infinity);
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects mismatched shapes and a missing data range, naming them', () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([3, 2]);
    expect(() => mse(a, b)).toThrow(/same shape/);
    expect(() => psnr(a, a, { dataRange: 0 })).toThrow(/dataRange/);
    tf.dispose([a, b]);
  });
});

describe('ssim', () => {
  it('is 1 for identical images and below 1 otherwise', () => {
    const a = tf.tensor(Array.from(parkMiller(1, 2 * 16 * 16)), [2, 16, 16, 1]);
    expect(ssim(a, a, { dataRange: 1 })).toBeCloseTo(1, 12);
    const b = tf.tidy(() => tf.mul(a, 0.5));
    expect(ssim(a, b, { dataRange: 1 })).toBeLessThan(0.99);
    tf.dispose([a, b]);
  });

  it("matches scikit-image's structural_similarity (gaussian_weights, sigma 1.5, use_sample_covariance=False) to 1e-4", () => {
    // Reference values from scripts/reference.py (skimage 0.19.3).
    const pm1 = parkMiller(1, 32 * 32);
    const pm2 = parkMiller(2, 32 * 32);
    const a = tf.tensor(Array.from(pm1), [32, 32]);
    const b = tf.tensor(Array.from(pm1, (v, i) => Math.min(1, Math.max(0, v + 0.2 * (pm2[i] - 0.5)))), [32, 32]);
    expect(Math.abs(ssim(a, b, { dataRange: 1 }) - 0.9831415628230312)).toBeLessThan(1e-4);

    const s1 = new Float64Array(28 * 40);
    for (let i = 0; i < 28; i++) for (let j = 0; j < 40; j++) s1[i * 40 + j] = ((Math.floor(i / 4) + Math.floor(j / 4)) % 2) * 0.8 + (0.1 * i) / 27;
    const s2 = new Float64Array(28 * 40);
    for (let i = 0; i < 28; i++) for (let j = 0; j < 40; j++) s2[i * 40 + j] = s1[i * 40 + ((j + 39) % 40)] * 0.9 + 0.05; // np.roll(s1, 1, axis=1)
    const ta = tf.tensor(Array.from(s1), [1, 28, 40]);
    const tb = tf.tensor(Array.from(s2), [1, 28, 40]);
    expect(Math.abs(ssim(ta, tb, { dataRange: 1 }) - 0.48436168337139607)).toBeLessThan(1e-4);

    const c1 = parkMiller(3, 20 * 24 * 3).map((v) => v * 255);
    const c2 = parkMiller(4, 20 * 24 * 3).map((v, i) => v * 60 + 0.7 * c1[i]);
    const ca = tf.tensor(Array.from(c1), [1, 20, 24, 3]);
    const cb = tf.tensor(Array.from(c2), [1, 20, 24, 3]);
    expect(Math.abs(ssimPerImage(ca, cb, { dataRange: 255 })[0] - 0.9024805094889974)).toBeLessThan(1e-4);
    tf.dispose([a, b, ta, tb, ca, cb]);
  });

  it('rejects images smaller than the window and a bad data range', () => {
    const a = tf.zeros([1, 8, 8, 1]);
    expect(() => ssim(a, a, { dataRange: 1 })).toThrow(/at least 11x11/);
    expect(() => ssim(a, a, { dataRange: -1 })).toThrow(/dataRange/);
    a.dispose();
  });
});

describe('lpips formula', () => {
  it('matches a hand-computed distance with an identity backbone and linear heads, and leaks nothing', () => {
    const before = tf.memory().numTensors;
    // One 1x2 image with 2 channels per side: pixel 0 features (3,4) vs (1,0); pixel 1 (0,2) vs (0,5).
    const x = tf.tensor4d([[[[3, 4], [0, 2]]]]);
    const y = tf.tensor4d([[[[1, 0], [0, 5]]]]);
    const backbone = (t: tf.Tensor4D) => [t];
    // normalised: (0.6, 0.8) vs (1, 0): squared diffs (0.16, 0.64); pixel 1: (0,1) vs (0,1): 0.
    expect(lpips(x, y, { backbone })[0]).toBeCloseTo((0.16 + 0.64 + 0) / 2, 6);
    expect(lpips(x, y, { backbone, heads: [[2, 0.5]] })[0]).toBeCloseTo((2 * 0.16 + 0.5 * 0.64) / 2, 6);
    expect(lpips(x, x, { backbone })[0]).toBeCloseTo(0, 9);
    // Two layers add up.
    expect(lpips(x, y, { backbone: (t) => [t, t] })[0]).toBeCloseTo(0.8, 6);
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is differentiable and checks its heads', () => {
    const x = tf.tensor4d([[[[3, 4], [0, 2]]]]);
    const y = tf.tensor4d([[[[1, 0], [0, 5]]]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(lpipsTensor(t as tf.Tensor4D, y, { backbone: (u) => [u] })))(x);
    expect(Array.from(g.dataSync()).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(() => lpips(x, y, { backbone: (u) => [u], heads: [[1, 2, 3]] })).toThrow(/heads\[0\] must have 2 weights/);
    tf.dispose([x, y, g]);
  });
});
