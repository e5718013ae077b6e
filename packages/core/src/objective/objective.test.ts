import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { Bernoulli } from '../distributions/bernoulli';
import { DiagonalGaussian, StandardNormal } from '../distributions/diagonal-gaussian';
import { Laplace } from '../distributions/laplace';
import { StandardNormalPrior } from '../model';
import { Rng } from '../rng';
import { elboObjective, latentElbo, negLogLikelihood } from './elbo';
import { importanceLogWeights, iwaeBound } from './iwae';
import { klPerDimension } from './kl';

const values = (out: { loss: tf.Scalar; terms: Record<string, tf.Scalar> }) => ({
  loss: out.loss.dataSync()[0],
  terms: Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0]])),
});

// Hand values: reconstruction per example [1 + 2, 3 + 4] = [3, 7] (mean 5); KL per example [1, 1] (mean 1).
const rec = () => tf.tensor2d([[1, 2], [3, 4]]);
const kl = () => tf.tensor2d([[0.5, 0.5], [1, 0]]);

describe('elboObjective', () => {
  it('loss = reconstruction + klWeight * kl; elbo and klWeight reported; nothing leaks', () => {
    const before = tf.memory().numTensors;
    const { r, k } = { r: rec(), k: kl() };
    const out = tf.tidy(() => values(elboObjective({ reconstruction: r, kl: { value: k }, klWeight: 0.5 })));
    const zero = tf.tidy(() => values(elboObjective({ reconstruction: r, kl: { value: k }, klWeight: 0 })));
    tf.dispose([r, k]);
    expect(tf.memory().numTensors).toBe(before);
    expect(out.loss).toBeCloseTo(5 + 0.5 * 1, 6);
    expect(out.terms).toEqual({ reconstruction: 5, kl: 1, elbo: -6, klWeight: 0.5 });
    expect(zero.loss).toBeCloseTo(5, 6);
    expect(zero.terms.elbo).toBeCloseTo(-6, 6);
  });

  it('free bits floor each dimension at lambda after the batch mean', () => {
    // Batch means per dimension [0.1, 3]: with lambda 0.5 the penalty is 0.5 + 3.
    const out = tf.tidy(() => values(elboObjective({ reconstruction: rec(), kl: { value: tf.tensor2d([[0.1, 2], [0.1, 4]]) }, freeBits: 0.5 })));
    expect(out.loss).toBeCloseTo(5 + 3.5, 5);
    expect(out.terms.kl).toBeCloseTo(3.1, 5);
    expect(out.terms.elbo).toBeCloseTo(-8.1, 5);
  });

  it("reduction 'mean' averages the reconstruction over elements and the KL over dimensions", () => {
    const out = tf.tidy(() => values(elboObjective({ reconstruction: rec(), kl: { value: kl() }, klWeight: 2, reduction: 'mean' })));
    expect(out.terms.reconstruction).toBeCloseTo(2.5, 6);
    expect(out.terms.kl).toBeCloseTo(0.5, 6);
    expect(out.loss).toBeCloseTo(2.5 + 2 * 0.5, 6);
    expect(out.terms.elbo).toBeCloseTo(-6, 6);
  });

  it('several KL terms: each named, their total as kl, per-term free bits', () => {
    const out = tf.tidy(() =>
      values(
        elboObjective({
          reconstruction: tf.tensor1d([3, 7]),
          kl: [
            { name: 'kl0', value: tf.tensor2d([[0.1, 2], [0.1, 4]]), freeBits: 0.5 },
            { name: 'kl1', value: tf.tensor1d([1, 3]) },
          ],
          klWeight: 2,
        }),
      ),
    );
    expect(out.terms.kl0).toBeCloseTo(3.1, 5);
    expect(out.terms.kl1).toBeCloseTo(2, 6);
    expect(out.terms.kl).toBeCloseTo(5.1, 5);
    expect(out.loss).toBeCloseTo(5 + 2 * (3.5 + 2), 5);
    expect(out.terms.elbo).toBeCloseTo(-10.1, 5);
  });

  it('a decomposed KL: klWeight scales the weighted pieces, which replace the KL in the loss', () => {
    const out = tf.tidy(() =>
      values(
        elboObjective({
          reconstruction: rec(),
          kl: { value: kl(), decomposition: { mi: { value: tf.scalar(0.2), weight: 1 }, tc: { value: tf.scalar(0.3), weight: 6 }, dimKl: { value: tf.scalar(0.4) } } },
          klWeight: 0.5,
        }),
      ),
    );
    expect(out.loss).toBeCloseTo(5 + 0.5 * (0.2 + 6 * 0.3 + 0.4), 5);
    expect(out.terms).toMatchObject({ kl: 1, elbo: -6, klWeight: 0.5 });
    expect(out.terms.tc).toBeCloseTo(0.3, 6);
  });

  it('extra terms without a KL: loss = reconstruction + weight * extra; no kl, elbo or klWeight', () => {
    const out = tf.tidy(() => values(elboObjective({ reconstruction: rec(), extra: { codebook: { value: tf.scalar(2) }, commitment: { value: tf.scalar(4), weight: 0.25 } } })));
    expect(out.loss).toBeCloseTo(5 + 2 + 1, 6);
    expect(Object.keys(out.terms).sort()).toEqual(['codebook', 'commitment', 'reconstruction']);
  });

  it('capacity control: gamma * |kl - C(step)| replaces the weighted KL', () => {
    // C(50) = 50 / 100 * 4 = 2; |1 - 2| * 10 = 10.
    const out = tf.tidy(() => values(elboObjective({ reconstruction: rec(), kl: { value: kl() }, capacity: { gamma: 10, maxCapacity: 4, steps: 100 }, step: 50 })));
    expect(out.loss).toBeCloseTo(5 + 10, 5);
  });

  it('rejects bad weights, clashing names and impossible combinations', () => {
    tf.tidy(() => {
      expect(() => elboObjective({ reconstruction: rec(), kl: { value: kl() }, klWeight: -1 })).toThrow(/klWeight must be a finite number >= 0/);
      expect(() => elboObjective({ reconstruction: rec(), extra: { kl: { value: tf.scalar(1) } } })).toThrow(/name "kl" is taken/);
      expect(() => elboObjective({ reconstruction: rec(), kl: [{ value: kl() }, { value: kl() }] })).toThrow(/name "kl" is taken/);
      expect(() => elboObjective({ reconstruction: rec(), kl: { value: tf.tensor1d([1, 1]) }, freeBits: 1 })).toThrow(/free bits need/);
      expect(() => elboObjective({ reconstruction: rec(), kl: { value: kl() }, capacity: { gamma: 1, maxCapacity: 1, steps: 1 } })).toThrow(/needs step/);
      expect(() => elboObjective({ reconstruction: rec(), kl: { value: kl() }, freeBits: 1, iwaeLogWeights: tf.zeros([2, 2]) })).toThrow(/IWAE/);
      expect(() => elboObjective({ reconstruction: rec(), kl: { value: tf.ones([3, 2]) } })).toThrow(/batch 3/);
    });
  });
});

