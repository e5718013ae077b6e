import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type BatchSource, disposeBatch } from '@elbo/core';

/** Evaluation data: a tensor of examples [n, ...] (split into batches here) or a BatchSource (one epoch, epoch 0). */
export type EvalData = tf.Tensor | BatchSource;

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/** Check a batch size argument; `name` is the caller's option name for the error. */
export function checkPositiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Run `fn` on every batch of `data`, disposing each batch afterwards (the
 * caller's tensor itself is left alone). `fn` gets the batch's x and optional
 * condition / labels.
 */
export function forEachBatch(data: EvalData, batchSize: number, fn: (batch: Batch) => void): void {
  checkPositiveInt(batchSize, 'batchSize');
  if (isTensor(data)) {
    const n = data.shape[0];
    if (data.rank < 1 || n === 0) throw new Error(`data must be a non-empty tensor [n, ...], got [${data.shape.join(', ')}]`);
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const x = tf.slice(data, start, size);
      try {
        fn({ x });
      } finally {
        x.dispose();
      }
    }
    return;
  }
  if (!data || typeof (data as BatchSource).batches !== 'function') {
    throw new Error('data must be a tf.Tensor [n, ...] or a BatchSource (an object with batches(epoch))');
  }
  for (const batch of data.batches(0)) {
    try {
      fn(batch);
    } finally {
      disposeBatch(batch);
    }
  }
}

/** Read a tensor as float64 numbers (the metrics' arithmetic is done in double precision). */
export function toFloat64(x: tf.Tensor): Float64Array {
  return Float64Array.from(x.dataSync() as Float32Array);
}
