import * as tf from '@tensorflow/tfjs-core';
import type { Distribution } from '../distributions/distribution';
import {
  type Batch,
  type BaseModelConfig,
  type Decoder,
  type Encoder,
  type GenerativeModel,
  type InterpolateOptions,
  interpolateLatents,
  type LossContext,
  type LossOutput,
  type Prior,
  type SampleOptions,
  type Schedule,
} from '../model';
import { Module } from '../nn/module';
import { latentElbo, type LatentElboOptions } from '../objective/elbo';
import { finalKlWeight, type KlWeightConfig, klWeightSchedule } from '../objective/kl-weight';
import { importanceLogWeights } from '../objective/iwae';
import type { Rng } from '../rng';

/**
 * Shared machinery of single-latent-layer models (vae, cvae, tcvae, ...):
 * encode / decode / reconstruct / sample / interpolate / traverse, importance
 * log-weights for NLL estimates, and the ELBO through the objective
 * (`this.elbo`). A variant supplies the networks and its `loss`.
 */
export abstract class LatentVariableModel extends Module implements GenerativeModel {
  abstract readonly variant: string;
  /** True when `loss()` scales a KL term by `LossContext.klWeight` (see GenerativeModel). */
  abstract readonly usesKlWeight: boolean;

  constructor(
    readonly config: BaseModelConfig,
    readonly inputShape: number[],
    readonly encoder: Encoder,
    readonly decoder: Decoder,
    readonly prior: Prior,
    readonly rng: Rng,
  ) {
    super();
    this.addModule('encoder', encoder);
    this.addModule('decoder', decoder);
  }

  get latentDim(): number {
    return this.config.latentDim;
  }

  abstract loss(batch: Batch, context?: LossContext): LossOutput;

  /** Check x is [batch, ...inputShape]. */
  protected checkInput(x: tf.Tensor, what = 'x'): void {
    const ok = x.rank === this.inputShape.length + 1 && this.inputShape.every((d, i) => x.shape[i + 1] === d);
    if (!ok) throw new Error(`${this.variant}: ${what} must be [batch, ${this.inputShape.join(', ')}], got [${x.shape.join(', ')}]`);
  }

  /** q(z|x). @param x [batch, ...inputShape] */
  encode(x: tf.Tensor, condition?: tf.Tensor): Distribution {
    this.checkInput(x);
    return this.encoder.forward(x, condition);
  }

  /** p(x|z). @param z [batch, latentDim] */
  decode(z: tf.Tensor, condition?: tf.Tensor): Distribution {
    if (z.rank !== 2 || z.shape[1] !== this.latentDim) {
      throw new Error(`${this.variant}: z must be [batch, ${this.latentDim}], got [${z.shape.join(', ')}]`);
    }
    return this.decoder.forward(z, condition);
  }

