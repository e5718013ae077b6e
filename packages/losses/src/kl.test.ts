import * as tf from '@tensorflow/tfjs-core';
import { DiagonalGaussian, Laplace, Rng, StandardNormal, StandardNormalPrior } from '@elbo/core';
import { checkGradient } from '@elbo/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freeBitsKl, gaussianKl, klPerDimension, klTerm, monteCarloKl } from './index';
import { close, expectNoLeaks, value, values, variable } from './test-helpers';

expectNoLeaks(beforeEach, afterEach);

const MU = [
  [0.3, -1.2, 2.0],
  [0.0, 0.5, -0.4],
];
const LV = [
  [0.5, -0.7, 0.1],
  [0.0, -2.0, 0.3],
];
/** KL(N(m, e^lv) || N(0, 1)) by the closed form. */
const klStd = (m: number, lv: number) => 0.5 * (Math.exp(lv) + m * m - 1 - lv);
/** KL(N(m1, v1) || N(m2, v2)). */
const klGauss = (m1: number, v1: number, m2: number, v2: number) => 0.5 * (Math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1);

describe('analytic KL', () => {
  it('klPerDimension and gaussianKl give the closed form per dimension; klTerm sums over d and averages over the batch', () => {
    const expected = MU.map((row, b) => row.map((m, j) => klStd(m, LV[b][j])));
    const q = () => new DiagonalGaussian(tf.tensor2d(MU), tf.tensor2d(LV));
    const perDim = values(() => klPerDimension(q(), new StandardNormalPrior([3])));
    expected.flat().forEach((e, i) => close(perDim[i], e, 1e-5));
    values(() => gaussianKl(tf.tensor2d(MU), tf.tensor2d(LV))).forEach((v, i) => close(v, expected.flat()[i], 1e-5));
    const perEx = expected.map((r) => r.reduce((s, v) => s + v, 0));
    close(value(() => klTerm(q(), new StandardNormal([2, 3]))), (perEx[0] + perEx[1]) / 2, 1e-5);
    close(value(() => klTerm(q(), new StandardNormalPrior([3]), { reduction: 'mean' })), (perEx[0] + perEx[1]) / 6, 1e-5);
  });

  it('between two diagonal Gaussians matches the closed form, and KL(q || q) = 0', () => {
    const mu2 = [[1, 0, 0.5]];
    const lv2 = [[0.2, 0.2, -1]];
    const got = values(() => gaussianKl(tf.tensor2d(MU), tf.tensor2d(LV), { mu: tf.tensor2d(mu2), logVar: tf.tensor2d(lv2) }));
    MU.flat().forEach((m, i) => close(got[i], klGauss(m, Math.exp(LV.flat()[i]), mu2[0][i % 3], Math.exp(lv2[0][i % 3])), 1e-5));
    close(value(() => tf.sum(gaussianKl(tf.tensor2d(MU), tf.tensor2d(LV), { mu: tf.tensor2d(MU), logVar: tf.tensor2d(LV) }))), 0, 1e-5);
  });

  it('klTerm has the finite-difference gradient in mean and log-variance', () => {
    const mu = variable(MU);
    const lv = variable(LV);
    const f = () => klTerm(new DiagonalGaussian(mu, lv), new StandardNormalPrior([3]));
    expect(checkGradient(f, mu).maxRelativeError).toBeLessThan(1e-2);
    expect(checkGradient(f, lv).maxRelativeError).toBeLessThan(1e-2);
    tf.dispose([mu, lv]);
  });

  it('names monteCarloKl when no closed form exists', () => {
    tf.tidy(() => {
      const q = new DiagonalGaussian(tf.zeros([1, 2]), tf.zeros([1, 2]));
      expect(() => klTerm(q, new Laplace(tf.zeros([1, 2]), tf.zeros([1, 2])))).toThrow(/monteCarloKl/);
      expect(() => klTerm(q, new StandardNormal([1, 2]), { freeBits: -1 })).toThrow(/freeBits must be/);
    });
  });
});

