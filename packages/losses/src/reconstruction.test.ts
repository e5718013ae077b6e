import * as tf from '@tensorflow/tfjs-core';
import { Bernoulli, DiagonalGaussian } from '@elbo/core';
import { checkGradient } from '@elbo/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bernoulliNll, gaussianNll, laplaceNll, reconstructionLoss, reconstructionPerExample } from './index';
import { close, expectNoLeaks, value, values, variable } from './test-helpers';

expectNoLeaks(beforeEach, afterEach);

const LOG_2PI = Math.log(2 * Math.PI);
const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));

// Two examples of three pixels each.
const X = [
  [1, 0, 0.25],
  [0, 1, 0.5],
];
const L = [
  [0.3, -2, 1.5],
  [-0.7, 4, 0],
];

describe('bernoulliNll (BCE with logits)', () => {
  const bce = (x: number, l: number) => -(x * Math.log(sigmoid(l)) + (1 - x) * Math.log(1 - sigmoid(l)));
  const perEx = X.map((row, b) => row.reduce((s, x, j) => s + bce(x, L[b][j]), 0));

  it("'sum-mean' sums over pixels and averages over the batch; 'mean' averages over everything", () => {
    const sumMean = (perEx[0] + perEx[1]) / 2;
    close(value(() => bernoulliNll(tf.tensor2d(X), tf.tensor2d(L))), sumMean, 1e-5);
    close(value(() => bernoulliNll(tf.tensor2d(X), tf.tensor2d(L), { reduction: 'mean' })), (perEx[0] + perEx[1]) / 6, 1e-5);
    const pe = values(() => reconstructionPerExample(new Bernoulli(tf.tensor2d(L)), tf.tensor2d(X)));
    close(pe[0], perEx[0], 1e-5);
    close(pe[1], perEx[1], 1e-5);
  });

  it('is finite and exact for saturated logits (no log(0))', () => {
    // x = 1, l = 80: -log sigmoid(80) = log(1 + e^-80) ~ 1.8e-35; x = 0, l = 80: softplus(80) = 80.
    const v = values(() => reconstructionPerExample(new Bernoulli(tf.tensor2d([[80], [80], [-80]])), tf.tensor2d([[1], [0], [1]])));
    close(v[0], 0, 1e-6);
    close(v[1], 80, 1e-4);
    close(v[2], 80, 1e-4);
  });

  it('has the finite-difference gradient in the logits', () => {
    const logits = variable(L);
    const x = tf.tensor2d(X);
    const r = checkGradient(() => bernoulliNll(x, logits), logits);
    expect(r.maxRelativeError).toBeLessThan(1e-2);
    // d/dl BCE = (sigmoid(l) - x) / batch under 'sum-mean'.
    close(r.analytic[0], (sigmoid(L[0][0]) - X[0][0]) / 2, 1e-5);
    tf.dispose([logits, x]);
  });
});

