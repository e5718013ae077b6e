import * as tf from '@tensorflow/tfjs-core';
import { type BatchSource, disposeBatch, type GenerativeModel, type LossContext } from '../model';

/**
 * Per-example averages of the loss and each term over a source (the model
 * as it is: `fit` puts it in eval mode first). Sums stay on the device; one
 * read at the end.
 */
export async function evaluate(model: GenerativeModel, source: BatchSource, context: LossContext): Promise<Record<string, number>> {
  let sums: tf.Tensor1D | null = null;
  let names: string[] = [];
  let count = 0;
  try {
    for (const batch of source.batches(0)) {
      try {
        const n = batch.x.shape[0];
        const prev: tf.Tensor1D | null = sums;
        sums = tf.tidy(() => {
          const out = model.loss(batch, context);
          names = ['loss', ...Object.keys(out.terms)];
          const v = tf.mul(tf.stack([out.loss, ...Object.values(out.terms)].map((t) => tf.reshape(t, []))), n) as tf.Tensor1D;
          return prev ? (tf.add(prev, v) as tf.Tensor1D) : v;
        });
        prev?.dispose();
        count += n;
      } finally {
        disposeBatch(batch);
      }
    }
    if (!sums) return {};
    const values = await (sums as tf.Tensor1D).data();
    return Object.fromEntries(names.map((k, i) => [k, values[i] / Math.max(1, count)]));
  } finally {
    (sums as tf.Tensor1D | null)?.dispose();
  }
}
