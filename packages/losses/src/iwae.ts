import * as tf from '@tensorflow/tfjs-core';
import { type Distribution, logMeanExp, type Prior, type Rng } from '@elbo/core';
import type { LogDensity } from './kl';

/** q(z | x): maps a batch of inputs to the posterior. */
export type EncodeFn = (x: tf.Tensor) => Distribution;
/** p(x | z): maps a batch of latents to the likelihood. */
export type DecodeFn = (z: tf.Tensor) => Distribution;

/**
 * Importance log-weights log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x)
 * for k posterior draws z_i ~ q(z | x) per example. The encoder runs once;
 * the k draws are stacked along the batch axis so the decoder runs once on
 * [k * batch, ...]. Draws use q.rsample when available (differentiable).
 *
 * @param x [batch, ...inputShape]
 * @param encode q(z | x)
 * @param decode p(x | z)
 * @param prior p(z): a Prior or any distribution-like object with logProb([n, ...latent]) -> [n]
 * @param rng drives the k draws
 * @param k importance samples, a positive integer
 * @returns [k, batch]
 */
export function importanceLogWeights(x: tf.Tensor, encode: EncodeFn, decode: DecodeFn, prior: Prior | LogDensity, rng: Rng, k: number): tf.Tensor2D {
  if (!Number.isInteger(k) || k < 1) throw new Error(`importanceLogWeights: k must be a positive integer, got ${k}`);
  return tf.tidy(() => {
    const batch = x.shape[0];
    const q = encode(x);
    if (q.shape[0] !== batch) throw new Error(`importanceLogWeights: encode(x) has batch ${q.shape[0]}, x has batch ${batch}`);
    const zs: tf.Tensor[] = [];
    const logQs: tf.Tensor[] = [];
    for (let i = 0; i < k; i++) {
      const z = q.rsample ? q.rsample(rng) : q.sample(rng);
      zs.push(z);
      logQs.push(q.logProb(z));
    }
    const z = k === 1 ? zs[0] : tf.concat(zs, 0);
    const xs = k === 1 ? x : tf.concat(Array.from({ length: k }, () => x), 0);
    const logPx = decode(z).logProb(xs);
    const logW = tf.sub(tf.add(logPx, prior.logProb(z)), tf.concat(logQs, 0));
    return tf.reshape(logW, [k, batch]) as tf.Tensor2D;
  });
}

/**
 * The IWAE bound per example (Burda et al. 2016):
 * L_k = log (1/k) sum_i w_i, computed as logSumExp(log w) - log k so large
 * log-weights never overflow. L_1 is the one-sample ELBO; L_k <= L_{k+1} <= log p(x)
 * in expectation. (The seed's snippet, -logsumexp(log w).mean(), omits the
 * - log k: a constant shift, but then k = 1 is not the ELBO and the values of
 * different k are not comparable.)
 *
 * @param logWeights [k, batch] (e.g. from `importanceLogWeights`)
 * @returns [batch]
 */
export function iwaeBoundPerExample(logWeights: tf.Tensor): tf.Tensor1D {
  if (logWeights.rank !== 2) throw new Error(`iwaeBound: logWeights must be [k, batch], got [${logWeights.shape.join(', ')}]`);
  return tf.tidy(() => logMeanExp(logWeights, 0) as tf.Tensor1D);
}

/**
 * The IWAE bound averaged over the batch, in nats per example. Maximise it
 * (minimise its negative) to train an IWAE.
 * @param logWeights [k, batch]
 * @returns scalar
 */
export function iwaeBound(logWeights: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(iwaeBoundPerExample(logWeights)) as tf.Scalar);
}
