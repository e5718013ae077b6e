import * as tf from '@tensorflow/tfjs-core';
import { type EvalData, checkPositiveInt, forEachBatch } from '../data';
import type { FeatureExtractor } from '../features/feature-extractor';
import { type FeatureStatistics, FeatureStatisticsAccumulator, frechetDistance } from './frechet';

export interface ExtractorOptions {
  /** The feature network (e.g. `await mnistClassifier()` for "FID (MNIST classifier)"). */
  extractor: FeatureExtractor;
  /** Images per forward pass when data is a tensor (default 250). */
  batchSize?: number;
}

function checkExtractor(options: ExtractorOptions, fn: string): FeatureExtractor {
  const e = options?.extractor;
  if (!e || typeof e.features !== 'function') throw new Error(`${fn}: options.extractor must be a FeatureExtractor (an object with features(x)), e.g. await mnistClassifier()`);
  return e;
}

/** Feature mean and covariance of a data set under an extractor, in batches. */
export function extractorStatistics(data: EvalData, options: ExtractorOptions): FeatureStatistics {
  const extractor = checkExtractor(options, 'extractorStatistics');
  const acc = new FeatureStatisticsAccumulator();
  forEachBatch(data, checkPositiveInt(options.batchSize ?? 250, 'batchSize'), ({ x }) => {
    const f = extractor.features(x);
    try {
      acc.add(f);
    } finally {
      f.dispose();
    }
  });
  return acc.result();
}

/**
 * Fréchet distance between the feature statistics of real and generated images
 * (FID of Heusel et al. 2017 when the extractor is Inception; "FID (MNIST
 * classifier)" with the shipped classifier, as TF-GAN's mnist_frechet_distance).
 * Either argument may be precomputed statistics.
 * @param real [n, ...imageShape], a BatchSource, or FeatureStatistics
 * @param generated same, e.g. `modelSamples(model, 10000)`
 */
export function fid(real: EvalData | FeatureStatistics, generated: EvalData | FeatureStatistics, options: ExtractorOptions): number {
  const stats = (d: EvalData | FeatureStatistics) => (isStatistics(d) ? d : extractorStatistics(d, options));
  return frechetDistance(stats(real), stats(generated));
}

function isStatistics(x: unknown): x is FeatureStatistics {
  return !(x instanceof tf.Tensor) && typeof x === 'object' && x !== null && 'covariance' in x && 'mean' in x;
}

export interface InceptionScoreResult {
  /** Mean over splits of exp(E_x KL(p(y|x) || p(y))). */
  mean: number;
  /** Standard deviation over splits (ddof 0, as the reference implementation's np.std). */
  std: number;
  splits: number;
}

/**
 * Inception Score (Salimans et al. 2016) from class probabilities [n, classes]:
 * the data is cut into `splits` consecutive parts; per part,
 * exp(mean_x KL(p(y|x) || p(y))) with p(y) that part's mean. Float64.
 */
export function inceptionScoreFromProbabilities(probs: Float64Array | Float32Array, classes: number, splits = 10): InceptionScoreResult {
  checkPositiveInt(classes, 'classes');
  const n = probs.length / classes;
  if (!Number.isInteger(n) || n < splits) throw new Error(`inceptionScore: need at least ${splits} examples (one per split), got ${n}`);
  checkPositiveInt(splits, 'splits');
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const lo = Math.floor((s * n) / splits);
    const hi = Math.floor(((s + 1) * n) / splits);
    const py = new Float64Array(classes);
    for (let r = lo; r < hi; r++) for (let c = 0; c < classes; c++) py[c] += probs[r * classes + c];
    for (let c = 0; c < classes; c++) py[c] /= hi - lo;
    let kl = 0;
    for (let r = lo; r < hi; r++) {
      for (let c = 0; c < classes; c++) {
        const p = probs[r * classes + c];
        if (p > 0) kl += p * (Math.log(p) - Math.log(py[c]));
      }
    }
    scores.push(Math.exp(kl / (hi - lo)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, splits };
}

/**
 * Inception Score of images under a classifier with `probabilities`
 * (the shipped MNIST classifier by default use: `{ extractor: await mnistClassifier() }`).
 * @param data [n, ...imageShape] or a BatchSource, e.g. `modelSamples(model, 10000)`
 */
export function inceptionScore(data: EvalData, options: ExtractorOptions & { splits?: number }): InceptionScoreResult {
  const extractor = checkExtractor(options, 'inceptionScore');
  if (typeof extractor.probabilities !== 'function') throw new Error(`inceptionScore: extractor "${extractor.name}" has no probabilities(x)`);
  const rows: Float32Array[] = [];
  let classes = 0;
  forEachBatch(data, checkPositiveInt(options.batchSize ?? 250, 'batchSize'), ({ x }) => {
    const p = (extractor.probabilities as (x: tf.Tensor) => tf.Tensor2D)(x);
    classes = p.shape[1];
    rows.push(Float32Array.from(p.dataSync()));
    p.dispose();
  });
  const all = new Float64Array(rows.reduce((s, r) => s + r.length, 0));
  let o = 0;
  for (const r of rows) {
    all.set(r, o);
    o += r.length;
  }
  return inceptionScoreFromProbabilities(all, classes, options.splits ?? 10);
}
