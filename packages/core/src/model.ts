import * as tf from '@tensorflow/tfjs-core';
import type { Distribution } from './distributions/distribution';
import { StandardNormal } from './distributions/diagonal-gaussian';
import { Module } from './nn/module';
import type { Rng } from './rng';

/** A batch as the trainer hands it to a model. */
export interface Batch {
  /** Inputs, [batch, ...inputShape]. */
  x: tf.Tensor;
  /** Optional labels ([batch] int32) or conditions ([batch, conditionDim]). */
  y?: tf.Tensor;
  condition?: tf.Tensor;
}

/**
 * A source of batches the trainer iterates once per epoch (implemented by
 * @elbo/datasets' loaders; any object of this shape works).
 *
 * `batches(epoch)` must be deterministic in (the source's seed, epoch), so a
 * run resumed at epoch e sees the same batches as one that ran straight
 * through. Tensors are created lazily, one batch at a time; the consumer owns
 * each yielded batch and disposes its tensors (`disposeBatch`).
 */
export interface BatchSource {
  /** Examples per epoch. */
  readonly size: number;
  /** Batch size (the last batch may be smaller unless the source drops it). */
  readonly batchSize: number;
  batches(epoch: number): Iterable<Batch>;
}

/** Dispose every tensor of a batch. */
export function disposeBatch(batch: Batch): void {
  tf.dispose([batch.x, batch.y, batch.condition].filter((t): t is tf.Tensor => t !== undefined));
}

/** A value as a function of the global training step (KL weight, learning rate, ...). */
export type Schedule = (step: number) => number;

/** What `GenerativeModel.loss` returns: the scalar to minimise and its named parts. */
// A type alias (not an interface) so it is a tf.TensorContainer and can be returned from tf.tidy.
export type LossOutput = {
  /** Scalar to minimise (e.g. -ELBO with the current KL weight), nats per example. */
  loss: tf.Scalar;
  /** Named scalar terms: reconstruction, kl, kl per level, commitment, ... */
  terms: Record<string, tf.Scalar>;
};

/** Values a schedule or the caller may set for one loss evaluation. */
export interface LossContext {
  /** Global training step (0-based); drives the model's own `klWeight` schedule. */
  step?: number;
  /**
   * KL weight for this step; overrides the model's configured `klWeight`.
   * `fit` passes it when given a `klWeight` option. Ignored by models whose
   * `usesKlWeight` is false.
   */
  klWeight?: number;
}

/** The posterior network q(z | x): a module mapping inputs to a distribution. */
export abstract class Encoder extends Module {
  /**
   * @param x [batch, ...inputShape]
   * @param condition optional [batch, conditionDim]
   */
  abstract forward(x: tf.Tensor, condition?: tf.Tensor): Distribution;
}

/** The likelihood network p(x | z): a module mapping latents to a distribution over x. */
export abstract class Decoder extends Module {
  /**
   * @param z [batch, latentDim] (or the variant's latent shape)
   * @param condition optional [batch, conditionDim]
   */
  abstract forward(z: tf.Tensor, condition?: tf.Tensor): Distribution;
}

/** A prior p(z). */
export interface Prior {
  /** [n, ...latentShape] draws. */
  sample(n: number, rng: Rng): tf.Tensor;
  /** log p(z) summed over latent axes: [batch]. */
  logProb(z: tf.Tensor): tf.Tensor1D;
  /** The prior as a distribution for a batch of n, for analytic KL where available. */
  distribution(n: number): Distribution;
}

/** N(0, I) over latents of shape latentShape. */
export class StandardNormalPrior implements Prior {
  constructor(readonly latentShape: number[]) {}

  distribution(n: number): StandardNormal {
    return new StandardNormal([n, ...this.latentShape]);
  }

  sample(n: number, rng: Rng): tf.Tensor {
    return this.distribution(n).sample(rng);
  }

  logProb(z: tf.Tensor): tf.Tensor1D {
    return this.distribution(z.shape[0]).logProb(z);
  }
}

/** Options for sampling from a model. */
export interface SampleOptions {
  /** Scale of the prior noise (1 = the prior itself). */
  temperature?: number;
  /** Condition for conditional models: [n, conditionDim] or labels. */
  condition?: tf.Tensor;
  /** Return the likelihood mean (default) or a draw from it. */
  mode?: 'mean' | 'sample';
}

export interface InterpolateOptions {
  method?: 'linear' | 'spherical';
}

/** Plain JSON configuration shared by every variant (the schema is `baseModelConfigSchema`). */
export interface BaseModelConfig {
  variant: string;
  /** One seed drives initialisation and every random draw of the model. */
  seed?: number;
  latentDim: number;
  [key: string]: unknown;
}

/**
 * What every variant implements; the trainer, the checkpoints, the metrics and
 * the bench only use this interface.
 */
