import * as tf from '@tensorflow/tfjs-core';
import {
  type Batch,
  type BaseModelConfig,
  buildEncoderDecoder,
  LatentVariableModel,
  type LossContext,
  type LossOutput,
  type Schedule,
  Rng,
  StandardNormalPrior,
  validateConfig,
} from '@elbo/core';
import { resolveInputShape, type VaeConfig, type VaeConfigInput, vaeConfigSchema } from './config';
import { betaSchedule, elbo, importanceLogWeights, iwaeBound } from '@elbo/losses';

/**
 * Standard VAE and beta-VAE (Kingma & Welling 2014; Higgins et al. 2017) with
 * MLP, conv or residual networks and a Bernoulli, Gaussian or Laplace
 * likelihood. Loss tricks (beta schedules, free bits, capacity control, the
 * IWAE bound) come from the config.
 */
export class Vae extends LatentVariableModel {
  readonly variant = 'vae';
  declare readonly config: VaeConfig & BaseModelConfig;
  private readonly schedule: Schedule;

  constructor(config: VaeConfig) {
    const inputShape = resolveInputShape(config);
    const rng = new Rng(config.seed);
    const init = rng.fork('init');
    const { encoder, decoder } = buildEncoderDecoder({ ...config, inputShape, likelihoodOptions: { logScale: config.likelihoodScale } }, init);
    super(config as VaeConfig & BaseModelConfig, inputShape, encoder, decoder, new StandardNormalPrior([config.latentDim]), rng);
    this.schedule = betaSchedule(config.betaSchedule, config.beta);
  }

  /** k posterior draws decoded in one pass of k * batch rows: [k, batch] log-weights. */
  override importanceLogWeights(x: tf.Tensor, k: number): tf.Tensor2D {
    this.checkInput(x);
    return importanceLogWeights(x, (v) => this.encoder.forward(v), (z) => this.decoder.forward(z), this.prior, this.rng, k);
  }

  /**
   * -ELBO (or -IWAE bound) for a batch, in nats per example.
   * Terms: reconstruction (-E_q log p(x|z)), kl (KL(q||p)), elbo (-(reconstruction + kl)),
   * beta (the KL weight used), and iwae when iwaeSamples > 1.
   * @param batch.x [batch, ...inputShape]
   */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    this.checkInput(batch.x, 'batch.x');
    return tf.tidy((): LossOutput => {
      const c = this.config;
      const step = context.step ?? 0;
      const beta = context.beta ?? this.schedule(step);
      const encode = (x: tf.Tensor) => this.encoder.forward(x);
      const decode = (z: tf.Tensor) => this.decoder.forward(z);
      const out = elbo(batch.x, encode, decode, this.prior, this.rng, {
        beta,
        step,
        freeBits: c.freeBits,
        capacity: c.capacity,
        reduction: c.reduction,
      });
      const terms = { ...out.terms, beta: tf.scalar(beta) };
      if (c.iwaeSamples > 1) {
        // The IWAE bound is the objective; the one-draw ELBO terms stay for logging.
        const bound = iwaeBound(importanceLogWeights(batch.x, encode, decode, this.prior, this.rng, c.iwaeSamples));
        return { loss: tf.neg(bound) as tf.Scalar, terms: { ...terms, iwae: bound } };
      }
      return { loss: out.loss, terms };
    });
  }
}

/**
 * Build a VAE from a plain config (validated; defaults filled in).
 * @example
 * const vae = createVae({ variant: 'vae', architecture: 'mlp', inputDim: 784, hiddenDim: 400, latentDim: 20 });
 */
export function createVae(config: Omit<VaeConfigInput, 'variant'> & { variant?: 'vae' }): Vae {
  return new Vae(validateConfig(vaeConfigSchema, { variant: 'vae', ...config }, 'vae config'));
}
