import * as tf from '@tensorflow/tfjs-core';

/**
 * Free bits (Kingma et al. 2016, "Improved variational inference with inverse
 * autoregressive flow"), the paper's version:
 *
 *   sum_j max(lambda, mean_over_batch KL_j)
 *
 * The KL of each latent dimension j is first averaged over the batch, then
 * clamped below at lambda, then summed over dimensions. A dimension whose
 * batch-averaged KL is at or below lambda contributes the constant lambda (no
 * gradient: the encoder is free to use those nats); a dimension above lambda
 * contributes its KL unchanged, with its full gradient.
 *
 * A per-example variant seen in VAE tutorials, d * max(sum_j KL_j / d - lambda, 0),
 * clamps the average over dimensions instead, so one clamp frees every
 * dimension of an example or none and nothing is averaged over the batch
 * first; that is not the paper's objective and is not implemented here.
 *
 * @param klPerDim [batch, d] elementwise KL (e.g. `klPerDimension(q, p)`)
 * @param lambda nats per dimension, >= 0
 * @returns scalar (nats per example)
 */
export function freeBitsKl(klPerDim: tf.Tensor, lambda: number): tf.Scalar {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`freeBitsKl: lambda must be a finite number >= 0, got ${lambda}`);
  if (klPerDim.rank !== 2) throw new Error(`freeBitsKl: klPerDim must be [batch, d], got [${klPerDim.shape.join(', ')}]`);
  return tf.tidy(() => tf.sum(tf.maximum(tf.mean(klPerDim, 0), lambda)) as tf.Scalar);
}
