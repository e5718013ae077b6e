import * as tf from '@tensorflow/tfjs-core';

function checkPair(a: tf.Tensor, b: tf.Tensor, fn: string): void {
  if (a.shape.join(',') !== b.shape.join(',')) {
    throw new Error(`${fn}: a and b must have the same shape, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  if (a.size === 0) throw new Error(`${fn}: inputs are empty`);
}

/**
 * Mean squared error over every element.
 * @param a [n, ...] @param b same shape as a
 */
export function mse(a: tf.Tensor, b: tf.Tensor): number {
  checkPair(a, b, 'mse');
  const r = tf.tidy(() => tf.mean(tf.squaredDifference(tf.cast(a, 'float32'), tf.cast(b, 'float32'))));
  const v = r.dataSync()[0];
  r.dispose();
  return v;
}

/**
 * Mean absolute error (L1) over every element.
 * @param a [n, ...] @param b same shape as a
 */
export function l1(a: tf.Tensor, b: tf.Tensor): number {
  checkPair(a, b, 'l1');
  const r = tf.tidy(() => tf.mean(tf.abs(tf.sub(tf.cast(a, 'float32'), tf.cast(b, 'float32')))));
  const v = r.dataSync()[0];
  r.dispose();
  return v;
}

export interface PsnrOptions {
  /** Range of the pixel values (max - min possible), e.g. 1 for [0, 1] images or 255. Required: no guessing. */
  dataRange: number;
  /**
   * 'global' (default): 10 log10(R^2 / MSE) with the MSE over the whole batch, as
   * scikit-image's `peak_signal_noise_ratio` on the stacked array; 'mean': the mean of per-example PSNRs.
   */
  reduction?: 'global' | 'mean';
}

/**
 * Peak signal-to-noise ratio in dB. Infinity when the images are identical.
 * @param a [n, ...] @param b same shape as a
 */
export function psnr(a: tf.Tensor, b: tf.Tensor, options: PsnrOptions): number {
  checkPair(a, b, 'psnr');
  const { dataRange, reduction = 'global' } = options ?? ({} as PsnrOptions);
  if (!(dataRange > 0) || !Number.isFinite(dataRange)) throw new Error(`psnr: dataRange must be a positive number, got ${dataRange}`);
  if (reduction !== 'global' && reduction !== 'mean') throw new Error(`psnr: reduction must be 'global' or 'mean', got ${String(reduction)}`);
  const perExample = tf.tidy(() => {
    const d = tf.squaredDifference(tf.cast(a, 'float32'), tf.cast(b, 'float32'));
    return tf.mean(tf.reshape(d, [a.shape[0], -1]), 1);
  });
  const m = Array.from(perExample.dataSync());
  perExample.dispose();
  const db = (e: number) => 10 * Math.log10((dataRange * dataRange) / e);
  if (reduction === 'global') return db(m.reduce((s, v) => s + v, 0) / m.length);
  return m.reduce((s, v) => s + db(v), 0) / m.length;
}
