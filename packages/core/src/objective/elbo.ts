/**
 * The one objective path: every variant states its loss through
 * `elboObjective` (or `latentElbo`, its single-latent form), which owns the
 * reconstruction log-likelihood, the KL terms (analytic, or the one
 * Monte-Carlo fallback in `klPerDimension`), the KL weight, free bits,
 * capacity control, the IWAE bound and the named terms it reports.
 *
 * It lives in core, not in @elbo/losses, because core needs it itself:
 * `LatentVariableModel` computes importance weights and the ELBO of every
 * single-latent model, and core's base config validates `klWeight`; imports
 * flow core <- losses <- variants, so core cannot use losses. @elbo/losses
 * re-exports these functions and adds the terms no variant's ELBO needs
 * (perceptual, adversarial).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Bernoulli } from '../distributions/bernoulli';
import type { Distribution } from '../distributions/distribution';
import { bernoulliNll } from './bernoulli-nll';
import type { LossOutput, Prior } from '../model';
import type { Rng } from '../rng';
import { type CapacityOptions, capacityLoss } from './capacity';
import { freeBitsKl } from './free-bits';
import { type DecodeFn, type EncodeFn, importanceLogWeights, iwaeBound } from './iwae';
import { type KlEstimator, klPerDimension } from './kl';
import { checkReduction, type Reduction } from './reduction';

/** A term with the weight it enters the loss with (default 1). */
export interface WeightedTerm {
  /** Scalar, nats per example. */
  value: tf.Scalar;
  /** Multiplier in the loss; >= 0, default 1. */
  weight?: number;
}

/** One KL term of the objective (a single-latent model has one; a hierarchy has one per level). */
export interface KlTerm {
  /**
   * Name in `terms` (default 'kl'). The total over every KL term is always
   * reported as `kl`; with several terms give each its own name ('kl0', 'kl1', ...).
   */
  name?: string;
  /** KL per latent dimension [batch, d] (from `klPerDimension`), or per example [batch]. */
  value: tf.Tensor;
  /** Free bits for this term, nats per dimension; default the objective's `freeBits`. Needs value [batch, d]. */
  freeBits?: number;
  /**
   * Weighted pieces that stand for this KL in the loss (they estimate it
   * together), e.g. beta-TCVAE's { mi, tc, dimKl }. `klWeight` multiplies
   * their weighted sum; each piece is reported unweighted under its name.
   */
  decomposition?: Record<string, WeightedTerm>;
}

/** What `elboObjective` combines. Tensors are read, not disposed. */
export interface ObjectiveSpec {
  /**
   * -log p(x | z): elementwise [batch, ...] (from `negLogLikelihood(px, x)`;
   * needed for reduction 'mean') or per example [batch].
   */
  reconstruction: tf.Tensor;
  /** The KL term(s); omit for a model without one (then no `kl`, `elbo` or `klWeight` term). */
  kl?: KlTerm | KlTerm[];
  /** Further terms added to the loss as weight * value (e.g. VQ-VAE's codebook and commitment); reported unweighted. */
  extra?: Record<string, WeightedTerm>;
  /** Weight of the KL terms in the loss (a beta-VAE when > 1); >= 0, default 1. */
  klWeight?: number;
  /** Free bits lambda in nats per latent dimension for every KL term (`freeBitsKl`); default 0 = off. */
  freeBits?: number;
  /** Capacity control instead of klWeight * KL: gamma * |KL - C(step)| (needs `step`). */
  capacity?: CapacityOptions;
  /** Global training step (capacity control). */
  step?: number;
  /** 'sum-mean' (default, nats per example) or 'mean' (mean over every element) for reconstruction and kl. */
  reduction?: Reduction;
  /**
   * Importance log-weights [k, batch] (`importanceLogWeights`): the loss
   * becomes -IWAE bound (plus `extra`), reported as `iwae`; the one-draw
   * terms stay for logging. Not combined with freeBits or capacity.
   */
  iwaeLogWeights?: tf.Tensor;
}

