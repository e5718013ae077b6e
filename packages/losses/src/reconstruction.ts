import * as tf from '@tensorflow/tfjs-core';
import { Bernoulli, checkReduction, checkSameShape, DiagonalGaussian, type Distribution, Laplace, negLogLikelihood, perExample, type Reduction } from '@elbo/core';

export interface ReconstructionOptions {
  /** 'sum-mean' (default: nats per example) or 'mean' (mean over every element, PyTorch's default). See `Reduction`. */
  reduction?: Reduction;
}

/**
 * The reconstruction term -log p(x | z) of the ELBO for any likelihood from
 * @elbo/core (Bernoulli = BCE with logits, Gaussian = MSE with a scale,
 * Laplace = L1 with a scale), reduced to a scalar.
 *
 * @param likelihood p(x | z) with shape [batch, ...event]
 * @param x [batch, ...event] observed data
 * @returns scalar negative log-likelihood (nats per example by default)
 *
 * @example
 * const nll = reconstructionLoss(decoder.forward(z), x); // sum over pixels, mean over the batch
 */
export function reconstructionLoss(likelihood: Distribution, x: tf.Tensor, options: ReconstructionOptions = {}): tf.Scalar {
  const reduction = checkReduction(options.reduction, 'reconstructionLoss');
  checkLikelihoodShape('reconstructionLoss', likelihood, x);
  return tf.tidy(() => {
    const nll = negLogLikelihood(likelihood, x);
    return (reduction === 'mean' ? tf.mean(nll) : tf.mean(perExample(nll))) as tf.Scalar;
  });
}

/**
 * -log p(x | z) per example, summed over the event axes.
 * @param likelihood [batch, ...event]
 * @param x [batch, ...event]
 * @returns [batch]
 */
export function reconstructionPerExample(likelihood: Distribution, x: tf.Tensor): tf.Tensor1D {
  checkLikelihoodShape('reconstructionPerExample', likelihood, x);
  return tf.tidy(() => tf.neg(likelihood.logProb(x)) as tf.Tensor1D);
}

function checkLikelihoodShape(where: string, likelihood: Distribution, x: tf.Tensor): void {
  const s = likelihood.shape;
  if (s.length !== x.rank || s.some((d, i) => d !== x.shape[i])) {
    throw new Error(`${where}: x [${x.shape.join(', ')}] must have the likelihood's shape [${s.join(', ')}]`);
  }
}

/**
 * Bernoulli negative log-likelihood from logits, i.e. binary cross-entropy
 * with logits, computed stably (never forms log(sigmoid(l)) directly; see
 * core's `Bernoulli`). Targets may be grey levels in [0, 1].
 *
 * @param x [batch, ...] targets in [0, 1]
 * @param logits [batch, ...] same shape as x
 */
export function bernoulliNll(x: tf.Tensor, logits: tf.Tensor, options: ReconstructionOptions = {}): tf.Scalar {
  checkSameShape('bernoulliNll', 'x', x, 'logits', logits);
  return reconstructionLoss(new Bernoulli(logits), x, options);
}

export interface GaussianNllOptions extends ReconstructionOptions {
  /**
   * Log-variance: a number (fixed variance; default 0, i.e. variance 1) or a
   * tensor broadcastable to `mean` (a learned variance, e.g. a decoder output
   * or a variable). With logVar = 0 the loss per element is
   * (x - mean)^2 / 2 + log(2 pi) / 2: MSE is this likelihood up to a factor
   * and a constant.
   */
  logVar?: number | tf.Tensor;
}

/**
 * Gaussian negative log-likelihood, -log N(x; mean, exp(logVar)).
 * @param x [batch, ...]
 * @param mean [batch, ...] same shape as x
 */
export function gaussianNll(x: tf.Tensor, mean: tf.Tensor, options: GaussianNllOptions = {}): tf.Scalar {
  checkSameShape('gaussianNll', 'x', x, 'mean', mean);
  const logVar = options.logVar ?? 0;
  if (typeof logVar === 'number' && !Number.isFinite(logVar)) throw new Error(`gaussianNll: logVar must be a finite number or a tensor, got ${logVar}`);
  return tf.tidy(() => {
    const lv = typeof logVar === 'number' ? tf.scalar(logVar) : logVar;
    return reconstructionLoss(new DiagonalGaussian(mean, lv), x, options);
  });
}

/**
 * Laplace negative log-likelihood, -log Laplace(x; loc, exp(logScale)):
 * |x - loc| / b + log(2 b) per element, so L1 is its special case (b = 1).
 * @param x [batch, ...]
 * @param loc [batch, ...] same shape as x
 * @param logScale log b: a number (default 0) or a tensor broadcastable to loc
 */
export function laplaceNll(x: tf.Tensor, loc: tf.Tensor, logScale: number | tf.Tensor = 0, options: ReconstructionOptions = {}): tf.Scalar {
  checkSameShape('laplaceNll', 'x', x, 'loc', loc);
  if (typeof logScale === 'number' && !Number.isFinite(logScale)) throw new Error(`laplaceNll: logScale must be a finite number or a tensor, got ${logScale}`);
  return tf.tidy(() => {
    const ls = typeof logScale === 'number' ? tf.scalar(logScale) : logScale;
    return reconstructionLoss(new Laplace(loc, ls), x, options);
  });
}
