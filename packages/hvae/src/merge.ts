import { DiagonalGaussian } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The Ladder VAE's precision-weighted merge (Sønderby et al. 2016, eq. 18-19)
 * of the bottom-up estimate N(mu_a, var_a) and the top-down prior
 * N(mu_b, var_b) into the posterior of one level:
 *
 *   var = 1 / (1/var_a + 1/var_b),   mu = (mu_a/var_a + mu_b/var_b) * var.
 *
 * Computed in log-variance so no precision is formed explicitly (it would
 * overflow for logVar < -88): logVar = logVar_a - softplus(logVar_a - logVar_b),
 * and the weights var/var_a = sigmoid(logVar_b - logVar_a) and
 * var/var_b = sigmoid(logVar_a - logVar_b) lie in (0, 1) and sum to 1.
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
    const d = tf.sub(a.logVar, b.logVar);
    const lv = tf.broadcastTo(tf.sub(a.logVar, tf.softplus(d)), a.shape);
    // sigmoid(-d) + sigmoid(d) = 1: a convex combination of the two means.
    const loc = tf.add(tf.mul(a.loc, tf.sigmoid(tf.neg(d))), tf.mul(b.loc, tf.sigmoid(d)));
    return [loc, lv];
  });
  return new DiagonalGaussian(loc, logVar);
}
