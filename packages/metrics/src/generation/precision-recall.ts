import * as tf from '@tensorflow/tfjs-core';
import { type EvalData, checkPositiveInt, forEachBatch } from '../data';
import type { FeatureExtractor } from '../features/feature-extractor';

export interface PrecisionRecallOptions {
  /** Neighbourhood size k of the k-NN balls (default 3, Kynkäänniemi et al. 2019). */
  k?: number;
  /** Rows per distance block (default 1000); memory is rows x n floats. */
  batchSize?: number;
}

/** Squared Euclidean distances between the rows of a [m, d] and b [n, d]: [m, n], clipped at 0. */
function squaredDistances(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const na = tf.sum(tf.square(a), 1, true);
    const nb = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]);
    return tf.relu(tf.sub(tf.add(na, nb), tf.mul(2, tf.matMul(a, b, false, true)))) as tf.Tensor2D;
  });
}

/** Squared distance of every row to its k-th nearest neighbour in the same set (the row itself counts as the 0-th). */
function kthNeighbourRadii(x: tf.Tensor2D, k: number, batchSize: number): tf.Tensor1D {
  const n = x.shape[0];
  if (n <= k) throw new Error(`precisionRecall: need more than k = ${k} feature vectors per set, got ${n}`);
  const parts: tf.Tensor1D[] = [];
  for (let s = 0; s < n; s += batchSize) {
    parts.push(
      tf.tidy(() => {
        const d = squaredDistances(tf.slice(x, [s, 0], [Math.min(batchSize, n - s), -1]), x);
        // k+1 smallest including the zero self-distance; as np.partition(d, k)[:, k] in the reference code.
        const { values } = tf.topk(tf.neg(d), k + 1);
        return tf.neg(tf.squeeze(tf.slice(values, [0, k], [-1, 1]), [1])) as tf.Tensor1D;
      }),
    );
  }
  const r = tf.concat(parts);
  tf.dispose(parts);
  return r as tf.Tensor1D;
}

/** Fraction of the rows of `query` inside the union of balls B(ref_j, radius_j). */
function coverage(query: tf.Tensor2D, ref: tf.Tensor2D, radii: tf.Tensor1D, batchSize: number): number {
  let inside = 0;
  for (let s = 0; s < query.shape[0]; s += batchSize) {
    const hit = tf.tidy(() => {
      const d = squaredDistances(tf.slice(query, [s, 0], [Math.min(batchSize, query.shape[0] - s), -1]), ref);
      return tf.sum(tf.cast(tf.any(tf.lessEqual(d, tf.reshape(radii, [1, -1])), 1), 'int32'));
    });
    inside += hit.dataSync()[0];
    hit.dispose();
  }
  return inside / query.shape[0];
}

/**
 * Improved precision and recall for generative models (Kynkäänniemi et al.
 * 2019): each set's manifold is the union of balls around its points with the
 * radius of the k-th nearest neighbour; precision = fraction of generated
 * features inside the real manifold, recall = fraction of real features inside
 * the generated manifold.
 * @param real [n, d] features of real images (e.g. `extractor.features(x)`)
 * @param generated [m, d] features of generated images
 */
export function precisionRecall(real: tf.Tensor2D, generated: tf.Tensor2D, options: PrecisionRecallOptions = {}): { precision: number; recall: number } {
  const k = checkPositiveInt(options.k ?? 3, 'k');
  const batchSize = checkPositiveInt(options.batchSize ?? 1000, 'batchSize');
  if (real.rank !== 2 || generated.rank !== 2 || real.shape[1] !== generated.shape[1]) {
    throw new Error(`precisionRecall: real and generated must be [n, d] with the same d, got [${real.shape.join(', ')}] and [${generated.shape.join(', ')}]`);
  }
  const realRadii = kthNeighbourRadii(real, k, batchSize);
  const genRadii = kthNeighbourRadii(generated, k, batchSize);
  try {
    return { precision: coverage(generated, real, realRadii, batchSize), recall: coverage(real, generated, genRadii, batchSize) };
  } finally {
    tf.dispose([realRadii, genRadii]);
  }
}

/**
 * Precision and recall of generated images against real ones in an
 * extractor's feature space (the features are gathered in batches, then compared).
 * @param real [n, ...imageShape] or a BatchSource @param generated same, e.g. `modelSamples(model, n)`
 */
export function precisionRecallOfImages(
  real: EvalData,
  generated: EvalData,
  options: PrecisionRecallOptions & { extractor: FeatureExtractor; extractorBatchSize?: number },
): { precision: number; recall: number } {
  if (!options?.extractor || typeof options.extractor.features !== 'function') {
    throw new Error('precisionRecallOfImages: options.extractor must be a FeatureExtractor (an object with features(x))');
  }
  const gather = (data: EvalData): tf.Tensor2D => {
    const parts: tf.Tensor2D[] = [];
    forEachBatch(data, checkPositiveInt(options.extractorBatchSize ?? 250, 'extractorBatchSize'), ({ x }) => {
      parts.push(options.extractor.features(x));
    });
    const all = tf.concat(parts) as tf.Tensor2D;
    tf.dispose(parts);
    return all;
  };
  const r = gather(real);
  const g = gather(generated);
  try {
    return precisionRecall(r, g, options);
  } finally {
    tf.dispose([r, g]);
  }
}
