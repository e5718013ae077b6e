import * as tf from '@tensorflow/tfjs-core';

/**
 * How an elementwise loss becomes one scalar.
 *
 * - `'sum-mean'` (default): sum over every axis but the batch axis, then mean
 *   over the batch. For a negative log-likelihood this is the ELBO's term in
 *   nats per example, the quantity papers report and the one the KL (summed
 *   over latent dimensions) is on the same scale as.
 * - `'mean'`: mean over every element, PyTorch's default `reduction='mean'`
 *   in `F.binary_cross_entropy` / `F.mse_loss`. It divides the reconstruction
 *   by the number of pixels, which silently turns a KL weight of 1 into one of
 *   `pixels` relative to the ELBO. With 'mean' the KL term is likewise the
 *   mean over batch and latent dimensions,
 *   `-0.5 * torch.mean(1 + log_var - mu^2 - exp(log_var))`.
 *
 * 'mean' of a log-likelihood is a mean NLL, so for a Bernoulli it is exactly
 * PyTorch's BCE; for a Gaussian with logVar 0 it is MSE / 2 + log(2 pi) / 2,
 * and with logVar = log(1/2) it is MSE + a constant (`F.mse_loss`, same gradient).
 */
export type Reduction = 'sum-mean' | 'mean';

export const REDUCTIONS: readonly Reduction[] = ['sum-mean', 'mean'];

/** Throws a clear error unless `reduction` is one of REDUCTIONS. */
export function checkReduction(reduction: unknown, where: string): Reduction {
  if (reduction === undefined) return 'sum-mean';
  if (!REDUCTIONS.includes(reduction as Reduction)) {
    throw new Error(`${where}: reduction must be one of ${REDUCTIONS.map((r) => `'${r}'`).join(', ')}, got ${String(reduction)}`);
  }
  return reduction as Reduction;
}

/**
 * Reduce an elementwise tensor to a scalar.
 * @param x [batch, ...] elementwise values (a rank-1 tensor is one value per example)
 */
export function reduceLoss(x: tf.Tensor, reduction: Reduction = 'sum-mean'): tf.Scalar {
  return tf.tidy(() => {
    if (x.rank === 0) return x.clone() as tf.Scalar;
    if (reduction === 'mean') return tf.mean(x) as tf.Scalar;
    return tf.mean(perExample(x)) as tf.Scalar;
  });
}

/** Sum over every axis but the first: [batch, ...] -> [batch]. */
export function perExample(x: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    if (x.rank < 1) throw new Error(`perExample: expected a tensor with a batch axis, got rank ${x.rank}`);
    if (x.rank === 1) return x.clone() as tf.Tensor1D;
    return tf.sum(tf.reshape(x, [x.shape[0], -1]), 1) as tf.Tensor1D;
  });
}

/** Throws unless a and b have the same shape, naming both arguments. */
export function checkSameShape(where: string, aName: string, a: tf.Tensor, bName: string, b: tf.Tensor): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${where}: ${aName} [${a.shape.join(', ')}] and ${bName} [${b.shape.join(', ')}] must have the same shape`);
  }
}
