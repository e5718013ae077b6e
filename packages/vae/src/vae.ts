import {
  type Batch,
  type BaseModelConfig,
  buildEncoderDecoder,
  LatentVariableModel,
  type LossContext,
  type LossOutput,
  Rng,
  StandardNormalPrior,
  validateConfig,
} from '@elbo/core';
import { type VaeConfig, type VaeConfigInput, vaeConfigSchema } from './config';

/**
 * Standard VAE and beta-VAE (Kingma & Welling 2014; Higgins et al. 2017) with
 * MLP, conv or residual networks and a Bernoulli, Gaussian or Laplace
 * likelihood. Loss knobs (the KL weight or its schedule, free bits, capacity
 * control, the IWAE bound) come from the config.
 */
export class Vae extends LatentVariableModel {
  readonly variant = 'vae';
  readonly usesKlWeight = true;
  declare readonly config: VaeConfig & BaseModelConfig;

  constructor(config: VaeConfig) {
    const rng = new Rng(config.seed);
    const init = rng.fork('init');
    const { encoder, decoder } = buildEncoderDecoder(config, init);
    super(config as VaeConfig & BaseModelConfig, config.inputShape, encoder, decoder, new StandardNormalPrior([config.latentDim]), rng);
  }

  /**
   * -ELBO (or -IWAE bound) for a batch, in nats per example, through the
   * objective: reconstruction + klWeight * kl (free bits / capacity when configured).
   * Terms: reconstruction (-E_q log p(x|z)), kl (KL(q||p)), elbo (-(reconstruction + kl)),
   * klWeight (the weight used: the context's, else the config's at `step`), and iwae when iwaeSamples > 1.
   * @param batch.x [batch, ...inputShape]
   */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    const c = this.config;
    return this.elbo(batch, {
      klWeight: this.klWeightFor(context),
      step: context.step ?? 0,
      freeBits: c.freeBits,
      capacity: c.capacity,
      reduction: c.reduction,
      iwaeSamples: c.iwaeSamples,
    });
  }
}

/**
 * Build a VAE from a plain config, validated with the schema `createModel` uses (defaults filled in).
 * @example
 * const vae = createVae({ inputShape: [784], hiddenDims: [400], latentDim: 20 });
 */
export function createVae(config: Omit<VaeConfigInput, 'variant'> & { variant?: 'vae' }): Vae {
  return new Vae(validateConfig(vaeConfigSchema, { variant: 'vae', ...config }, 'vae config'));
}
