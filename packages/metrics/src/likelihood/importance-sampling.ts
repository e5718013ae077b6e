import * as tf from '@tensorflow/tfjs-core';
import { type GenerativeModel, importanceLogWeights as logWeightsOf, Rng, StandardNormalPrior } from '@elbo/core';
import { type EvalData, checkPositiveInt, forEachBatch } from '../data';

export interface LikelihoodOptions {
  /** Importance samples per example (default 5000, as in Burda et al. 2016). */
  samples?: number;
  /** Samples drawn per step; memory is bounded by chunk x batchSize decoder outputs (default 250). */
  chunk?: number;
  /** Examples per batch when `data` is a tensor (default 32). */
  batchSize?: number;
  /** One seed drives every posterior draw (default 0). Ignored when `rng` is given. */
  seed?: number;
  rng?: Rng;
}

export interface LikelihoodResult {
  /** -log p(x) estimated by the IWAE bound with `samples` draws, mean over examples, nats. */
  nll: number;
  /** The same in bits per dimension: nll / (D ln 2), D = prod(inputShape). */
  bitsPerDim: number;
  /** Monte-Carlo ELBO (mean of the log-weights over the same draws), mean over examples, nats. */
  elbo: number;
  /** -ELBO in bits per dimension. */
  elboBitsPerDim: number;
  /** Per-example log p(x) estimates, nats. */
  logLikelihood: Float64Array;
  /** Number of examples. */
  count: number;
  samples: number;
}

/**
 * Importance log-weights log p(x, z) - log q(z | x) for `k` posterior draws,
 * [k, batch], from the model's own `importanceLogWeights` when it has one and
 * otherwise from core's `importanceLogWeights` on its encode, decode and prior
 * (the model's, else N(0, I)): the encoder runs once and the k draws are
 * decoded in one call of k * batch rows.
 * @param x [batch, ...inputShape]
 */
export function importanceLogWeights(model: GenerativeModel, x: tf.Tensor, k: number, rng: Rng, condition?: tf.Tensor): tf.Tensor2D {
  if (model.importanceLogWeights) return model.importanceLogWeights(x, k, condition);
  const prior = model.prior ?? { logProb: (z: tf.Tensor) => new StandardNormalPrior(z.shape.slice(1)).logProb(z) };
  return logWeightsOf(x, (v, c) => model.encode(v, c), (z, c) => model.decode(z, c), prior, rng, k, condition);
}

/**
 * Negative log-likelihood by importance sampling (the IWAE estimator of Burda
 * et al. 2016): log p(x) ~ logsumexp_i(w_i) - log k, w_i = log p(x, z_i) - log q(z_i | x),
 * z_i ~ q(z | x). The k draws are taken `chunk` at a time and combined with a
 * running logsumexp, so memory does not grow with k. The same draws give a
 * Monte-Carlo ELBO (their mean). Leaves no tensors behind.
 *
 * @param data [n, ...inputShape] or a BatchSource (its conditions are passed on)
 * @example const { nll, bitsPerDim } = importanceSampledNll(model, testImages, { samples: 5000 });
 */
export function importanceSampledNll(model: GenerativeModel, data: EvalData, options: LikelihoodOptions = {}): LikelihoodResult {
  const samples = checkPositiveInt(options.samples ?? 5000, 'samples');
  const chunk = Math.min(checkPositiveInt(options.chunk ?? 250, 'chunk'), samples);
  const batchSize = checkPositiveInt(options.batchSize ?? 32, 'batchSize');
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  const logLik: number[] = [];
  let elboSum = 0;
  forEachBatch(data, batchSize, ({ x, condition }) => {
    const n = x.shape[0];
    const running = new Float64Array(n).fill(-Infinity);
    const wSum = new Float64Array(n);
    for (let done = 0; done < samples; done += chunk) {
      const k = Math.min(chunk, samples - done);
      const [lse, sum] = tf.tidy(() => {
        const w = importanceLogWeights(model, x, k, rng, condition);
        if (w.shape[0] !== k || w.shape[1] !== n) throw new Error(`importanceLogWeights must return [${k}, ${n}], got [${w.shape.join(', ')}]`);
        return [tf.logSumExp(w, 0), tf.sum(w, 0)];
      });
      const l = lse.dataSync();
      const s = sum.dataSync();
      tf.dispose([lse, sum]);
      for (let i = 0; i < n; i++) {
        const a = running[i];
        const b = l[i];
        const m = Math.max(a, b);
        running[i] = m === -Infinity ? -Infinity : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
        wSum[i] += s[i];
      }
    }
    for (let i = 0; i < n; i++) {
      logLik.push(running[i] - Math.log(samples));
      elboSum += wSum[i] / samples;
    }
  });
  const count = logLik.length;
  const dims = model.inputShape.reduce((a, b) => a * b, 1);
  const nll = -logLik.reduce((a, b) => a + b, 0) / count;
  const elbo = elboSum / count;
  return {
    nll,
    bitsPerDim: bitsPerDim(nll, dims),
    elbo,
    elboBitsPerDim: bitsPerDim(-elbo, dims),
    logLikelihood: Float64Array.from(logLik),
    count,
    samples,
  };
}

/**
 * Convert a negative log-likelihood in nats per example to bits per dimension.
 * For discrete 8-bit data modelled by a density on [0, 1], add log(256) per dimension
 * to the nats first (the change of scale): this function does no such correction.
 */
export function bitsPerDim(nllNats: number, dims: number): number {
  checkPositiveInt(dims, 'dims');
  return nllNats / (dims * Math.LN2);
}

/**
 * Monte-Carlo ELBO, mean over examples in nats: the mean of `samples`
 * importance log-weights (default 1 draw per example).
 */
export function evidenceLowerBound(model: GenerativeModel, data: EvalData, options: Omit<LikelihoodOptions, 'samples'> & { samples?: number } = {}): number {
  return importanceSampledNll(model, data, { ...options, samples: options.samples ?? 1 }).elbo;
}
