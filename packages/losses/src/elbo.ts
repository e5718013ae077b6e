import * as tf from '@tensorflow/tfjs-core';
import { type LossOutput, type Prior, type Rng } from '@elbo/core';
import { freeBitsKl } from './free-bits';
import type { DecodeFn, EncodeFn } from './iwae';
import { klPerDimension } from './kl';
import { checkReduction, type Reduction } from './reduction';
import { type CapacityOptions, capacityLoss } from './schedules';

export interface ElboOptions {
  /** KL weight for this step (beta-VAE when > 1; from a schedule: `schedule(step)`). Default 1. */
  beta?: number;
  /** Free bits lambda in nats per latent dimension (see `freeBitsKl`); 0 = off. */
  freeBits?: number;
  /** Capacity control instead of beta * KL: gamma * |KL - C(step)| (needs `step`). */
  capacity?: CapacityOptions;
  /** Global training step, for capacity control. */
  step?: number;
  /** 'sum-mean' (default, nats per example) or 'mean' (the seed's mean over every element) for the loss terms. */
  reduction?: Reduction;
  /**
   * 'analytic' KL from @elbo/core's closed forms, 'monte-carlo' (log q(z) - log p(z)
   * at the same draw z the reconstruction uses), or 'auto' (default):
   * analytic when a closed form is registered.
   */
  kl?: 'auto' | 'analytic' | 'monte-carlo';
}

/**
 * The negative ELBO of a single-latent model with one reparameterised draw,
 * with the usual knobs, as the loss plus named terms:
 *
 *   loss = reconstruction + beta * kl            (default)
 *   loss = reconstruction + beta * freeBits(kl)  (freeBits > 0)
 *   loss = reconstruction + gamma * |kl - C(step)|  (capacity)
 *
 * `terms.reconstruction` and `terms.kl` follow `reduction`; `terms.elbo` is
 * always the plain ELBO, E_q log p(x|z) - KL(q || p), in nats per example
 * (beta, free bits and capacity do not change it).
 *
 * @param x [batch, ...inputShape]
 * @param encode q(z | x); its distribution must support rsample
 * @param decode p(x | z)
 * @param prior p(z)
 * @param rng drives the draw
 * @example
 * const { loss, terms } = elbo(x, (x) => enc.forward(x), (z) => dec.forward(z), new StandardNormalPrior([20]), rng, { beta: schedule(step) });
 */
export function elbo(x: tf.Tensor, encode: EncodeFn, decode: DecodeFn, prior: Prior, rng: Rng, options: ElboOptions = {}): LossOutput {
  const reduction = checkReduction(options.reduction, 'elbo');
  const beta = options.beta ?? 1;
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new Error(`elbo: beta must be a finite number >= 0, got ${options.beta}`);
  const lambda = options.freeBits ?? 0;
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`elbo: freeBits must be a finite number >= 0, got ${options.freeBits}`);
  const klMode = options.kl ?? 'auto';
  if (!['auto', 'analytic', 'monte-carlo'].includes(klMode)) throw new Error(`elbo: kl must be 'auto', 'analytic' or 'monte-carlo', got ${String(klMode)}`);
  if (options.capacity && options.step === undefined) throw new Error('elbo: capacity control needs options.step');
  if (options.capacity && lambda > 0) throw new Error('elbo: use either freeBits or capacity, not both');
  return tf.tidy(() => {
    const batch = x.shape[0];
    const q = encode(x);
    if (!q.rsample) throw new Error('elbo: the posterior returned by encode must support rsample');
    const z = q.rsample(rng);
    const px = decode(z);
    const nll = tf.neg(px.logProbElementwise(x));
    const nllPerExample = tf.sum(tf.reshape(nll, [batch, -1]), 1);

    let perDim: tf.Tensor2D | null = null;
    if (klMode !== 'monte-carlo') {
      try {
        perDim = klPerDimension(q, prior);
      } catch (e) {
        // Only a missing closed form falls back to Monte Carlo; anything else is a real error.
        if (klMode === 'analytic' || !/No analytic KL/.test(String((e as Error).message))) throw e;
      }
    }
    if (perDim === null) {
      // log q(z) - log p(z) per element at the reconstruction's draw: the one-sample estimate.
      const logQ = q.logProbElementwise(z);
      const logP = prior.distribution(batch).logProbElementwise(z);
      perDim = tf.reshape(tf.sub(logQ, logP), [batch, -1]) as tf.Tensor2D;
    }
    const d = perDim.shape[1];
    const klPerExample = tf.sum(perDim, 1);

    const reconstruction = reduction === 'mean' ? tf.mean(nll) : tf.mean(nllPerExample);
    const klSum = tf.mean(klPerExample);
    const kl = reduction === 'mean' ? tf.div(klSum, d) : klSum;
    let regulariser: tf.Tensor;
    if (options.capacity) {
      regulariser = capacityLoss(kl as tf.Scalar, options.step as number, options.capacity);
    } else if (lambda > 0) {
      const fb = freeBitsKl(perDim, lambda);
      regulariser = tf.mul(reduction === 'mean' ? tf.div(fb, d) : fb, beta);
    } else {
      regulariser = tf.mul(kl, beta);
    }
    return {
      loss: tf.add(reconstruction, regulariser) as tf.Scalar,
      terms: {
        reconstruction: reconstruction as tf.Scalar,
        kl: kl as tf.Scalar,
        elbo: tf.neg(tf.mean(tf.add(nllPerExample, klPerExample))) as tf.Scalar,
      },
    };
  });
}
