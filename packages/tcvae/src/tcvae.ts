import {
  type Batch,
  type BaseModelConfig,
  LatentVariableModel,
  type LossContext,
  type LossOutput,
  MlpDecoder,
  MlpEncoder,
  Rng,
  StandardNormalPrior,
  validateConfig,
} from '@elbo/core';
import { elbo } from '@elbo/losses';
import { type TcvaeConfig, type TcvaeConfigInput, tcvaeConfigSchema } from './config';

/**
 * The tcvae variant. The scaffold starts it as a plain VAE (MLP encoder and
 * decoder from @elbo/core, loss = -ELBO from @elbo/losses): replace the loss
 * (and the networks) with the variant's own.
 */
export class Tcvae extends LatentVariableModel {
  readonly variant = 'tcvae';
  declare readonly config: TcvaeConfig & BaseModelConfig;

  constructor(config: TcvaeConfig) {
    const rng = new Rng(config.seed);
    const init = rng.fork('init');
    const encoder = new MlpEncoder(config.inputDim, config.latentDim, init, { hiddenDims: config.hiddenDims, activation: 'relu' });
    const decoder = new MlpDecoder(config.latentDim, [config.inputDim], init, {
      hiddenDims: [...config.hiddenDims].reverse(),
      activation: 'relu',
      likelihood: config.likelihood,
    });
    // Noise draws get their own stream, so initialisation does not depend on how much was sampled.
    super(config as TcvaeConfig & BaseModelConfig, [config.inputDim], encoder, decoder, new StandardNormalPrior([config.latentDim]), rng.fork('noise'));
  }

  /**
   * -ELBO for a batch in nats per example, with terms reconstruction, kl and elbo.
   * @param batch.x [batch, inputDim]
   */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    this.checkInput(batch.x, 'batch.x');
    return elbo(
      batch.x,
      (x) => this.encoder.forward(x),
      (z) => this.decoder.forward(z),
      this.prior,
      this.rng,
      { beta: context.beta ?? this.config.beta },
    );
  }
}

/**
 * Build a tcvae model from a plain config (validated; defaults filled in).
 * @example
 * const model = createTcvae({ inputDim: 784, hiddenDims: [256], latentDim: 10 });
 */
export function createTcvae(config: Omit<TcvaeConfigInput, 'variant'> & { variant?: 'tcvae' }): Tcvae {
  return new Tcvae(validateConfig(tcvaeConfigSchema, { variant: 'tcvae', ...config }, 'tcvae config'));
}