export interface GenerativeModel {
  readonly variant: string;
  /** The validated config with defaults filled in (what a checkpoint stores). */
  readonly config: BaseModelConfig;
  /** The model's random stream (noise draws); its state is saved with checkpoints. */
  readonly rng: Rng;
  /** Shape of one input example, e.g. [784] or [28, 28, 1]. */
  readonly inputShape: number[];
  /**
   * True when `loss()` has a KL term that `LossContext.klWeight` scales (and
   * the loss terms report the weight used as `klWeight`). `fit` refuses a
   * `klWeight` option for a model where this is false.
   */
  readonly usesKlWeight: boolean;

  /** The prior p(z) of a single-level latent model (absent for models whose latent is not one Gaussian layer). */
  readonly prior?: Prior;

  /**
   * Importance log-weights log p(x, z_i) - log q(z_i | x) for k posterior draws:
   * [k, batch]. Optional: single-level models get it from encode/decode/prior;
   * hierarchical or discrete models implement it so NLL estimators work.
   */
  importanceLogWeights?(x: tf.Tensor, k: number, condition?: tf.Tensor): tf.Tensor2D;

  /** Negative training objective and its named terms for one batch. Tidy: returns only the outputs. */
  loss(batch: Batch, context?: LossContext): LossOutput;
  /** q(z | x). @param x [batch, ...inputShape] */
  encode(x: tf.Tensor, condition?: tf.Tensor): Distribution;
  /** p(x | z). @param z [batch, latentDim] */
  decode(z: tf.Tensor, condition?: tf.Tensor): Distribution;
  /** Likelihood mean decoded from the posterior mean: [batch, ...inputShape]. */
  reconstruct(x: tf.Tensor, condition?: tf.Tensor): tf.Tensor;
  /** n new examples from the prior: [n, ...inputShape]. */
  sample(n: number, options?: SampleOptions): tf.Tensor;
  /** Decoded path between the posterior means of a and b (each [1, ...inputShape]): [steps, ...inputShape]. */
  interpolate(a: tf.Tensor, b: tf.Tensor, steps: number, options?: InterpolateOptions): tf.Tensor;
  /** Trainable variables. */
  parameters(): tf.Variable[];
  /** Every variable by stable dotted name (parameters and buffers). */
  namedVariables(): Map<string, tf.Variable>;
  train(mode?: boolean): unknown;
  eval(): unknown;
  numParameters(): number;
  dispose(): void;
}

/**
 * Run `fn` with the model's own generator set to `rng`'s state, then put the
 * generator back (also when `fn` throws, or when its promise settles). A
 * measurement that draws with the model's Rng (samples, importance draws) then
 * draws the same numbers wherever it runs: before or after other measurements,
 * or inside training, whose draws it leaves as they were.
 */
export function withModelDraws<T>(model: GenerativeModel, rng: Rng, fn: () => T): T {
  const saved = model.rng.getState();
  model.rng.setState(rng.getState());
  let result: T;
  try {
    result = fn();
  } catch (e) {
    model.rng.setState(saved);
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => model.rng.setState(saved)) as T;
  model.rng.setState(saved);
  return result;
}

/**
 * Points between two latent codes, inclusive of both ends.
 * @param za [1, d] or [d]
 * @param zb same shape as za
 * @returns [steps, d]
 */
export function interpolateLatents(za: tf.Tensor, zb: tf.Tensor, steps: number, method: 'linear' | 'spherical' = 'linear'): tf.Tensor2D {
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`interpolate: steps must be an integer >= 2, got ${steps}`);
  if (method !== 'linear' && method !== 'spherical') throw new Error(`interpolate: method must be 'linear' or 'spherical', got ${String(method)}`);
  return tf.tidy(() => {
    const a = tf.reshape(za, [1, -1]);
    const b = tf.reshape(zb, [1, -1]);
    if (a.size !== b.size) throw new Error(`interpolate: latent sizes differ (${a.size} vs ${b.size})`);
    const t = tf.reshape(tf.linspace(0, 1, steps), [steps, 1]);
    if (method === 'linear') return tf.add(tf.mul(tf.sub(1, t), a), tf.mul(t, b)) as tf.Tensor2D;
    // Slerp (Shoemake 1985), falling back to lerp when the vectors are parallel.
    const na = tf.norm(a);
    const nb = tf.norm(b);
    const cos = tf.clipByValue(tf.div(tf.sum(tf.mul(a, b)), tf.mul(na, nb)), -1, 1);
    const omega = tf.acos(cos).dataSync()[0];
    if (Math.abs(Math.sin(omega)) < 1e-6) return tf.add(tf.mul(tf.sub(1, t), a), tf.mul(t, b)) as tf.Tensor2D;
    const s = Math.sin(omega);
    const wa = tf.div(tf.sin(tf.mul(tf.sub(1, t), omega)), s);
    const wb = tf.div(tf.sin(tf.mul(t, omega)), s);
    return tf.add(tf.mul(wa, a), tf.mul(wb, b)) as tf.Tensor2D;
  });
}
