import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';

/**
 * A batch of independent distributions. The first axis is the batch; every
 * other axis is part of one event, so `logProb`, `entropy` and `kl` sum over
 * all axes but the first and return shape [batch].
 *
 * A distribution does not own its parameter tensors: build and use it inside
 * `tf.tidy` (every method is tidy itself).
 */
export interface Distribution {
  /** Shape of one full draw, [batch, ...event]. */
  readonly shape: number[];
  /** A draw with no gradient path to the parameters. */
  sample(rng: Rng): tf.Tensor;
  /** A reparameterised draw (gradients flow to the parameters), where defined. */
  rsample?(rng: Rng): tf.Tensor;
  /**
   * The same distributions k times over, [k * batch, ...event], row
   * i * batch + j a copy of row j: k draws per example in one call, where defined.
   */
  repeat?(k: number): Distribution;
  /** Log density/mass of x summed over the event axes: shape [batch]. */
  logProb(x: tf.Tensor): tf.Tensor1D;
  /** Log density/mass per element, same shape as x (before the event sum). */
  logProbElementwise(x: tf.Tensor): tf.Tensor;
  mean(): tf.Tensor;
  /** Entropy summed over the event axes: shape [batch], where defined. */
  entropy?(): tf.Tensor1D;
  /** Analytic KL(this || other) summed over the event axes, where registered. */
  kl(other: Distribution): tf.Tensor1D;
}

type KlFn = (p: any, q: any) => tf.Tensor;
type Ctor = abstract new (...args: any[]) => Distribution;
const klRegistry: Array<{ p: Ctor; q: Ctor; fn: KlFn }> = [];

/**
 * Register an analytic elementwise KL(p || q) for a pair of distribution
 * classes. The function returns per-element values; `klDivergence` sums them.
 */
export function registerKl<P extends Distribution, Q extends Distribution>(
  p: abstract new (...args: any[]) => P,
  q: abstract new (...args: any[]) => Q,
  fn: (p: P, q: Q) => tf.Tensor,
): void {
  klRegistry.unshift({ p, q, fn });
}

/** Whether a closed-form KL(p || q) is registered for this pair. */
export function hasAnalyticKl(p: Distribution, q: Distribution): boolean {
  return klRegistry.some((e) => p instanceof e.p && q instanceof e.q);
}

/** Elementwise analytic KL(p || q); throws if no closed form is registered. */
export function klElementwise(p: Distribution, q: Distribution): tf.Tensor {
  const entry = klRegistry.find((e) => p instanceof e.p && q instanceof e.q);
  if (!entry) {
    throw new Error(
      `No analytic KL registered for ${p.constructor.name} || ${q.constructor.name}; ` +
        'use a Monte-Carlo estimate: klPerDimension(q, p, { z }) at a draw z, or monteCarloKl with fresh draws.',
    );
  }
  return tf.tidy(() => entry.fn(p, q));
}

/** Analytic KL(p || q) summed over the event axes: shape [batch]. */
export function klDivergence(p: Distribution, q: Distribution): tf.Tensor1D {
  return tf.tidy(() => sumEvent(klElementwise(p, q)));
}

/** [batch, ...] -> [k * batch, ...], row i * batch + j a copy of row j. */
export function repeatBatch(x: tf.Tensor, k: number): tf.Tensor {
  // Concat copies whole rows; the cpu backends' Tile maps every element's index (over 10x slower for k = 250).
  return k === 1 ? x.clone() : tf.concat(Array.from({ length: k }, () => x), 0);
}

/**
 * A parameter broadcastable to [batch, ...event] repeated to [k * batch, ...event]:
 * tiled when it has its own batch axis, else unchanged (it broadcasts to any batch).
 */
export function repeatParameter(p: tf.Tensor, batchShape: number[], k: number): tf.Tensor {
  return p.rank === batchShape.length && p.shape[0] !== 1 ? repeatBatch(p, k) : p;
}

/** Sum over every axis but the first: [batch, ...] -> [batch]. */
export function sumEvent(x: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    if (x.rank === 0) return tf.reshape(x, [1]) as tf.Tensor1D;
    if (x.rank === 1) return x.clone() as tf.Tensor1D;
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
    return tf.sum(x, axes) as tf.Tensor1D;
  });
}

export const LOG_2PI = Math.log(2 * Math.PI);
