import type * as tf from '@tensorflow/tfjs-core';
import type { GenerativeModel } from '@elbo/core';
import { posteriorMeans } from '../likelihood/latent-usage';
import { type PointMatrix, toColumns } from './columns';
import { fitLinearSvm1d, predictLinearSvm1d } from './linear-svm-1d';

export interface SapResult {
  /** Mean over factors of the top-1 minus top-2 score. */
  sap: number;
  /** [codes][factors] scores (test accuracy, or R^2 for continuous factors). */
  scores: number[][];
}

export interface SapOptions {
  /** Treat the factors as continuous (R^2 of each code-factor pair, ddof 1) instead of classifying. Default false. */
  continuousFactors?: boolean;
  /** C of the linear SVM (default 0.01, as disentanglement_lib). */
  C?: number;
}

/**
 * Separated Attribute Predictability (Kumar et al. 2018) exactly as
 * disentanglement_lib's `sap_score.py`: for discrete factors, score[i][j] is
 * the test accuracy of `LinearSVC(C=0.01, class_weight='balanced')` trained to
 * predict factor j from code dimension i alone (our 1-D solver reaches the
 * same optimum); SAP = mean_j (top-1 - top-2) of score[:, j].
 * disentanglement_lib uses 10,000 train and 5,000 test points by default.
 * @param codes [n, numCodes] train posterior means @param factors [n, numFactors]
 * @param testCodes [m, numCodes] @param testFactors [m, numFactors]
 */
export function sap(codes: PointMatrix, factors: PointMatrix, testCodes: PointMatrix, testFactors: PointMatrix, options: SapOptions = {}): SapResult {
  const C = options.C ?? 0.01;
  const mu = toColumns(codes, 'sap: codes');
  const ys = toColumns(factors, 'sap: factors');
  const muTest = toColumns(testCodes, 'sap: testCodes');
  const ysTest = toColumns(testFactors, 'sap: testFactors');
  if (mu[0].length !== ys[0].length) throw new Error(`sap: codes and factors must have the same number of rows (${mu[0].length} vs ${ys[0].length})`);
  if (muTest[0].length !== ysTest[0].length) throw new Error(`sap: testCodes and testFactors must have the same number of rows`);
  if (muTest.length !== mu.length || ysTest.length !== ys.length) throw new Error('sap: test and train must have the same numbers of codes and factors');
  if (mu.length < 2) throw new Error(`sap: needs at least 2 code dimensions, got ${mu.length}`);
  const scores = mu.map((m, i) =>
    ys.map((y, j) => {
      if (options.continuousFactors) return squaredCorrelation(m, y);
      const svm = fitLinearSvm1d(m, y, { C, classWeight: 'balanced' });
      const pred = predictLinearSvm1d(svm, muTest[i]);
      let correct = 0;
      for (let r = 0; r < pred.length; r++) if (pred[r] === ysTest[j][r]) correct++;
      return correct / pred.length;
    }),
  );
  let sum = 0;
  for (let j = 0; j < ys.length; j++) {
    const col = scores.map((row) => row[j]).sort((a, b) => b - a);
    sum += col[0] - col[1];
  }
  return { sap: sum / ys.length, scores };
}

/** cov(m, y)^2 / (var m var y) with ddof 1; 0 when var m <= 1e-12 (disentanglement_lib's continuous branch). */
function squaredCorrelation(m: Float64Array, y: Float64Array): number {
  const n = m.length;
  const mm = m.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let cxy = 0;
  let vx = 0;
  let vy = 0;
  for (let i = 0; i < n; i++) {
    cxy += (m[i] - mm) * (y[i] - my);
    vx += (m[i] - mm) ** 2;
    vy += (y[i] - my) ** 2;
  }
  vx /= n - 1;
  vy /= n - 1;
  cxy /= n - 1;
  return vx > 1e-12 ? (cxy * cxy) / (vx * vy) : 0;
}

/**
 * SAP of a model's posterior means.
 * @param images [n, ...inputShape] @param factors [n, numFactors] (train), and the test split
 */
export function sapOfModel(
  model: GenerativeModel,
  images: tf.Tensor,
  factors: PointMatrix,
  testImages: tf.Tensor,
  testFactors: PointMatrix,
  options: SapOptions & { batchSize?: number } = {},
): SapResult {
  const rows = (x: tf.Tensor) => {
    const { means, count, dim } = posteriorMeans(model, x, options.batchSize ?? 128);
    return Array.from({ length: count }, (_, i) => means.subarray(i * dim, (i + 1) * dim));
  };
  return sap(rows(images), factors, rows(testImages), testFactors, options);
}
