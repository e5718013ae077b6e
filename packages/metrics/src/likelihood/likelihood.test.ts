import * as tf from '@tensorflow/tfjs-core';
import { type BatchSource, DiagonalGaussian, type GenerativeModel, Rng } from '@elbo/core';
import { Matrix, determinant, inverse } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { bitsPerDim, importanceSampledNll } from './importance-sampling';
import { activeUnits, klPerDimension } from './latent-usage';

/**
 * Linear Gaussian model: z ~ N(0, I_2), x | z ~ N(W z + b, s2 I_3). Its marginal is
 * N(b, W W^T + s2 I), known in closed form. The encoder is a deliberately imperfect
 * diagonal Gaussian (exact posterior mean, variances 1.5x the posterior's diagonal),
 * so the importance weights vary and the estimator has something to do.
 */
const W = [[1.0, -0.5], [0.3, 0.8], [-0.7, 0.2]];
const b = [0.1, -0.2, 0.3];
const s2 = 0.25;

function linearGaussianModel(): GenerativeModel {
  const Wm = new Matrix(W);
  // Exact posterior: precision P = I + W^T W / s2, mean = P^-1 W^T (x - b) / s2.
  const P = Matrix.eye(2).add(Wm.transpose().mmul(Wm).div(s2));
  const Pinv = inverse(P);
  const A = Pinv.mmul(Wm.transpose()).div(s2); // [2, 3]
  const qLogVar = [0, 1].map((i) => Math.log(1.5 * Pinv.get(i, i)));
  return {
    variant: 'linear-gaussian',
    inputShape: [3],
    encode: (x: tf.Tensor) =>
      new DiagonalGaussian(
        tf.matMul(tf.sub(x, tf.tensor1d(b)), tf.tensor2d(A.to2DArray()), false, true),
        tf.tensor1d(qLogVar),
      ),
    decode: (z: tf.Tensor) => new DiagonalGaussian(tf.add(tf.matMul(z, tf.tensor2d(W), false, true), tf.tensor1d(b)), tf.scalar(Math.log(s2))),
  } as unknown as GenerativeModel;
}

function exactLogLikelihood(x: number[]): number {
  const C = new Matrix(W).mmul(new Matrix(W).transpose()).add(Matrix.eye(3).mul(s2));
  const d = Matrix.columnVector(x.map((v, i) => v - b[i]));
  const quad = d.transpose().mmul(inverse(C)).mmul(d).get(0, 0);
  return -0.5 * (quad + Math.log(determinant(C)) + 3 * Math.log(2 * Math.PI));
}

