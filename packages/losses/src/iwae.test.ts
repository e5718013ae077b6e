import * as tf from '@tensorflow/tfjs-core';
import { DiagonalGaussian, type Distribution, Rng, StandardNormalPrior } from '@elbo/core';
import { checkGradient } from '@elbo/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importanceLogWeights, iwaeBound, iwaeBoundPerExample, latentElbo } from './index';
import { close, expectNoLeaks, value, values, variable } from './test-helpers';

/*
 * A linear-Gaussian model where everything is known in closed form:
 *   p(z) = N(0, I_2),  p(x | z) = N(W z + b, s2 I_3),  so  p(x) = N(b, W W^T + s2 I).
 * W's columns are orthogonal, so the exact posterior is diagonal:
 *   q*(z | x) = N(S W^T (x - b) / s2, S),  S = (I + W^T W / s2)^-1 = diag(1/7, 1/5).
 */
const W = [
  [1, 1],
  [1, -1],
  [1, 0],
];
const B = [0.2, -0.1, 0.3];
const S2 = 0.5;
const POST_VAR = [1 / 7, 1 / 5];
const XS = [
  [1, 0.5, -0.3],
  [-1, 2, 0.4],
  [0, 0, 0],
  [2, -1, 1],
];

function det3(m: number[][]): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}
function solve3(m: number[][], v: number[]): number[] {
  // Cramer's rule.
  const d = det3(m);
  return [0, 1, 2].map((c) => det3(m.map((row, r) => row.map((x, j) => (j === c ? v[r] : x)))) / d);
}
/** Exact log p(x) = log N(x; b, W W^T + s2 I), in float64. */
function exactLogPx(x: number[]): number {
  const C = [0, 1, 2].map((i) => [0, 1, 2].map((j) => W[i][0] * W[j][0] + W[i][1] * W[j][1] + (i === j ? S2 : 0)));
  const r = x.map((v, i) => v - B[i]);
  const sol = solve3(C, r);
  const quad = r.reduce((s, v, i) => s + v * sol[i], 0);
  return -0.5 * (3 * Math.log(2 * Math.PI) + Math.log(det3(C)) + quad);
}
/** Exact posterior mean S W^T (x - b) / s2. */
const postMean = (x: number[]) => [0, 1].map((j) => (POST_VAR[j] * x.reduce((s, v, i) => s + W[i][j] * (v - B[i]), 0)) / S2);

/** The ELBO for q = N(m, diag(v)) in closed form (float64): E_q log p(x|z) - KL(q || N(0, I)). */
function exactElbo(x: number[], m: number[], v: number[]): number {
  let sq = 0;
  for (let i = 0; i < 3; i++) sq += (x[i] - B[i] - W[i][0] * m[0] - W[i][1] * m[1]) ** 2;
  const trace = v[0] * (W[0][0] ** 2 + W[1][0] ** 2 + W[2][0] ** 2) + v[1] * (W[0][1] ** 2 + W[1][1] ** 2 + W[2][1] ** 2);
  const expectedLogLik = -0.5 * (3 * Math.log(2 * Math.PI * S2) + (sq + trace) / S2);
  const kl = [0, 1].reduce((s, j) => s + 0.5 * (v[j] + m[j] ** 2 - 1 - Math.log(v[j])), 0);
  return expectedLogLik - kl;
}

let Wt: tf.Tensor2D;
let bias: tf.Tensor1D;
let A: tf.Tensor2D;
let logS2: tf.Scalar;
beforeAll(() => {
  Wt = tf.tensor2d([W.map((r) => r[0]), W.map((r) => r[1])]); // [2, 3]
  bias = tf.tensor1d(B);
  A = tf.tensor2d(W.map((r) => [(r[0] * POST_VAR[0]) / S2, (r[1] * POST_VAR[1]) / S2])); // [3, 2]
  logS2 = tf.scalar(Math.log(S2));
});
afterAll(() => tf.dispose([Wt, bias, A, logS2]));
expectNoLeaks(beforeEach, afterEach);

const decode = (z: tf.Tensor): Distribution => new DiagonalGaussian(tf.add(tf.matMul(z as tf.Tensor2D, Wt), bias), logS2);
/** The exact posterior, or a distorted one (mean scaled, variance inflated) when `distort`. */
const encoder =
  (distort = false) =>
  (x: tf.Tensor): Distribution => {
    const mean = tf.matMul(tf.sub(x, bias) as tf.Tensor2D, A);
    const logVar = tf.log(tf.tensor2d([POST_VAR]));
    return distort ? new DiagonalGaussian(tf.mul(mean, 0.6), tf.add(logVar, 1)) : new DiagonalGaussian(mean, logVar);
  };
const prior = new StandardNormalPrior([2]);

