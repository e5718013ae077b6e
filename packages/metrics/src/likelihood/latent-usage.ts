import * as tf from '@tensorflow/tfjs-core';
import { type GenerativeModel, StandardNormalPrior, klElementwise } from '@elbo/core';
import { type EvalData, checkPositiveInt, forEachBatch } from '../data';

export interface ActiveUnitsResult {
  /** Number of latent dimensions with Cov_x(E_q[z_i]) > threshold. */
  count: number;
  /** Cov_x(E_q[z_i | x]) per latent dimension (sample variance, ddof 1). */
  variances: Float64Array;
  threshold: number;
}

/**
 * Posterior means E_q[z | x] of every example, in float64, [n * d] row-major.
 * @param data [n, ...inputShape] or a BatchSource
 */
export function posteriorMeans(model: GenerativeModel, data: EvalData, batchSize = 128): { means: Float64Array; count: number; dim: number } {
  const rows: Float64Array[] = [];
  let dim = -1;
  let count = 0;
  forEachBatch(data, batchSize, ({ x, condition }) => {
    const m = tf.tidy(() => tf.reshape(model.encode(x, condition).mean(), [x.shape[0], -1]));
    dim = m.shape[1] as number;
    rows.push(Float64Array.from(m.dataSync()));
    count += x.shape[0];
    m.dispose();
  });
  const means = new Float64Array(count * dim);
  let o = 0;
  for (const r of rows) {
    means.set(r, o);
    o += r.length;
  }
  return { means, count, dim };
}

/**
 * Active units (Burda et al. 2016): latent dimension i is active when
 * A_i = Cov_x(E_{q(z|x)}[z_i]) > threshold (default 0.01).
 */
export function activeUnits(model: GenerativeModel, data: EvalData, options: { threshold?: number; batchSize?: number } = {}): ActiveUnitsResult {
  const threshold = options.threshold ?? 0.01;
  const { means, count, dim } = posteriorMeans(model, data, checkPositiveInt(options.batchSize ?? 128, 'batchSize'));
  if (count < 2) throw new Error(`activeUnits: need at least 2 examples, got ${count}`);
  const variances = new Float64Array(dim);
  for (let i = 0; i < dim; i++) {
    let mu = 0;
    for (let r = 0; r < count; r++) mu += means[r * dim + i];
    mu /= count;
    let v = 0;
    for (let r = 0; r < count; r++) v += (means[r * dim + i] - mu) ** 2;
    variances[i] = v / (count - 1);
  }
  return { count: variances.filter((v) => v > threshold).length, variances, threshold };
}

/**
 * Mean over examples of KL(q(z_i | x) || p(z_i)) for every latent dimension
 * i (nats), analytic via core's KL registry; p is the model's prior, else N(0, I).
 * @returns [d] per-dimension KL (the sum is the model's KL term)
 */
export function klPerDimension(model: GenerativeModel, data: EvalData, options: { batchSize?: number } = {}): Float64Array {
  let sum: Float64Array | null = null;
  let count = 0;
  forEachBatch(data, checkPositiveInt(options.batchSize ?? 128, 'batchSize'), ({ x, condition }) => {
    const kl = tf.tidy(() => {
      const q = model.encode(x, condition);
      const prior = model.prior ?? new StandardNormalPrior(q.shape.slice(1));
      const e = klElementwise(q, prior.distribution(x.shape[0]));
      return tf.sum(tf.reshape(e, [x.shape[0], -1]), 0);
    });
    const v = kl.dataSync();
    kl.dispose();
    sum ??= new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) sum[i] += v[i];
    count += x.shape[0];
  });
  const out = sum as unknown as Float64Array;
  for (let i = 0; i < out.length; i++) out[i] /= count;
  return out;
}
