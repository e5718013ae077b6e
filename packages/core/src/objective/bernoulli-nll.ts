import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernel name of the Bernoulli negative log-likelihood from logits, per
 * element, which a backend may register with its gradient: inputs logits and
 * x (same shape, float32), output max(l, 0) - l x + log1p(exp(-|l|)) =
 * softplus(l) - l x, NaN wherever l or x is NaN. `negLogLikelihood` runs it
 * for a Bernoulli likelihood where the active backend has it: one kernel
 * forward and one backward where the ops take nine forward and about twenty
 * backward, each a call and an array the size of the data.
 */
export const BERNOULLI_NLL_KERNEL = 'ElboBernoulliNll';

/**
 * -log Bernoulli(x; logits) per element, in one kernel where the active
 * backend registers BERNOULLI_NLL_KERNEL, else as tfjs ops.
 * @param logits [batch, ...]
 * @param x [batch, ...] targets in [0, 1], the shape of logits
 * @returns [batch, ...]
 */
export function bernoulliNll(logits: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (tf.getKernel(BERNOULLI_NLL_KERNEL, tf.getBackend()) && logits.dtype === 'float32' && x.dtype === 'float32') {
    return tf.engine().runKernel(BERNOULLI_NLL_KERNEL, { logits, x }, {}) as tf.Tensor;
  }
  return tf.tidy(() => tf.add(tf.sub(tf.relu(logits), tf.mul(logits, x)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))));
}
