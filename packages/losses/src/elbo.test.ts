import * as tf from '@tensorflow/tfjs-core';
import { Bernoulli, DiagonalGaussian, type Distribution, Laplace, Rng, StandardNormalPrior } from '@elbo/core';
import { checkGradient } from '@elbo/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { capacityLoss, klPerDimension, klTerm, type LatentElboOptions, latentElbo, reconstructionLoss } from './index';
import { close, expectNoLeaks, variable } from './test-helpers';

// A tiny model: x [2, 3] in [0, 1], q(z|x) = N(x E, exp(lv)) with z [2, 2], p(x|z) = Bernoulli(z D).
const X = [
  [1, 0, 0.5],
  [0.2, 0.9, 0],
];
let E: tf.Variable;
let LV: tf.Variable;
let D: tf.Variable;
beforeAll(() => {
  E = variable([
    [0.5, -0.3],
    [1.2, 0.4],
    [-0.6, 0.9],
  ]);
  LV = variable([[-0.5, 0.3]]);
  D = variable([
    [0.7, -1.1, 0.3],
    [0.2, 0.5, -0.8],
  ]);
});
afterAll(() => tf.dispose([E, LV, D]));
expectNoLeaks(beforeEach, afterEach);

const encode = (x: tf.Tensor): Distribution => new DiagonalGaussian(tf.matMul(x as tf.Tensor2D, E), LV);
const decode = (z: tf.Tensor): Distribution => new Bernoulli(tf.matMul(z as tf.Tensor2D, D));
const prior = new StandardNormalPrior([2]);

const elbo = (x: tf.Tensor, enc: (x: tf.Tensor) => Distribution, dec: (z: tf.Tensor) => Distribution, rng: Rng, options: LatentElboOptions = {}) =>
  latentElbo(x, { encode: enc, decode: dec, prior, rng }, options);

/** loss, reconstruction, kl and elbo as numbers. */
function run(options: LatentElboOptions, seed = 5): number[] {
  return tf.tidy(() => {
    const { loss, terms } = elbo(tf.tensor2d(X), encode, decode, new Rng(seed), options);
    return [loss, terms.reconstruction, terms.kl, terms.elbo].map((t) => t.dataSync()[0]);
  });
}
/** The same pieces assembled by hand from the separate terms and the same draw. */
function parts(seed = 5): { recon: number; kl: number; reconMean: number } {
  return tf.tidy(() => {
    const x = tf.tensor2d(X);
    const q = encode(x);
    const z = (q.rsample as (r: Rng) => tf.Tensor)(new Rng(seed));
    const px = decode(z);
    return {
      recon: reconstructionLoss(px, x).dataSync()[0],
      reconMean: reconstructionLoss(px, x, { reduction: 'mean' }).dataSync()[0],
      kl: klTerm(q, prior).dataSync()[0],
    };
  });
}

describe('latentElbo (the objective, through @elbo/losses)', () => {
  it('is reconstruction + klWeight * KL from the same draw; terms.elbo ignores the weight', () => {
    const p = parts();
    const [loss, recon, kl, e] = run({ klWeight: 2.5 });
    close(recon, p.recon, 1e-5);
    close(kl, p.kl, 1e-5);
    close(loss, p.recon + 2.5 * p.kl, 1e-5);
    close(e, -(p.recon + p.kl), 1e-5);
  });

  it('with free bits uses freeBitsKl in the loss and leaves terms.kl and terms.elbo alone', () => {
    const p = tf.tidy(() => {
      const q = encode(tf.tensor2d(X));
      return { perDim: Array.from(klPerDimension(q, prior).dataSync()) };
    });
    // Batch-averaged KL per dimension, to pick a lambda between them.
    const avg = [0, 1].map((j) => (p.perDim[j] + p.perDim[2 + j]) / 2);
    const lambda = (avg[0] + avg[1]) / 2;
    const expectedFree = Math.max(avg[0], lambda) + Math.max(avg[1], lambda);
    const [loss, recon, kl, e] = run({ freeBits: lambda, klWeight: 2 });
    const [, , klPlain, ePlain] = run({});
    close(loss, recon + 2 * expectedFree, 1e-5);
    close(kl, klPlain, 1e-6);
    close(e, ePlain, 1e-6);
  });

  it('with capacity control is reconstruction + gamma |KL - C(step)|', () => {
    const opts = { gamma: 10, maxCapacity: 4, steps: 100 };
    const [loss, recon, kl] = run({ capacity: opts, step: 30 });
    const expected = tf.tidy(() => capacityLoss(tf.scalar(kl), 30, opts).dataSync()[0]);
    close(expected, 10 * Math.abs(kl - 1.2), 1e-4);
    close(loss, recon + expected, 1e-4);
  });

  it("with reduction 'mean' averages the reconstruction over pixels and the KL over latent dimensions", () => {
    const p = parts();
    const [loss, recon, kl, e] = run({ reduction: 'mean' });
    close(recon, p.reconMean, 1e-5);
    close(kl, p.kl / 2, 1e-5);
    close(loss, p.reconMean + p.kl / 2, 1e-5);
    close(e, -(p.recon + p.kl), 1e-5);
  });

  it("falls back to a Monte-Carlo KL at the reconstruction's draw when no closed form exists", () => {
    const lapEncode = (x: tf.Tensor): Distribution => new Laplace(tf.matMul(x as tf.Tensor2D, E), LV);
    const expected = tf.tidy(() => {
      const x = tf.tensor2d(X);
      const q = lapEncode(x);
      const z = (q.rsample as (r: Rng) => tf.Tensor)(new Rng(5));
      return tf.mean(tf.sub(q.logProb(z), prior.logProb(z))).dataSync()[0];
    });
    const kl = tf.tidy(() => elbo(tf.tensor2d(X), lapEncode, decode, new Rng(5)).terms.kl.dataSync()[0]);
    close(kl, expected, 1e-5);
    tf.tidy(() => {
      expect(() => elbo(tf.tensor2d(X), lapEncode, decode, new Rng(5), { klEstimator: 'analytic' })).toThrow(/No analytic KL/);
    });
  });

  it('has finite-difference gradients in encoder and decoder weights (fixed seed)', () => {
    const f = () => elbo(tf.tensor2d(X), encode, decode, new Rng(11), { klWeight: 1.5 }).loss;
    expect(checkGradient(f, E).maxRelativeError).toBeLessThan(1e-2);
    expect(checkGradient(f, D).maxRelativeError).toBeLessThan(1e-2);
    expect(checkGradient(f, LV).maxRelativeError).toBeLessThan(1e-2);
  });

  it('rejects inconsistent options with a clear error', () => {
    tf.tidy(() => {
      const x = tf.tensor2d(X);
      const rng = new Rng(1);
      expect(() => elbo(x, encode, decode, rng, { capacity: { gamma: 1, maxCapacity: 1, steps: 1 } })).toThrow(/needs step/);
      expect(() => elbo(x, encode, decode, rng, { capacity: { gamma: 1, maxCapacity: 1, steps: 1 }, step: 0, freeBits: 1 })).toThrow(/either freeBits or capacity/);
      expect(() => elbo(x, encode, decode, rng, { klWeight: -1 })).toThrow(/klWeight must be/);
      expect(() => elbo(x, encode, decode, rng, { klEstimator: 'exact' as never })).toThrow(/estimator must be 'auto', 'analytic' or 'monte-carlo'/);
      expect(() => elbo(x, (v) => new Bernoulli(v), decode, rng)).toThrow(/rsample/);
    });
  });
});
