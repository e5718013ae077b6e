import * as tf from '@tensorflow/tfjs-core';

const stopGradientOp = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * Identity in the forward pass, zero gradient in the backward pass
 * (tfjs-core has no stop_gradient). The straight-through estimator is
 * `x + stopGradient(q - x)`.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

/** log(sum(exp(x))) along an axis, stable (tf.logSumExp is already max-shifted). */
export function logMeanExp(x: tf.Tensor, axis: number): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.logSumExp(x, axis), Math.log(x.shape[axis] as number)));
}
