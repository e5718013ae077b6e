import * as tf from '@tensorflow/tfjs-core';
import { DiagonalGaussian, klElementwise, StandardNormal } from '@elbo/core';

/**
 * Analytic KL between diagonal Gaussians, per element, from raw tensors.
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