describe('importanceSampledNll', () => {
  const points = [[0.5, -1, 0.2], [2, 0.3, -1], [-0.4, 0.9, 0.6], [0, 0, 0], [1.2, 1.5, -0.8]];

  it('recovers the true log-likelihood of a linear Gaussian model (5000 samples, chunked) without leaks', () => {
    const model = linearGaussianModel();
    const x = tf.tensor2d(points);
    const before = tf.memory().numTensors;
    const r = importanceSampledNll(model, x, { samples: 5000, chunk: 400, batchSize: 2, seed: 3 });
    expect(tf.memory().numTensors).toBe(before);
    const exact = points.map(exactLogLikelihood);
    // Over seeds 0-11 the worst of the five points is 0.005-0.015 nats off (Monte-Carlo error at k = 5000).
    r.logLikelihood.forEach((l, i) => expect(Math.abs(l - exact[i])).toBeLessThan(0.025));
    const exactNll = -exact.reduce((a, c) => a + c, 0) / exact.length;
    expect(Math.abs(r.nll - exactNll)).toBeLessThan(0.005);
    expect(r.bitsPerDim).toBeCloseTo(r.nll / (3 * Math.LN2), 12);
    // The ELBO is a lower bound; with this imperfect posterior it is strictly below log p(x).
    expect(r.elbo).toBeLessThan(-exactNll - 0.01);
    expect(r.count).toBe(5);
    x.dispose();
  });

  it('draws per sample when the posterior cannot repeat itself, and recovers the same log-likelihood', () => {
    const base = linearGaussianModel();
    // The same posterior without `repeat`: the estimator falls back to one rsample call per draw.
    const model = {
      ...base,
      encode: (x: tf.Tensor) => {
        const q = base.encode(x) as DiagonalGaussian;
        return { shape: q.shape, rsample: (rng: Rng) => q.rsample(rng), logProb: (z: tf.Tensor) => q.logProb(z) };
      },
    } as unknown as GenerativeModel;
    const x = tf.tensor2d(points);
    const before = tf.memory().numTensors;
    const r = importanceSampledNll(model, x, { samples: 2000, chunk: 250, batchSize: 5, seed: 4 });
    expect(tf.memory().numTensors).toBe(before);
    points.map(exactLogLikelihood).forEach((l, i) => expect(Math.abs(r.logLikelihood[i] - l)).toBeLessThan(0.02));
    x.dispose();
  });

  it('is reproducible for a seed, and with k = 1 the estimate equals the ELBO', () => {
    const model = linearGaussianModel();
    const x = tf.tensor2d(points);
    const a = importanceSampledNll(model, x, { samples: 50, chunk: 7, seed: 9 });
    const c = importanceSampledNll(model, x, { samples: 50, chunk: 7, seed: 9 });
    expect(a.nll).toBe(c.nll);
    const one = importanceSampledNll(model, x, { samples: 1, seed: 9 });
    expect(one.nll).toBeCloseTo(-one.elbo, 5);
    x.dispose();
  });

  it('takes a BatchSource as well as a tensor (same batches and seed give the same number)', () => {
    const model = linearGaussianModel();
    const x = tf.tensor2d(points);
    const source: BatchSource = {
      size: 5,
      batchSize: 2,
      *batches() {
        for (let s = 0; s < 5; s += 2) yield { x: tf.tensor2d(points.slice(s, s + 2)) };
      },
    };
    const before = tf.memory().numTensors;
    const fromSource = importanceSampledNll(model, source, { samples: 20, seed: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(fromSource.nll).toBe(importanceSampledNll(model, x, { samples: 20, batchSize: 2, seed: 4 }).nll);
    x.dispose();
  });

  it("uses the model's own importanceLogWeights when present", () => {
    const model = {
      ...linearGaussianModel(),
      importanceLogWeights: (x: tf.Tensor, k: number) => tf.fill([k, x.shape[0]], -2.5) as tf.Tensor2D,
    } as GenerativeModel;
    const x = tf.tensor2d(points);
    const r = importanceSampledNll(model, x, { samples: 300, chunk: 128, rng: new Rng(1) });
    expect(r.nll).toBeCloseTo(2.5, 5);
    expect(r.elbo).toBeCloseTo(-2.5, 5);
    x.dispose();
  });

  it('names bad options', () => {
    const x = tf.tensor2d(points);
    expect(() => importanceSampledNll(linearGaussianModel(), x, { samples: 0 })).toThrow(/samples must be a positive integer/);
    expect(() => bitsPerDim(1, 0)).toThrow(/dims/);
    x.dispose();
  });
});

describe('active units and KL per dimension', () => {
  // Encoder: mean = (x0, 0.05 x1, 0), logVar = (0, log 0.5, 0) for every x.
  const model = {
    variant: 'toy',
    inputShape: [2],
    encode: (x: tf.Tensor) => {
      const m = tf.mul(x, tf.tensor1d([1, 0.05]));
      return new DiagonalGaussian(tf.concat([m, tf.zeros([x.shape[0], 1])], 1), tf.tensor1d([0, Math.log(0.5), 0]));
    },
  } as unknown as GenerativeModel;
  const data = [[1, 1], [-1, 2], [3, -1], [0, 0]];

  it('counts dimensions whose posterior-mean variance exceeds 0.01 (ddof 1), hand-computed', () => {
    const x = tf.tensor2d(data);
    const before = tf.memory().numTensors;
    const r = activeUnits(model, x, { batchSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    // x0 = 1, -1, 3, 0: mean 0.75, sum sq dev 0.0625 + 3.0625 + 5.0625 + 0.5625 = 8.75 -> 8.75 / 3
    expect(r.variances[0]).toBeCloseTo(8.75 / 3, 6);
    // x1 = 1, 2, -1, 0: mean 0.5, sum sq dev 0.25 + 2.25 + 2.25 + 0.25 = 5; scaled by 0.05^2 -> 0.0025 * 5 / 3 < 0.01
    expect(r.variances[1]).toBeCloseTo((0.0025 * 5) / 3, 8);
    expect(r.variances[2]).toBe(0);
    expect(r.count).toBe(1);
    x.dispose();
  });

  it('gives the analytic per-dimension KL to N(0, I)', () => {
    const x = tf.tensor2d(data);
    const before = tf.memory().numTensors;
    const kl = klPerDimension(model, x, { batchSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    // KL(N(m, v) || N(0, 1)) = 0.5 (m^2 + v - 1 - ln v)
    const mean = (f: (r: number[]) => number) => data.reduce((s, r) => s + f(r), 0) / data.length;
    expect(kl[0]).toBeCloseTo(mean((r) => 0.5 * r[0] * r[0]), 5);
    expect(kl[1]).toBeCloseTo(mean((r) => 0.5 * ((0.05 * r[1]) ** 2 + 0.5 - 1 - Math.log(0.5))), 5);
    expect(kl[2]).toBeCloseTo(0, 6);
    x.dispose();
  });
});