describe('klPerDimension: analytic where a closed form exists, Monte Carlo at the draw otherwise', () => {
  it('a Gaussian posterior gets the closed form, whatever the draw', () => {
    tf.tidy(() => {
      const mu = tf.tensor2d([[0.5, -1]]);
      const logVar = tf.tensor2d([[0.2, -0.4]]);
      const q = new DiagonalGaussian(mu, logVar);
      const got = klPerDimension(q, new StandardNormal([1, 2]), { z: tf.tensor2d([[9, 9]]) }).arraySync()[0];
      const want = [0, 1].map((j) => 0.5 * ([0.5, -1][j] ** 2 + Math.exp([0.2, -0.4][j]) - 1 - [0.2, -0.4][j]));
      got.forEach((v, j) => expect(v).toBeCloseTo(want[j], 5));
    });
  });

  it('a pair with no closed form (Laplace || standard normal) gets log q(z) - log p(z) at the draw, and needs the draw', () => {
    tf.tidy(() => {
      const q = new Laplace(tf.tensor2d([[0.3, -0.2]]), tf.tensor2d([[0, -0.5]]));
      const p = new StandardNormal([1, 2]);
      const z = tf.tensor2d([[0.1, 0.7]]);
      const got = klPerDimension(q, p, { z }).arraySync()[0];
      const want = tf.sub(q.logProbElementwise(z), p.logProbElementwise(z)).arraySync() as number[][];
      got.forEach((v, j) => expect(v).toBeCloseTo(want[0][j], 6));
      expect(() => klPerDimension(q, p)).toThrow(/pass the draw z/);
      expect(() => klPerDimension(q, p, { z, estimator: 'analytic' })).toThrow(/No analytic KL/);
      // Forced Monte Carlo for a pair that has a closed form.
      const g = new DiagonalGaussian(tf.tensor2d([[0.3, 0]]), tf.tensor2d([[0, 0]]));
      const mc = klPerDimension(g, p, { z, estimator: 'monte-carlo' }).arraySync()[0];
      const mcWant = tf.sub(g.logProbElementwise(z), p.logProbElementwise(z)).arraySync() as number[][];
      mc.forEach((v, j) => expect(v).toBeCloseTo(mcWant[0][j], 6));
    });
  });
});