describe('IWAE bound on a linear-Gaussian model', () => {
  it('the closed forms agree with each other (sanity of the test oracle)', () => {
    // With the exact posterior the ELBO is tight: ELBO = log p(x).
    for (const x of XS) close(exactElbo(x, postMean(x), POST_VAR), exactLogPx(x), 1e-10);
  });

  it('with the exact posterior every log-weight equals log p(x), so L_k = log p(x) for every k', () => {
    const w = values(() => importanceLogWeights(tf.tensor2d(XS), encoder(), decode, prior, new Rng(1), 3));
    expect(w).toHaveLength(12);
    w.forEach((v, i) => close(v, exactLogPx(XS[i % 4]), 2e-4));
    const mean = XS.reduce((s, x) => s + exactLogPx(x), 0) / 4;
    close(value(() => iwaeBound(importanceLogWeights(tf.tensor2d(XS), encoder(), decode, prior, new Rng(2), 5))), mean, 2e-4);
  });

  it('k = 1 equals the one-sample ELBO computed from the same draw', () => {
    const w = values(() => importanceLogWeights(tf.tensor2d(XS), encoder(true), decode, prior, new Rng(7), 1));
    const bound = value(() => iwaeBound(importanceLogWeights(tf.tensor2d(XS), encoder(true), decode, prior, new Rng(7), 1)));
    const out = tf.tidy(() => {
      const { loss, terms } = latentElbo(tf.tensor2d(XS), { encode: encoder(true), decode, prior, rng: new Rng(7) }, { klEstimator: 'monte-carlo' });
      return [loss.dataSync()[0], terms.elbo.dataSync()[0]];
    });
    close(bound, w.reduce((s, v) => s + v, 0) / 4, 1e-5);
    close(out[1], bound, 1e-4);
    close(out[0], -bound, 1e-4);
  });

  it('L_1 <= L_4 <= L_16 <= L_64 <= log p(x) on average, and L_1 matches the closed-form ELBO', () => {
    // 1200 independent replicates of each of the 4 points; each L_k is averaged over the 4800 examples
    // and compared with its standard error (independent draws per k).
    const reps = 1200;
    const x = tf.tidy(() => tf.tile(tf.tensor2d(XS), [reps, 1]));
    const rng = new Rng(2024);
    const logPxs = XS.map(exactLogPx);
    const stats = [1, 4, 16, 64].map((k) => {
      const per = values(() => iwaeBoundPerExample(importanceLogWeights(x, encoder(true), decode, prior, rng, k)));
      const mean = per.reduce((s, v) => s + v, 0) / per.length;
      // The noise is the spread of the gap log p(x) - L_k around its mean, not the spread of log p(x) over the 4 points.
      const gaps = per.map((v, i) => logPxs[i % 4] - v);
      const meanGap = gaps.reduce((s, v) => s + v, 0) / gaps.length;
      const variance = gaps.reduce((s, v) => s + (v - meanGap) ** 2, 0) / (gaps.length - 1);
      return { k, mean, se: Math.sqrt(variance / per.length) };
    });
    x.dispose();
    const logPx = XS.reduce((s, p) => s + exactLogPx(p), 0) / 4;
    const elboExact = XS.reduce((s, p) => s + exactElbo(p, postMean(p).map((m) => 0.6 * m), POST_VAR.map((v) => v * Math.E)), 0) / 4;
    const report = JSON.stringify({ stats, logPx, elboExact });
    close(stats[0].mean, elboExact, 4 * stats[0].se);
    for (let i = 1; i < stats.length; i++) {
      const margin = 3 * Math.hypot(stats[i].se, stats[i - 1].se);
      expect(stats[i].mean - stats[i - 1].mean, report).toBeGreaterThan(margin);
    }
    // The bound stays below log p(x) (up to its own noise) and closes most of the ELBO's gap.
    expect(stats[3].mean, report).toBeLessThan(logPx + 3 * stats[3].se);
    expect(logPx - elboExact).toBeGreaterThan(0.3);
    expect(logPx - stats[3].mean, report).toBeLessThan(0.1 * (logPx - elboExact));
  });

  it('the analytic-KL ELBO estimate averages to the closed-form ELBO', () => {
    // One draw per example over 20 000 examples: the standard error is ~0.015 nats.
    const reps = 5000;
    const est = value(() => {
      const x = tf.tile(tf.tensor2d(XS), [reps, 1]);
      return latentElbo(x, { encode: encoder(true), decode, prior, rng: new Rng(3) }).terms.elbo;
    });
    const elboExact = XS.reduce((s, p) => s + exactElbo(p, postMean(p).map((m) => 0.6 * m), POST_VAR.map((v) => v * Math.E)), 0) / 4;
    close(est, elboExact, 0.05);
  });
});

describe('iwaeBound', () => {
  it('is a stable log-mean-exp over the k axis', () => {
    const per = values(() => iwaeBoundPerExample(tf.tensor2d([[-1000, 2], [-1001, 4]])));
    close(per[0], -1000 + Math.log((1 + Math.exp(-1)) / 2), 1e-3);
    close(per[1], Math.log((Math.exp(2) + Math.exp(4)) / 2), 1e-5);
    close(value(() => iwaeBound(tf.tensor2d([[-1000, 2], [-1001, 4]]))), (per[0] + per[1]) / 2, 1e-3);
  });

  it('has the softmax gradient (checked by finite differences)', () => {
    const lw = variable([
      [0.1, -1],
      [0.5, 2],
      [-0.3, 0],
    ]);
    const r = checkGradient(() => iwaeBound(lw), lw);
    expect(r.maxRelativeError).toBeLessThan(1e-2);
    // d/dw_i0 = softmax(w_.0)_i / batch
    const col = [0.1, 0.5, -0.3].map(Math.exp);
    close(r.analytic[0], col[0] / (col[0] + col[1] + col[2]) / 2, 1e-5);
    lw.dispose();
  });

  it('rejects a bad k or shape', () => {
    tf.tidy(() => {
      expect(() => iwaeBound(tf.zeros([3]))).toThrow(/\[k, batch\]/);
      expect(() => importanceLogWeights(tf.zeros([1, 3]), encoder(), decode, prior, new Rng(1), 0)).toThrow(/k must be a positive integer/);
    });
  });
});
