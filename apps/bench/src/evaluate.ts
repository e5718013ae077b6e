import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, BenchMetrics, GenerativeModel } from '@elbo/core';
import { activeUnits, fid, importanceSampledNll, type MnistClassifier, mnistClassifier, modelSamples, mse, ssim } from '@elbo/metrics';
import { progressBar, samplerWithProgress, withProgress } from './report-progress';

export interface EvalOptions {
  batchSize?: number;
  /** Importance samples for the NLL estimate (0 = skip; Burda et al. use 5000). */
  nllSamples?: number;
  /** Examples used for the NLL estimate (it costs nllSamples decoder passes each). */
  nllExamples?: number;
  /** Generated samples for FID (MNIST classifier); 0 = skip. */
  fidSamples?: number;
  seed?: number;
  /** Conditions of the test examples ([n, conditionDim]) for a conditional model. */
  condition?: tf.Tensor;
}

export interface EvalResult {
  /** Mean over the test set of each named loss term (KL weight as trained, terms in nats per example). */
  terms: Record<string, number>;
  /** Mean squared error of reconstructions (posterior mean decoded), per pixel. */
  reconstructionMse: number;
  reconstructionSsim: number;
  activeUnits?: number;
  nll?: number;
  nllBitsPerDim?: number;
  fid?: number;
  /** The variant's own metrics (its bench hook), by name. */
  variant?: Record<string, number>;
}

let classifier: Promise<MnistClassifier> | undefined;
/** The shipped MNIST classifier, loaded once per process. */
export function sharedClassifier(): Promise<MnistClassifier> {
  if (!classifier) classifier = mnistClassifier();
  return classifier;
}

/** The metric estimators handed to variants' bench hooks. */
export const benchMetrics: BenchMetrics = {
  importanceSampledNll: (model, data, options) => importanceSampledNll(model, data, options),
  activeUnits: (model, data) => activeUnits(model, data).count,
  classifier: sharedClassifier,
};

/** Examples x (and their conditions) as test batches in order, for metrics that take a BatchSource. */
export function tensorBatches(x: tf.Tensor, condition: tf.Tensor | undefined, batchSize: number): BatchSource {
  const n = x.shape[0];
  return {
    size: n,
    batchSize,
    *batches() {
      for (let s = 0; s < n; s += batchSize) {
        const b = Math.min(batchSize, n - s);
        yield { x: tf.slice(x, s, b), ...(condition ? { condition: tf.slice(condition, s, b) } : {}) };
      }
    },
  };
}

/** Mean of each loss term over the test images (with their conditions, if any), in eval mode. */
export function testTerms(model: GenerativeModel, x: tf.Tensor, batchSize: number, condition?: tf.Tensor): Record<string, number> {
  const sums: Record<string, number> = {};
  let count = 0;
  const n = x.shape[0];
  for (let s = 0; s < n; s += batchSize) {
    const b = Math.min(batchSize, n - s);
    const values = tf.tidy(() => {
      const batch = { x: tf.slice(x, s, b), ...(condition ? { condition: tf.slice(condition, s, b) } : {}) };
      const { loss, terms } = model.loss(batch, { step: Number.MAX_SAFE_INTEGER });
      const names = ['loss', ...Object.keys(terms)];
      const packed = tf.stack([loss, ...Object.values(terms)]).dataSync();
      return names.map((k, i) => [k, packed[i]] as const);
    });
    for (const [k, v] of values) sums[k] = (sums[k] ?? 0) + v * b;
    count += b;
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / count]));
}

/** Standard evaluation of a trained model on test images x [n, ...inputShape]. */
export async function evaluateModel(model: GenerativeModel, x: tf.Tensor, options: EvalOptions = {}): Promise<EvalResult> {
  const batchSize = options.batchSize ?? 250;
  model.eval();
  const c = options.condition;
  const terms = testTerms(model, x, batchSize, c);
  const recon = tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let s = 0; s < x.shape[0]; s += batchSize) {
      const b = Math.min(batchSize, x.shape[0] - s);
      parts.push(model.reconstruct(tf.slice(x, s, b), c ? tf.slice(c, s, b) : undefined));
    }
    return tf.concat(parts);
  });
  const images = (t: tf.Tensor) => tf.reshape(t, [t.shape[0], 28, 28, 1]);
  const result: EvalResult = {
    terms,
    reconstructionMse: mse(recon, x),
    reconstructionSsim: tf.tidy(() => ssim(images(recon), images(x), { dataRange: 1 })),
  };
  recon.dispose();
  // Active units (Burda et al. 2016) are defined for one Gaussian latent layer: models with a single prior.
  // Hierarchical models report them per level through their bench hooks; discrete codes have none.
  if (model.prior !== undefined) result.activeUnits = activeUnits(model, c ? tensorBatches(x, c, batchSize) : x, { batchSize }).count;
  if ((options.nllSamples ?? 0) > 0) {
    const m = Math.min(options.nllExamples ?? 1000, x.shape[0]);
    const subset = tf.slice(x, 0, m);
    const subsetC = c ? tf.slice(c, 0, m) : undefined;
    const bar = progressBar(`NLL (k=${options.nllSamples})`, m, 'examples');
    const r = importanceSampledNll(model, withProgress(subsetC ? tensorBatches(subset, subsetC, 50) : subset, bar, 50), { samples: options.nllSamples, seed: options.seed ?? 0, batchSize: 50 });
    bar.finish(`NLL (k=${options.nllSamples}, ${m} examples): ${r.nll.toFixed(2)} nats`);
    tf.dispose([subset, subsetC].filter((t): t is tf.Tensor => t !== undefined));
    result.nll = r.nll;
    result.nllBitsPerDim = r.bitsPerDim;
  }
  if ((options.fidSamples ?? 0) > 0) {
    const extractor = await sharedClassifier();
    const real = images(x);
    const bar = progressBar('FID samples', options.fidSamples!, 'samples');
    const generated = modelSamples(model, options.fidSamples!, 250, samplerWithProgress((n: number) => tf.tidy(() => images(model.sample(n))), bar));
    result.fid = fid(real, generated, { extractor });
    bar.finish(`FID (${options.fidSamples} samples): ${result.fid.toFixed(2)}`);
    real.dispose();
  }
  return result;
}
