import type * as tf from '@tensorflow/tfjs-core';
import type { GenerativeModel } from '@elbo/core';
import { posteriorMeans } from '../likelihood/latent-usage';
import { type PointMatrix, toColumns } from './columns';
import { discreteEntropy, histogramDiscretize, mutualInfoScore } from './mutual-information';

export interface MigResult {
  /** Mean over factors of (top-1 - top-2 mutual information) / H(factor). */
  mig: number;
  /** [codes][factors] mutual information in nats. */
  mutualInformation: number[][];
  /** Entropy of each factor, nats. */
  factorEntropy: number[];
}

/**
 * Mutual Information Gap (Chen et al. 2018) exactly as disentanglement_lib's
 * `mig.py`: every code dimension is discretised into 20 equal-width bins
 * (np.histogram edges), m[i, j] = mutual_info_score(factor j, code i) in nats,
 * and MIG = mean_j (sorted m[:, j] top-1 - top-2) / H(factor j).
 * disentanglement_lib uses 10,000 points by default.
 * @param codes [n, numCodes] posterior means
 * @param factors [n, numFactors] discrete ground-truth factors
 */
export function mig(codes: PointMatrix, factors: PointMatrix, options: { bins?: number } = {}): MigResult {
  const bins = options.bins ?? 20;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`mig: bins must be a positive integer, got ${bins}`);
  const c = toColumns(codes, 'mig: codes');
  const f = toColumns(factors, 'mig: factors');
  if (c[0].length !== f[0].length) throw new Error(`mig: codes and factors must have the same number of rows (${c[0].length} vs ${f[0].length})`);
  if (c.length < 2) throw new Error(`mig: needs at least 2 code dimensions (top-1 minus top-2), got ${c.length}`);
  const discrete = c.map((col) => histogramDiscretize(col, bins));
  const m = discrete.map((code) => f.map((factor) => mutualInfoScore(factor, code)));
  const entropy = f.map((factor, j) => {
    const h = discreteEntropy(factor);
    if (!(h > 0)) throw new Error(`mig: factor ${j} is constant (zero entropy); MIG normalises by the factor entropy`);
    return h;
  });
  let sum = 0;
  for (let j = 0; j < f.length; j++) {
    const col = m.map((row) => row[j]).sort((a, b) => b - a);
    sum += (col[0] - col[1]) / entropy[j];
  }
  return { mig: sum / f.length, mutualInformation: m, factorEntropy: entropy };
}

/**
 * MIG of a model's posterior means on images with known factors.
 * @param images [n, ...inputShape] @param factors [n, numFactors]
 */
export function migOfModel(model: GenerativeModel, images: tf.Tensor, factors: PointMatrix, options: { bins?: number; batchSize?: number } = {}): MigResult {
  const { means, count, dim } = posteriorMeans(model, images, options.batchSize ?? 128);
  const rows = Array.from({ length: count }, (_, i) => means.subarray(i * dim, (i + 1) * dim));
  return mig(rows, factors, options);
}