function checkWeight(where: string, field: string, w: number | undefined, fallback: number): number {
  const v = w ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${where}: ${field} must be a finite number >= 0, got ${String(w)}`);
  return v;
}

/**
 * The negative ELBO (the loss to minimise) and its named terms, from the
 * pieces a variant computed. With R the reconstruction, KL_t the KL terms,
 * w = klWeight and E_j the extra terms:
 *
 *   loss = R + w * sum_t KL_t + sum_j weight_j * E_j            (default)
 *   loss = R + w * sum_t freeBits(KL_t) + ...                   (freeBits > 0)
 *   loss = R + w * sum_t sum_i weight_i * piece_i + ...         (a term with a decomposition)
 *   loss = R + gamma * |sum_t KL_t - C(step)| + ...             (capacity)
 *   loss = -IWAE_k + sum_j weight_j * E_j                       (iwaeLogWeights)
 *
 * Terms: `reconstruction`; with KL terms `kl` (their total), each named
 * term, each decomposition piece, `elbo` = -(R + KL) in nats per example
 * (no weight, free bits or capacity changes it) and `klWeight` (the weight
 * used); each extra term unweighted; `iwae` when given.
 *
 * @example
 * // A single-latent model (what latentElbo does):
 * const z = q.rsample(rng);
 * return elboObjective({
 *   reconstruction: negLogLikelihood(decode(z), x),
 *   kl: { value: klPerDimension(q, prior, { z }) },
 *   klWeight, freeBits,
 * });
 * @example
 * // A hierarchy: one KL term per level, each with its own free bits.
 * elboObjective({ reconstruction, kl: levels.map((perDim, i) => ({ name: `kl${i}`, value: perDim, freeBits: 0.25 })), klWeight });
 * @example
 * // beta-TCVAE: the KL decomposed; klWeight anneals the whole decomposition.
 * elboObjective({ reconstruction, kl: { value: perDim, decomposition: { mi: { value: mi, weight: miWeight }, tc: { value: tc, weight: tcWeight }, dimKl: { value: dimKl, weight: dimKlWeight } } }, klWeight });
 * @example
 * // VQ-VAE: no KL term, a codebook and a commitment term.
 * elboObjective({ reconstruction, extra: { codebook: { value: codebook }, commitment: { value: commitment, weight: commitmentWeight } } });
 */
export function elboObjective(spec: ObjectiveSpec): LossOutput {
  const where = 'elboObjective';
  const reduction = checkReduction(spec.reduction, where);
  const klWeight = checkWeight(where, 'klWeight', spec.klWeight, 1);
  const freeBits = checkWeight(where, 'freeBits', spec.freeBits, 0);
  const kls = spec.kl === undefined ? [] : Array.isArray(spec.kl) ? spec.kl : [spec.kl];
  const names = new Set<string>(['reconstruction', 'kl', 'elbo', 'klWeight', 'iwae']);
  const claim = (name: string, what: string) => {
    if (names.has(name)) throw new Error(`${where}: ${what} name "${name}" is taken (reserved: reconstruction, kl, elbo, klWeight, iwae; names must differ)`);
    names.add(name);
  };
  kls.forEach((t, i) => {
    const name = t.name ?? 'kl';
    if (name !== 'kl' || kls.length > 1) claim(name, `KL term ${i}`);
    checkWeight(where, `kl[${i}].freeBits`, t.freeBits, 0);
    if (t.value.rank !== 1 && t.value.rank !== 2) throw new Error(`${where}: KL term "${name}" must be [batch, d] or [batch], got [${t.value.shape.join(', ')}]`);
    if (t.value.shape[0] !== spec.reconstruction.shape[0]) {
      throw new Error(`${where}: KL term "${name}" has batch ${t.value.shape[0]}, the reconstruction ${spec.reconstruction.shape[0]}`);
    }
    if ((t.freeBits ?? freeBits) > 0 && t.value.rank !== 2) throw new Error(`${where}: free bits need KL term "${name}" per dimension, [batch, d]`);
    for (const [piece, w] of Object.entries(t.decomposition ?? {})) {
      claim(piece, `decomposition piece of "${name}"`);
      checkWeight(where, `${piece} weight`, w.weight, 1);
      if (w.value.rank !== 0) throw new Error(`${where}: decomposition piece "${piece}" must be a scalar`);
    }
  });
  for (const [name, w] of Object.entries(spec.extra ?? {})) {
    claim(name, 'extra term');
    checkWeight(where, `${name} weight`, w.weight, 1);
    if (w.value.rank !== 0) throw new Error(`${where}: extra term "${name}" must be a scalar`);
  }
  if (spec.reconstruction.rank < 1) throw new Error(`${where}: reconstruction must be [batch, ...] or [batch]`);
  if (reduction === 'mean' && spec.reconstruction.rank === 1) throw new Error(`${where}: reduction 'mean' needs the elementwise reconstruction [batch, ...]`);
  if (spec.capacity) {
    if (spec.step === undefined) throw new Error(`${where}: capacity control needs step`);
    if (freeBits > 0 || kls.some((t) => (t.freeBits ?? 0) > 0)) throw new Error(`${where}: use either freeBits or capacity, not both`);
    if (kls.some((t) => t.decomposition)) throw new Error(`${where}: capacity control does not combine with a decomposed KL`);
    if (kls.length === 0) throw new Error(`${where}: capacity control needs a KL term`);
  }
  if (spec.iwaeLogWeights && (spec.capacity || freeBits > 0 || kls.some((t) => (t.freeBits ?? 0) > 0))) {
    throw new Error(`${where}: the IWAE bound cannot be combined with freeBits or capacity (they modify the ELBO, not the IWAE bound)`);
  }

  return tf.tidy((): LossOutput => {
    const batch = spec.reconstruction.shape[0];
    const rec = spec.reconstruction;
    const recPerExample = rec.rank === 1 ? rec : tf.sum(tf.reshape(rec, [batch, -1]), 1);
    const reconstruction = (reduction === 'mean' ? tf.mean(rec) : tf.mean(recPerExample)) as tf.Scalar;
    const terms: Record<string, tf.Scalar> = { reconstruction };
    let loss: tf.Tensor = reconstruction;

    if (kls.length > 0) {
      // Latent dimensions over every term: the divisor of reduction 'mean'.
      const dims = kls.reduce((n, t) => n + (t.value.rank === 2 ? (t.value.shape[1] as number) : 1), 0);
      const scale = (s: tf.Tensor) => (reduction === 'mean' ? tf.div(s, dims) : s);
      // Every kernel call costs the engine's bookkeeping (more than the arithmetic at these sizes), so
      // the common case of one KL term reuses its per-example sum and mean instead of computing them
      // again, and a weight of 1 multiplies nothing.
      const perExamples = kls.map((t) => (t.value.rank === 2 ? tf.sum(t.value, 1) : t.value));
      const klPerExample = perExamples.length === 1 ? perExamples[0] : tf.addN(perExamples);
      const klMean = tf.mean(klPerExample) as tf.Scalar;
      const kl = scale(klMean) as tf.Scalar;
      const penalties: tf.Tensor[] = [];
      kls.forEach((t, i) => {
        const name = t.name ?? 'kl';
        // Used by the term below whenever there are several KLs, so computed once here.
        const mean = kls.length === 1 ? klMean : tf.mean(perExamples[i]);
        if (name !== 'kl' || kls.length > 1) terms[name] = scale(mean) as tf.Scalar;
        if (t.decomposition) {
          const pieces = Object.entries(t.decomposition);
          for (const [piece, w] of pieces) terms[piece] = w.value;
          penalties.push(scale(tf.addN(pieces.map(([, w]) => tf.mul(w.value, w.weight ?? 1)))));
        } else {
          const fb = t.freeBits ?? freeBits;
          penalties.push(scale(fb > 0 ? freeBitsKl(t.value, fb) : mean));
        }
      });
      terms.kl = kl;
      const penalty = penalties.length === 1 ? penalties[0] : tf.addN(penalties);
      loss = spec.capacity
        ? tf.add(loss, capacityLoss(kl, spec.step as number, spec.capacity))
        : tf.add(loss, klWeight === 1 ? penalty : tf.mul(penalty, klWeight));
      // With reduction 'sum-mean' the reconstruction term is already the mean of the per-example sums.
      terms.elbo = tf.neg(reduction === 'sum-mean' ? tf.add(reconstruction, klMean) : tf.mean(tf.add(recPerExample, klPerExample))) as tf.Scalar;
      terms.klWeight = tf.scalar(klWeight);
    }
    if (spec.iwaeLogWeights) {
      const bound = iwaeBound(spec.iwaeLogWeights);
      terms.iwae = bound;
      loss = tf.neg(bound);
    }
    for (const [name, w] of Object.entries(spec.extra ?? {})) {
      terms[name] = w.value;
      loss = tf.add(loss, tf.mul(w.value, w.weight ?? 1));
    }
    return { loss: loss as tf.Scalar, terms };
  });
}

/**
 * -log p(x | z) per element, the reconstruction `elboObjective` takes.
 * @param likelihood p(x | z), [batch, ...event]
 * @param x [batch, ...event] observed data
 * @returns [batch, ...event]
 */
export function negLogLikelihood(likelihood: Distribution, x: tf.Tensor): tf.Tensor {
  const s = likelihood.shape;
  if (s.length !== x.rank || s.some((d, i) => d !== x.shape[i])) {
    throw new Error(`negLogLikelihood: x [${x.shape.join(', ')}] must have the likelihood's shape [${s.join(', ')}]`);
  }
  // A Bernoulli's -log p is one fused kernel on backends that register it (the same values as below).
  if (likelihood instanceof Bernoulli) return bernoulliNll(likelihood.logits, x);
  return tf.tidy(() => tf.neg(likelihood.logProbElementwise(x)));
}

