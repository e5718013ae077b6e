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

/**
 * One-hot rows as float32: [..., depth]. Built as int32 and cast, because
 * tfjs-backend-wasm 4.22's OneHot with dtype float32 stores the integer bit
 * pattern (every 1 reads back as 1.4e-45).
 */
export function oneHotFloat(indices: tf.Tensor | number[], depth: number): tf.Tensor {
  return tf.tidy(() => {
    const idx = Array.isArray(indices) ? tf.tensor1d(indices, 'int32') : tf.cast(indices, 'int32');
    return tf.cast(tf.oneHot(idx, depth), 'float32');
  });
}
