import * as tf from '@tensorflow/tfjs-core';
import { DiagonalGaussian, StandardNormal } from '../distributions/diagonal-gaussian';
import { type Distribution, hasAnalyticKl, klElementwise } from '../distributions/distribution';
import type { Prior } from '../model';
import type { Rng } from '../rng';
import { freeBitsKl } from './free-bits';
import { gaussianKl } from './gaussian-kl';
import { checkReduction, type Reduction } from './reduction';

/** Something with a log-density over z: a Distribution or a Prior. */
export interface LogDensity {
  /** log p(z) summed over the event axes: [batch]. */
  logProb(z: tf.Tensor): tf.Tensor1D;
}

function isPrior(p: Distribution | Prior): p is Prior {
  return typeof (p as Prior).distribution === 'function';
}

/** A Prior as the distribution of a batch of `batch`; a Distribution as it is. */
export function asDistribution(p: Distribution | Prior, batch: number): Distribution {
  return isPrior(p) ? p.distribution(batch) : p;
}

/** How the KL of the objective is computed. */
export type KlEstimator = 'auto' | 'analytic' | 'monte-carlo';

export interface KlPerDimensionOptions {
  /**
   * The posterior draw the reconstruction used. With it, a pair with no
   * closed form falls back to the one-draw Monte-Carlo estimate
   * log q(z) - log p(z) per element (the fallback of the whole objective).
   */
  z?: tf.Tensor;
  /** 'auto' (default): analytic when a closed form is registered, else Monte Carlo at `z`. */
  estimator?: KlEstimator;
}

/**
 * KL(q || p) per latent dimension, flattened to [batch, d] (d = the product
 * of the event axes): the closed form registered in core (diagonal Gaussian
 * vs standard normal or another diagonal Gaussian, Bernoulli, Laplace,
 * Categorical) where there is one, else, given the draw `z`, the one-sample
 * Monte-Carlo estimate log q(z) - log p(z) per element. This is the one place
 * the objective chooses between the two.
 *
 * @param q [batch, ...event] posterior
 * @param p prior of the same shape, or a Prior (its `distribution(batch)` is used)
 * @returns [batch, d]
 * @example
 * const perDim = klPerDimension(q, prior, { z });   // analytic for a Gaussian q, Monte Carlo otherwise
 */
export function klPerDimension(q: Distribution, p: Distribution | Prior, options: KlPerDimensionOptions = {}): tf.Tensor2D {
  const estimator = options.estimator ?? 'auto';
  if (!['auto', 'analytic', 'monte-carlo'].includes(estimator)) {
    throw new Error(`klPerDimension: estimator must be 'auto', 'analytic' or 'monte-carlo', got ${String(estimator)}`);
  }
  return tf.tidy(() => {
    const batch = q.shape[0];
    const pd = asDistribution(p, batch);
    const analytic = estimator === 'analytic' || (estimator === 'auto' && hasAnalyticKl(q, pd));
    if (analytic && q instanceof DiagonalGaussian && pd instanceof StandardNormal && tf.util.arraysEqual(q.logVar.shape, q.shape)) {
      // The common VAE pair as one fused op (one kernel on backends that register it; the same formula otherwise).
      return tf.reshape(gaussianKl(q.loc, q.logVar), [batch, -1]) as tf.Tensor2D;
    }
    if (analytic) return tf.reshape(tf.broadcastTo(klElementwise(q, pd), q.shape), [batch, -1]) as tf.Tensor2D;
    if (!options.z) {
      throw new Error(
        `klPerDimension: no analytic KL for ${q.constructor.name} || ${pd.constructor.name}${estimator === 'monte-carlo' ? '' : ' is registered'}; pass the draw z for the Monte-Carlo estimate`,
      );
    }
    const z = options.z;
    return tf.reshape(tf.sub(q.logProbElementwise(z), pd.logProbElementwise(z)), [batch, -1]) as tf.Tensor2D;
  });
}

export interface KlTermOptions {
  /** Free bits lambda in nats per latent dimension (see `freeBitsKl`); 0 or undefined = off. */
  freeBits?: number;
  /** 'sum-mean' (default: sum over latent dimensions, mean over the batch) or 'mean' (mean over every element). */
  reduction?: Reduction;
}

/**
 * The analytic KL term KL(q(z|x) || p(z)) as a scalar.
 *
 * With `freeBits` > 0 it is `freeBitsKl(klPerDimension(q, p), freeBits)`.
 * With reduction 'mean' the result is divided by the number of latent
 * dimensions (the mean over every element), with or without free bits.
 *
 * @param q [batch, ...event] posterior
 * @param p prior distribution of the same shape, or a Prior
 * @returns scalar, nats per example by default
 * @example
 * const kl = klTerm(encoder.forward(x), new StandardNormal([batch, latentDim]), { freeBits: 0.5 });
 */
export function klTerm(q: Distribution, p: Distribution | Prior, options: KlTermOptions = {}): tf.Scalar {
  const reduction = checkReduction(options.reduction, 'klTerm');
  const lambda = options.freeBits ?? 0;
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`klTerm: freeBits must be a finite number >= 0, got ${options.freeBits}`);
  return tf.tidy(() => {
    const perDim = klPerDimension(q, p, { estimator: 'analytic' });
    const d = perDim.shape[1];
    const summed = lambda > 0 ? freeBitsKl(perDim, lambda) : tf.mean(tf.sum(perDim, 1));
    return (reduction === 'mean' ? tf.div(summed, d) : summed) as tf.Scalar;
  });
}

/**
 * Monte-Carlo estimate of KL(q || p) = E_q[log q(z) - log p(z)] for any pair
 * with log densities, averaged over `samples` fresh draws from q (for a
 * standalone estimate; inside the objective `klPerDimension` uses the
 * reconstruction's draw). Uses q.rsample when q has one, so the estimate is
 * differentiable in q's parameters.
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