describe('gaussianNll', () => {
  const M = [
    [0.5, 0.2, 0],
    [0.1, 0.8, 1],
  ];

  it('with logVar 0 is half the squared error plus log(2 pi)/2 per pixel: MSE is its special case', () => {
    let sse = 0;
    X.forEach((row, b) => row.forEach((x, j) => (sse += (x - M[b][j]) ** 2)));
    close(value(() => gaussianNll(tf.tensor2d(X), tf.tensor2d(M))), sse / 4 + (3 * LOG_2PI) / 2, 1e-5);
    // 'mean' is MSE / 2 + log(2 pi) / 2: an affine function of PyTorch's F.mse_loss.
    close(value(() => gaussianNll(tf.tensor2d(X), tf.tensor2d(M), { reduction: 'mean' })), sse / 6 / 2 + LOG_2PI / 2, 1e-5);
    // With variance 1/2 it is PyTorch's F.mse_loss (mean over everything) plus a constant.
    const torchMse = sse / 6;
    close(value(() => gaussianNll(tf.tensor2d(X), tf.tensor2d(M), { reduction: 'mean', logVar: Math.log(0.5) })), torchMse + 0.5 * Math.log(Math.PI), 1e-5);
  });

  it('with a fixed and a learned (tensor) log-variance matches the density by hand', () => {
    const lv = 0.4;
    const nll = (x: number, m: number, v: number) => 0.5 * (LOG_2PI + v + (x - m) ** 2 / Math.exp(v));
    let fixed = 0;
    X.forEach((row, b) => row.forEach((x, j) => (fixed += nll(x, M[b][j], lv))));
    close(value(() => gaussianNll(tf.tensor2d(X), tf.tensor2d(M), { logVar: lv })), fixed / 2, 1e-5);
    const LV = [
      [0.1, -0.5, 1],
      [0, 2, -1],
    ];
    let learned = 0;
    X.forEach((row, b) => row.forEach((x, j) => (learned += nll(x, M[b][j], LV[b][j]))));
    close(value(() => gaussianNll(tf.tensor2d(X), tf.tensor2d(M), { logVar: tf.tensor2d(LV) })), learned / 2, 1e-5);
  });

  it('has finite-difference gradients in the mean and the learned log-variance', () => {
    const mean = variable(M);
    const logVar = variable([
      [0.1, -0.5, 1],
      [0, 0.3, -1],
    ]);
    const x = tf.tensor2d(X);
    expect(checkGradient(() => gaussianNll(x, mean, { logVar }), mean).maxRelativeError).toBeLessThan(1e-2);
    expect(checkGradient(() => gaussianNll(x, mean, { logVar }), logVar).maxRelativeError).toBeLessThan(1e-2);
    tf.dispose([mean, logVar, x]);
  });
});

describe('laplaceNll', () => {
  it('is |x - loc| / b + log(2b); L1 is its special case', () => {
    const loc = [
      [0.5, 0.5, 0],
      [0, 0, 2],
    ];
    let l1 = 0;
    X.forEach((row, b) => row.forEach((x, j) => (l1 += Math.abs(x - loc[b][j]))));
    close(value(() => laplaceNll(tf.tensor2d(X), tf.tensor2d(loc))), l1 / 2 + 3 * Math.LN2, 1e-5);
    const ls = -0.3;
    const b = Math.exp(ls);
    close(value(() => laplaceNll(tf.tensor2d(X), tf.tensor2d(loc), ls, { reduction: 'mean' })), l1 / 6 / b + Math.log(2 * b), 1e-5);
  });

  it('has the finite-difference gradient in the log-scale', () => {
    const logScale = variable([[0.2, -0.1, 0.4]]);
    const x = tf.tensor2d(X);
    const loc = tf.tensor2d([
      [0.5, 0.5, 0],
      [0, 0, 2],
    ]);
    expect(checkGradient(() => laplaceNll(x, loc, logScale), logScale).maxRelativeError).toBeLessThan(1e-2);
    tf.dispose([logScale, x, loc]);
  });
});

describe('reconstructionLoss', () => {
  it('works for any likelihood and any event rank ([batch, h, w, c])', () => {
    const x = [
      [[[0.1], [0.2]], [[0.3], [0.4]]],
      [[[1], [0]], [[0.5], [0.5]]],
    ];
    let sse = 0;
    x.flat(3).forEach((v) => (sse += v * v));
    const got = value(() => reconstructionLoss(new DiagonalGaussian(tf.zeros([2, 2, 2, 1]), tf.scalar(0)), tf.tensor4d(x)));
    close(got, sse / 2 / 2 + (4 * LOG_2PI) / 2, 1e-5);
  });

  it('rejects a wrong shape or reduction with a clear error', () => {
    tf.tidy(() => {
      expect(() => bernoulliNll(tf.zeros([2, 3]), tf.zeros([2, 4]))).toThrow(/x \[2, 3\] and logits \[2, 4\]/);
      expect(() => reconstructionLoss(new Bernoulli(tf.zeros([2, 3])), tf.zeros([3, 3]))).toThrow(/likelihood's shape/);
      expect(() => gaussianNll(tf.zeros([1, 1]), tf.zeros([1, 1]), { reduction: 'sum' as never })).toThrow(/reduction must be one of 'sum-mean', 'mean'/);
      expect(() => gaussianNll(tf.zeros([1, 1]), tf.zeros([1, 1]), { logVar: Number.NaN })).toThrow(/logVar/);
    });
  });
});