describe('monteCarloKl', () => {
  it('converges to the analytic Gaussian KL', () => {
    // One row repeated: 20 000 draws, standard error of the mean ~0.01 nats.
    const n = 20_000;
    const mc = value(() => {
      const q = new DiagonalGaussian(tf.tile(tf.tensor2d([MU[0]]), [n, 1]), tf.tile(tf.tensor2d([LV[0]]), [n, 1]));
      return tf.mean(monteCarloKl(q, new StandardNormalPrior([3]), new Rng(1)));
    });
    close(mc, MU[0].reduce((s, m, j) => s + klStd(m, LV[0][j]), 0), 0.05);
  });

  it('estimates KL(Gaussian || Laplace), which has no closed form, against numerical integration', () => {
    const [m, s, loc, b] = [0.4, 0.8, -0.2, 0.6];
    // Independent truth: trapezoid rule for E_q[log q - log p] on [-10, 10].
    let truth = 0;
    const h = 1e-3;
    for (let x = -10; x <= 10; x += h) {
      const q = Math.exp(-((x - m) ** 2) / (2 * s * s)) / Math.sqrt(2 * Math.PI * s * s);
      const logQ = -((x - m) ** 2) / (2 * s * s) - 0.5 * Math.log(2 * Math.PI * s * s);
      const logP = -Math.log(2 * b) - Math.abs(x - loc) / b;
      truth += q * (logQ - logP) * h;
    }
    const n = 20_000;
    const mc = value(() => {
      const q = new DiagonalGaussian(tf.fill([n, 1], m), tf.scalar(Math.log(s * s)));
      const p = new Laplace(tf.fill([n, 1], loc), tf.scalar(Math.log(b)));
      return tf.mean(monteCarloKl(q, p, new Rng(2), 2));
    });
    close(mc, truth, 0.03);
  });

  it('is seeded and differentiable', () => {
    const est = (seed: number) => values(() => monteCarloKl(new DiagonalGaussian(tf.tensor2d(MU), tf.tensor2d(LV)), new StandardNormalPrior([3]), new Rng(seed), 3));
    expect(est(5)).toEqual(est(5));
    expect(est(5)).not.toEqual(est(6));
    const mu = variable(MU);
    const lv = tf.tensor2d(LV);
    // Same seed on every call: the estimate is a smooth function of mu.
    const r = checkGradient(() => tf.mean(monteCarloKl(new DiagonalGaussian(mu, lv), new StandardNormalPrior([3]), new Rng(9), 4)) as tf.Scalar, mu);
    expect(r.maxRelativeError).toBeLessThan(1e-2);
    tf.dispose([mu, lv]);
    expect(() => monteCarloKl(new StandardNormal([1, 1]), new StandardNormal([1, 1]), new Rng(1), 0)).toThrow(/samples must be a positive integer/);
  });
});

describe('freeBitsKl (Kingma et al. 2016)', () => {
  // Batch-averaged KL per dimension: [0.1, 0.9, 2.05]; lambda = 0.5 frees the first dimension only.
  const KL = [
    [0.15, 1.0, 2.5],
    [0.05, 0.8, 1.6],
  ];

  it('clamps the batch-averaged KL of each dimension below at lambda and sums', () => {
    close(value(() => freeBitsKl(tf.tensor2d(KL), 0.5)), 0.5 + 0.9 + 2.05, 1e-5);
    close(value(() => freeBitsKl(tf.tensor2d(KL), 0)), 0.1 + 0.9 + 2.05, 1e-5);
    // The per-example variant d * max(sum_j KL_j / d - lambda, 0) frees all dimensions or none:
    // for lambda = 1.2 it gives mean_b 3 * max(KL_b / 3 - 1.2, 0) = (max(3.65 - 3.6, 0) + 0) / 2 = 0.025.
    close(value(() => freeBitsKl(tf.tensor2d(KL), 1.2)), 1.2 + 1.2 + 2.05, 1e-5);
  });

  it('leaves dimensions above lambda untouched in value and gradient, and gives no gradient below', () => {
    const kl = variable(KL);
    const { value: v, grads } = tf.variableGrads(() => freeBitsKl(kl, 0.5), [kl]);
    const g = Array.from(grads[kl.name].dataSync());
    // d/dKL[b, j] of mean_b KL[., j] is 1 / batch for the dimensions above lambda.
    expect(g).toEqual([0, 0.5, 0.5, 0, 0.5, 0.5]);
    close(v.dataSync()[0] - 0.5, 0.9 + 2.05, 1e-5);
    tf.dispose([v, kl, ...Object.values(grads)]);
    // The same holds through the posterior's parameters: with free bits the KL gradient of a
    // dimension above lambda equals the plain KL gradient; for a dimension below it is zero.
    const mu = variable([
      [0.05, 1.5],
      [-0.05, 1.2],
    ]);
    const lv = tf.zeros([2, 2]);
    const grad = (lambda: number) => {
      const r = tf.variableGrads(() => klTerm(new DiagonalGaussian(mu, lv), new StandardNormalPrior([2]), { freeBits: lambda }), [mu]);
      const out = Array.from(r.grads[mu.name].dataSync());
      tf.dispose([r.value, ...Object.values(r.grads)]);
      return out;
    };
    const plain = grad(0);
    const freed = grad(0.5);
    expect(Math.abs(freed[0])).toBe(0);
    expect(Math.abs(freed[2])).toBe(0);
    close(freed[1], plain[1], 1e-7);
    close(freed[3], plain[3], 1e-7);
    tf.dispose([mu, lv]);
  });

  it('rejects a bad lambda or shape', () => {
    tf.tidy(() => {
      expect(() => freeBitsKl(tf.zeros([2, 2]), -0.1)).toThrow(/lambda must be a finite number >= 0/);
      expect(() => freeBitsKl(tf.zeros([2]), 0.1)).toThrow(/\[batch, d\]/);
    });
  });
});
