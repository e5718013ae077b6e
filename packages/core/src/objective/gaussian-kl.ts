import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernel name of KL(N(loc, exp(logVar)) || N(0, 1)) per element, which a
 * backend may register with its gradient: inputs loc and logVar (same shape,
 * float32), output -0.5 (1 + logVar - loc^2 - exp(logVar)). `klPerDimension`
 * runs it for a diagonal Gaussian posterior against the standard normal where
 * the active backend has it: one kernel forward and one backward where the
 * ops take six forward and about fifteen backward on a [batch, latentDim]
 * tensor, each costing a kernel call more than its arithmetic.
 */
export const GAUSSIAN_KL_KERNEL = 'ElboGaussianKl';

/**
 * KL(N(loc, exp(logVar)) || N(0, 1)) per element, in one kernel where the
 * active backend registers GAUSSIAN_KL_KERNEL, else as tfjs ops (the formula
 * core registers for the pair).
 * @param loc [batch, ...]
 * @param logVar [batch, ...], the shape of loc
 * @returns [batch, ...]
 */
export function gaussianKl(loc: tf.Tensor, logVar: tf.Tensor): tf.Tensor {
  if (!tf.util.arraysEqual(loc.shape, logVar.shape)) throw new Error(`gaussianKl: loc [${loc.shape}] and logVar [${logVar.shape}] must have one shape`);
  if (tf.getKernel(GAUSSIAN_KL_KERNEL, tf.getBackend()) && loc.dtype === 'float32' && logVar.dtype === 'float32') {
    return tf.engine().runKernel(GAUSSIAN_KL_KERNEL, { loc, logVar }, {}) as tf.Tensor;
  }
  return tf.tidy(() => tf.mul(tf.sub(tf.add(1, logVar), tf.add(tf.square(loc), tf.exp(logVar))), -0.5));
}
