import { Rng } from '@elbo/core';

/**
 * How to turn grey levels in [0, 1] into {0, 1}:
 * - `{ type: 'threshold', threshold }`: 1 where x > threshold (default 0.5), fixed.
 * - `{ type: 'bernoulli', seed }`: one fixed Bernoulli(x) draw per pixel (static
 *   binarisation, e.g. Larochelle & Murray 2011's binarised MNIST is of this kind).
 * Dynamic binarisation (a fresh draw each epoch, Burda et al. 2016) is a batch
 * source option, since it changes with the epoch.
 */
export type StaticBinarization = { type: 'threshold'; threshold?: number } | { type: 'bernoulli'; seed: number };

/** 1 where x > threshold, else 0, into a new array. */
export function binarizeThreshold(x: Float32Array, threshold = 0.5): Float32Array {
  if (!Number.isFinite(threshold)) throw new Error(`binarize.threshold must be a finite number, got ${threshold}`);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] > threshold ? 1 : 0;
  return out;
}

/**
 * One Bernoulli(x_i) draw per value: 1 with probability x_i (u < x_i for a
 * uniform u from `rng`). Writes into `out` (may be `x` itself) or a new array.
 */
export function binarizeBernoulli(x: Float32Array, rng: Rng, out: Float32Array = new Float32Array(x.length)): Float32Array {
  for (let i = 0; i < x.length; i++) out[i] = rng.next() < x[i] ? 1 : 0;
  return out;
}

/** Apply a static binarisation option (validated, with a clear error). */
export function applyStaticBinarization(x: Float32Array, option: StaticBinarization): Float32Array {
  if (option === null || typeof option !== 'object') {
    throw new Error(`binarize must be { type: 'threshold', threshold? } or { type: 'bernoulli', seed }, got ${JSON.stringify(option)}`);
  }
  if (option.type === 'threshold') return binarizeThreshold(x, option.threshold ?? 0.5);
  if (option.type === 'bernoulli') {
    if (!Number.isFinite(option.seed)) throw new Error(`binarize.seed must be a finite number for type 'bernoulli', got ${option.seed}`);
    return binarizeBernoulli(x, new Rng(option.seed).fork('binarize'));
  }
  throw new Error(`binarize.type must be 'threshold' or 'bernoulli', got ${JSON.stringify((option as { type: unknown }).type)}`);
}
