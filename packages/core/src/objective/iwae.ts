import * as tf from '@tensorflow/tfjs-core';
import { type Distribution, repeatBatch } from '../distributions/distribution';
import type { Prior } from '../model';
import { logMeanExp } from '../ops';
import type { Rng } from '../rng';
import type { LogDensity } from './kl';

/** q(z | x[, c]): maps a batch of inputs (and their conditions) to the posterior. */
export type EncodeFn = (x: tf.Tensor, condition?: tf.Tensor) => Distribution;
/** p(x | z[, c]): maps a batch of latents (and their conditions) to the likelihood. */
export type DecodeFn = (z: tf.Tensor, condition?: tf.Tensor) => Distribution;

/**
 * Importance log-weights log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x)
 * for k posterior draws z_i ~ q(z | x) per example. The encoder runs once;
 * the k draws are stacked along the batch axis so the decoder runs once on
 * [k * batch, ...] (with the condition repeated k times). Draws use q.rsample
 * when available (differentiable).
 *
 * @param x [batch, ...inputShape]
 * @param encode q(z | x, c)
 * @param decode p(x | z, c)
 * @param prior p(z): a Prior or anything with logProb([n, ...latent]) -> [n]
 * @param rng drives the k draws
 * @param k importance samples, a positive integer
 * @param condition optional [batch, ...] condition passed to encode and (repeated) decode
 * @returns [k, batch]
 */
export function importanceLogWeights(
  x: tf.Tensor,
  encode: EncodeFn,
  decode: DecodeFn,
  prior: Prior | LogDensity,
  rng: Rng,
  k: number,
  condition?: tf.Tensor,
): tf.Tensor2D {
  if (!Number.isInteger(k) || k < 1) throw new Error(`importanceLogWeights: k must be a positive integer, got ${k}`);
  return tf.tidy(() => {
    const batch = x.shape[0];
    const q = encode(x, condition);
    if (q.shape[0] !== batch) throw new Error(`importanceLogWeights: encode(x) has batch ${q.shape[0]}, x has batch ${batch}`);
    const draw = (d: Distribution) => (d.rsample ? d.rsample(rng) : d.sample(rng));
    let z: tf.Tensor;
    let logQ: tf.Tensor;
    if (k === 1 || q.repeat) {
      // All k draws in one call, [k * batch, ...], row i * batch + j draw i of example j.
      const qk = k === 1 ? q : q.repeat!(k);
      z = draw(qk);
      logQ = qk.logProb(z);
    } else {
      const zs = Array.from({ length: k }, () => draw(q));
      z = tf.concat(zs, 0);
      logQ = tf.concat(zs.map((zi) => q.logProb(zi)), 0);
    }
    const repeat = (t: tf.Tensor) => (k === 1 ? t : repeatBatch(t, k));
    const logPx = decode(z, condition && repeat(condition)).logProb(repeat(x));
    const logW = tf.sub(tf.add(logPx, prior.logProb(z)), logQ);
    return tf.reshape(logW, [k, batch]) as tf.Tensor2D;
  });
}

/**
 * The IWAE bound per example (Burda et al. 2016):
 * L_k = log (1/k) sum_i w_i, computed as logSumExp(log w) - log k so large
 * log-weights never overflow. L_1 is the one-sample ELBO; L_k <= L_{k+1} <= log p(x)
 * in expectation. (Without the - log k, as in -logsumexp(log w).mean(), k = 1
 * is not the ELBO and the values of different k are not comparable.)
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
