import * as tf from '@tensorflow/tfjs-core';
import { Bernoulli } from '../distributions/bernoulli';
import { DiagonalGaussian } from '../distributions/diagonal-gaussian';
import type { Distribution } from '../distributions/distribution';
import { Laplace } from '../distributions/laplace';

/**
 * The decoder's likelihood family. "BCE", "MSE" and "L1" are the negative
 * log-likelihoods of these (up to constants), not separate code paths.
 */
export const LIKELIHOODS = ['bernoulli', 'gaussian', 'laplace'] as const;
export type LikelihoodFamily = (typeof LIKELIHOODS)[number];

export interface LikelihoodOptions {
  /**
   * Gaussian: fixed log-variance (default 0, i.e. variance 1: -log p = MSE/2 +
   * const) or 'learned' for one learned log-variance per output element.
   * Laplace: the same for log-scale.
   */
  logScale?: number | 'learned';
}

/**
 * Build the likelihood distribution from the decoder's raw output.
 * @param params [batch, ...shape] logits (bernoulli) or location; for a learned
 *   scale, the location and log-scale stacked on the last axis ([..., 2c]).
 */
export function makeLikelihood(family: LikelihoodFamily, params: tf.Tensor, options: LikelihoodOptions = {}): Distribution {
  if (family === 'bernoulli') return new Bernoulli(params);
  const learned = options.logScale === 'learned';
  let loc = params;
  let logScale: tf.Tensor;
  if (learned) {
    const c = params.shape[params.rank - 1];
    [loc, logScale] = tf.split(params, [c / 2, c / 2], -1);
    // Keep the learned scale in a numerically safe range.
    logScale = tf.clipByValue(logScale, -7, 5);
  } else {
    logScale = tf.scalar(typeof options.logScale === 'number' ? options.logScale : 0);
  }
  if (family === 'gaussian') return new DiagonalGaussian(loc, logScale);
  if (family === 'laplace') return new Laplace(loc, logScale);
  throw new Error(`Unknown likelihood "${family as string}" (allowed: ${LIKELIHOODS.join(', ')})`);
}

/** How many raw outputs per data element the decoder must produce. */
export function likelihoodParamsPerElement(family: LikelihoodFamily, options: LikelihoodOptions = {}): number {
  return family !== 'bernoulli' && options.logScale === 'learned' ? 2 : 1;
}

/**
 * The likelihood mean in data space (what reconstructions and samples show):
 * sigmoid(logits) for bernoulli, the location otherwise.
 */
export function likelihoodMean(d: Distribution): tf.Tensor {
  return d.mean();
}
