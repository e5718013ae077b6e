import { DiagonalGaussian } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * log(exp(a) + exp(b)) elementwise, stable for large |a - b|.
 * @param a any shape
 * @param b broadcastable to a
 */
export function logAddExp(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.maximum(a, b), tf.log1p(tf.exp(tf.neg(tf.abs(tf.sub(a, b)))))));
}

/**
 * The Ladder VAE's precision-weighted merge (Sønderby et al. 2016, eq. 18-19)
 * of the bottom-up estimate N(mu_a, var_a) and the top-down prior
 * N(mu_b, var_b) into the posterior of one level:
 *
 *   var = 1 / (1/var_a + 1/var_b),   mu = (mu_a/var_a + mu_b/var_b) * var.
 *
 * Computed in log-variance so neither precision is formed explicitly:
 * logVar = -logAddExp(-logVar_a, -logVar_b), and the weights
 * var/var_a = exp(logVar - logVar_a) lie in (0, 1) and sum to 1.
 *
 * @param a [batch, d] bottom-up Gaussian
 * @param b [batch, d] top-down Gaussian
 * @returns [batch, d] merged Gaussian (its tensors are new; use inside tf.tidy)
 */
export function precisionWeightedMerge(a: DiagonalGaussian, b: DiagonalGaussian): DiagonalGaussian {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`precisionWeightedMerge: shapes differ ([${a.shape.join(', ')}] vs [${b.shape.join(', ')}])`);
  }
  const [loc, logVar] = tf.tidy(() => {
    const la = tf.broadcastTo(a.logVar, a.shape);
    const lb = tf.broadcastTo(b.logVar, b.shape);
    const lv = tf.neg(logAddExp(tf.neg(la), tf.neg(lb)));
    const wa = tf.exp(tf.sub(lv, la));
    const wb = tf.exp(tf.sub(lv, lb));
    return [tf.add(tf.mul(a.loc, wa), tf.mul(b.loc, wb)), lv];
  });
  return new DiagonalGaussian(loc, logVar);
}