  /** Likelihood mean of the decoded posterior mean, [batch, ...inputShape]. */
  reconstruct(x: tf.Tensor, condition?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.decode(this.encode(x, condition).mean(), condition).mean());
  }

  /** Latent draws from the prior, scaled by the temperature: [n, latentDim]. */
  sampleLatents(n: number, temperature = 1): tf.Tensor {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${this.variant}: sample count must be a positive integer, got ${n}`);
    if (!(temperature >= 0)) throw new Error(`${this.variant}: temperature must be >= 0, got ${temperature}`);
    return tf.tidy(() => tf.mul(this.prior.sample(n, this.rng), temperature));
  }

  /** n new examples: [n, ...inputShape] (likelihood means unless mode 'sample'). */
  sample(n: number, options: SampleOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      const px = this.decode(this.sampleLatents(n, options.temperature ?? 1), options.condition);
      return options.mode === 'sample' ? px.sample(this.rng) : px.mean();
    });
  }

  /** Decoded path between the posterior means of a and b: [steps, ...inputShape]. */
  interpolate(a: tf.Tensor, b: tf.Tensor, steps: number, options: InterpolateOptions & { condition?: tf.Tensor } = {}): tf.Tensor {
    return tf.tidy(() => {
      const za = this.encode(a, options.condition && tf.slice(options.condition, 0, 1)).mean();
      const zb = this.encode(b, options.condition && tf.slice(options.condition, 0, 1)).mean();
      const z = interpolateLatents(za, zb, steps, options.method);
      const cond = options.condition ? tf.tile(tf.slice(options.condition, 0, 1), [steps, 1]) : undefined;
      return this.decode(z, cond).mean();
    });
  }

  /**
   * Latent traversal: decode z with dimension `dim` swept over `values` while
   * the others stay at `base` (default the prior mean 0). Returns [values.length, ...inputShape].
   */
  traverse(dim: number, values: number[], base?: tf.Tensor, condition?: tf.Tensor): tf.Tensor {
    if (!Number.isInteger(dim) || dim < 0 || dim >= this.latentDim) {
      throw new Error(`${this.variant}: traversal dim must be in [0, ${this.latentDim - 1}], got ${dim}`);
    }
    return tf.tidy(() => {
      const b = base ? tf.reshape(base, [1, this.latentDim]) : tf.zeros([1, this.latentDim]);
      const z = tf.tile(b, [values.length, 1]);
      const mask = tf.cast(tf.oneHot([dim], this.latentDim), 'float32');
      const v = tf.reshape(tf.tensor1d(values), [values.length, 1]);
      const zt = tf.add(tf.mul(z, tf.sub(1, mask)), tf.mul(v, mask));
      const cond = condition ? tf.tile(tf.slice(condition, 0, 1), [values.length, 1]) : undefined;
      return this.decode(zt, cond).mean();
    });
  }

  /**
   * log p(x|z) + log p(z) - log q(z|x) for k posterior draws per example: [k, batch]
   * (`importanceLogWeights` of the objective: the encoder runs once, the k draws are decoded as one k * batch pass).
   */
  importanceLogWeights(x: tf.Tensor, k: number, condition?: tf.Tensor): tf.Tensor2D {
    if (!Number.isInteger(k) || k < 1) throw new Error(`${this.variant}: k must be a positive integer, got ${k}`);
    return importanceLogWeights(x, (v, c) => this.encode(v, c), (z, c) => this.decode(z, c), this.prior, this.rng, k, condition);
  }

  /**
   * The KL weight for one loss evaluation: the context's `klWeight` when
   * given, else the config's `klWeight` (a number or a schedule) at
   * `context.step`, and its final weight when there is no step (evaluation).
   */
  protected klWeightFor(context: LossContext = {}): number {
    if (context.klWeight !== undefined) return context.klWeight;
    const config = (this.config as { klWeight?: KlWeightConfig }).klWeight ?? 1;
    if (context.step === undefined) return finalKlWeight(config);
    this.klSchedule ??= klWeightSchedule(config);
    return this.klSchedule(context.step);
  }

  private klSchedule?: Schedule;

  /**
   * The negative ELBO of a batch through the one objective path (`latentElbo`):
   * one reparameterised draw, reconstruction -log p(x|z), the KL of q against
   * the prior (analytic where a closed form exists), weighted by
   * `options.klWeight`. Terms: reconstruction, kl, elbo, klWeight (and iwae).
   * @param batch.x [batch, ...inputShape]; batch.condition is passed to encode and decode
   */
  protected elbo(batch: Batch, options: LatentElboOptions = {}): LossOutput {
    this.checkInput(batch.x, 'batch.x');
    const parts = { encode: (x: tf.Tensor, c?: tf.Tensor) => this.encode(x, c), decode: (z: tf.Tensor, c?: tf.Tensor) => this.decode(z, c), prior: this.prior, rng: this.rng };
    return latentElbo(batch.x, parts, { condition: batch.condition, ...options });
  }
}
