import * as tf from '@tensorflow/tfjs-core';
import { DiagonalGaussian, type Distribution, klElementwise, type Prior, type Rng, StandardNormal } from '@elbo/core';
import { freeBitsKl } from './free-bits';
import { checkReduction, type Reduction } from './reduction';

/** Something with a log-density over z: a Distribution or a Prior. */
export interface LogDensity {
  /** log p(z) summed over the event axes: [batch]. */
  logProb(z: tf.Tensor): tf.Tensor1D;
}

function isPrior(p: Distribution | Prior): p is Prior {
  return typeof (p as Prior).distribution === 'function';
}

function asDistribution(p: Distribution | Prior, batch: number): Distribution {
  return isPrior(p) ? p.distribution(batch) : p;
}

/**
 * Analytic KL(q || p) per latent dimension, flattened to [batch, d] (d = the
 * product of the event axes). Uses the closed forms registered in @elbo/core
 * (diagonal Gaussian vs standard normal or another diagonal Gaussian,
 * Bernoulli, Laplace, Categorical); throws, pointing at `monteCarloKl`, when
 * none is registered.
 *
 * @param q [batch, ...event] posterior
 * @param p prior of the same shape, or a Prior (its `distribution(batch)` is used)
 * @returns [batch, d]
 */
export function klPerDimension(q: Distribution, p: Distribution | Prior): tf.Tensor2D {
  return tf.tidy(() => {
    const batch = q.shape[0];
    const kl = klElementwise(q, asDistribution(p, batch));
    return tf.reshape(tf.broadcastTo(kl, q.shape), [batch, -1]) as tf.Tensor2D;
  });
}

export interface KlTermOptions {
  /**
   * Free bits lambda in nats per latent dimension (Kingma et al. 2016); 0 or
   * undefined = off. See `freeBitsKl` for the exact definition.
   */
  freeBits?: number;
  /** 'sum-mean' (default: sum over latent dimensions, mean over the batch) or 'mean' (mean over every element). */
  reduction?: Reduction;
}

/**
 * The KL term of the ELBO, KL(q(z|x) || p(z)), analytic, as a scalar.
 *
 * With `freeBits` > 0 it is `freeBitsKl(klPerDimension(q, p), freeBits)`.
 * With reduction 'mean' the result is divided by the number of latent
 * dimensions (the mean over every element), with or without free bits.
 *
 * @param q [batch, ...event] posterior
 * @param p prior distribution of the same shape, or a Prior
 * @returns scalar, nats per example by default
 *
 * @example
 * const kl = klTerm(encoder.forward(x), new StandardNormal([batch, latentDim]), { freeBits: 0.5 });
 */
export function klTerm(q: Distribution, p: Distribution | Prior, options: KlTermOptions = {}): tf.Scalar {
  const reduction = checkReduction(options.reduction, 'klTerm');
  const lambda = options.freeBits ?? 0;
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`klTerm: freeBits must be a finite number >= 0, got ${options.freeBits}`);
  return tf.tidy(() => {
    const perDim = klPerDimension(q, p);
    const d = perDim.shape[1];
    const summed = lambda > 0 ? freeBitsKl(perDim, lambda) : tf.mean(tf.sum(perDim, 1));
    return (reduction === 'mean' ? tf.div(summed, d) : summed) as tf.Scalar;
  });
}

/**
 * Analytic KL between diagonal Gaussians, per element.
 * KL(N(mu, exp(logVar)) || N(0, I)) when `other` is omitted, else
 * KL(N(mu, exp(logVar)) || N(other.mu, exp(other.logVar))).
 *
 * @param mu [batch, d]
 * @param logVar [batch, d] (or broadcastable)
 * @param other optional second Gaussian, tensors broadcastable to mu
 * @returns [batch, d]
 */
export function gaussianKl(mu: tf.Tensor, logVar: tf.Tensor, other?: { mu: tf.Tensor; logVar: tf.Tensor }): tf.Tensor {
  return tf.tidy(() => {
    const q = new DiagonalGaussian(mu, logVar);
    const p = other ? new DiagonalGaussian(other.mu, other.logVar) : new StandardNormal(mu.shape);
    return tf.broadcastTo(klElementwise(q, p), mu.shape);
  });
}

/**
 * Monte-Carlo estimate of KL(q || p) = E_q[log q(z) - log p(z)] for any pair
 * with log densities, averaged over `samples` draws from q. Uses q.rsample
 * when q has one, so the estimate is differentiable in q's parameters.
 *
 * @param q [batch, ...event]
 * @param p any distribution or prior with logProb over the same z
 * @param rng drives the draws
 * @param samples draws per example (default 1)
 * @returns [batch] unbiased estimate per example
 */
export function monteCarloKl(q: Distribution, p: Distribution | Prior | LogDensity, rng: Rng, samples = 1): tf.Tensor1D {
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`monteCarloKl: samples must be a positive integer, got ${samples}`);
  return tf.tidy(() => {
    let total: tf.Tensor = tf.zeros([q.shape[0]]);
    for (let s = 0; s < samples; s++) {
      const z = q.rsample ? q.rsample(rng) : q.sample(rng);
      total = tf.add(total, tf.sub(q.logProb(z), p.logProb(z)));
    }
    return tf.div(total, samples) as tf.Tensor1D;
  });
}