describe('latentElbo and the IWAE bound', () => {
  const parts = (rng: Rng) => {
    const w = tf.tensor2d([[0.3, -0.2, 0.1], [0.5, 0.4, -0.3]]);
    return {
      w,
      encode: (x: tf.Tensor) => new DiagonalGaussian(tf.matMul(x, w, false, true), tf.fill([x.shape[0], 2], -0.5)),
      decode: (z: tf.Tensor) => new Bernoulli(tf.matMul(z, w)),
      prior: new StandardNormalPrior([2]),
      rng,
    };
  };

  it('IWAE with k = 1 equals the one-draw ELBO with the Monte-Carlo KL at the same draw', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 0, 1], [0, 1, 1]]);
      const m = parts(new Rng(3));
      const state = m.rng.getState();
      const elbo = latentElbo(x, m, { klEstimator: 'monte-carlo' }).terms.elbo.dataSync()[0];
      m.rng.setState(state);
      const iwae1 = iwaeBound(importanceLogWeights(x, m.encode, m.decode, m.prior, m.rng, 1)).dataSync()[0];
      expect(iwae1).toBeCloseTo(elbo, 5);
    });
  });

  it('latentElbo is elboObjective of -log p(x|z) and the analytic KL; iwaeSamples > 1 trains the bound', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 0, 1], [0, 1, 1]]);
      const m = parts(new Rng(4));
      const state = m.rng.getState();
      const out = latentElbo(x, m, { klWeight: 0.25 });
      m.rng.setState(state);
      const q = m.encode(x);
      const z = q.rsample(m.rng);
      const recon = tf.mean(tf.sum(negLogLikelihood(m.decode(z), x), 1)).dataSync()[0];
      const klv = tf.mean(tf.sum(klPerDimension(q, m.prior), 1)).dataSync()[0];
      expect(out.terms.reconstruction.dataSync()[0]).toBeCloseTo(recon, 5);
      expect(out.terms.kl.dataSync()[0]).toBeCloseTo(klv, 5);
      expect(out.loss.dataSync()[0]).toBeCloseTo(recon + 0.25 * klv, 5);
      const iw = latentElbo(x, m, { iwaeSamples: 5 });
      expect(iw.loss.dataSync()[0]).toBeCloseTo(-iw.terms.iwae.dataSync()[0], 6);
      expect(() => latentElbo(x, m, { iwaeSamples: 0 })).toThrow(/iwaeSamples/);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