/** A single-latent model as `latentElbo` needs it. */
export interface LatentModelParts {
  /** q(z | x, c); its distribution must support rsample. */
  encode: EncodeFn;
  /** p(x | z, c). */
  decode: DecodeFn;
  prior: Prior;
  /** Drives the posterior draws. */
  rng: Rng;
}

export interface LatentElboOptions extends Pick<ObjectiveSpec, 'klWeight' | 'freeBits' | 'capacity' | 'step' | 'reduction' | 'extra'> {
  /** Passed to encode and decode, [batch, ...]. */
  condition?: tf.Tensor;
  /** 'auto' (default): analytic KL where a closed form is registered, else the one-draw Monte-Carlo estimate. */
  klEstimator?: KlEstimator;
  /** Importance samples; > 1 trains the IWAE bound (Burda et al. 2016). Default 1 (the ELBO). */
  iwaeSamples?: number;
}

/**
 * The negative ELBO of a single-latent model for one batch with one
 * reparameterised draw z ~ q(z | x): `elboObjective` with reconstruction
 * -log p(x | z) and the KL of q against the prior. With `iwaeSamples` k > 1
 * the loss is the negative IWAE bound over k further draws.
 *
 * @param x [batch, ...inputShape]
 * @example
 * const { loss, terms } = latentElbo(x, { encode: (x) => enc.forward(x), decode: (z) => dec.forward(z), prior, rng }, { klWeight: 0.5 });
 */
export function latentElbo(x: tf.Tensor, model: LatentModelParts, options: LatentElboOptions = {}): LossOutput {
  const k = options.iwaeSamples ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new Error(`latentElbo: iwaeSamples must be a positive integer, got ${String(options.iwaeSamples)}`);
  return tf.tidy(() => {
    const q = model.encode(x, options.condition);
    if (!q.rsample) throw new Error('latentElbo: the posterior returned by encode must support rsample');
    const z = q.rsample(model.rng);
    const px = model.decode(z, options.condition);
    return elboObjective({
      reconstruction: negLogLikelihood(px, x),
      kl: { value: klPerDimension(q, model.prior, { z, estimator: options.klEstimator }) },
      klWeight: options.klWeight,
      freeBits: options.freeBits,
      capacity: options.capacity,
      step: options.step,
      reduction: options.reduction,
      extra: options.extra,
      iwaeLogWeights: k > 1 ? importanceLogWeights(x, model.encode, model.decode, model.prior, model.rng, k, options.condition) : undefined,
    });
  });
}
