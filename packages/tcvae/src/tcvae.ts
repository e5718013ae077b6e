import * as tf from '@tensorflow/tfjs-core';
import {
  type Batch,
  type BaseModelConfig,
  buildEncoderDecoder,
  DiagonalGaussian,
  LatentVariableModel,
  type LossContext,
  type LossOutput,
  Rng,
  StandardNormalPrior,
  validateConfig,
} from '@elbo/core';
import { klTerm, reconstructionLoss } from '@elbo/losses';
import { resolveInputShape, type TcvaeConfig, type TcvaeConfigInput, tcvaeConfigSchema } from './config';
import { klDecomposition } from './total-correlation';

/**
 * beta-TCVAE (Chen, Li, Grosse & Duvenaud 2018, "Isolating Sources of
 * Disentanglement in VAEs"). The ELBO's KL term, averaged over the data, is
 *
 *   E_x KL(q(z|x) || p(z)) = I_q(x; z) + TC(q(z)) + sum_d KL(q(z_d) || p(z_d))
 *
 * (index-code mutual information, total correlation, dimension-wise KL), and
 * the objective weights them separately:
 *
 *   loss = reconstruction + alpha * mi + beta * tc + gamma * dimKl
 *
 * with log q(z) and log q(z_d) from the minibatch-weighted sampling estimator
 * (see `mwsLogDensities`). alpha = gamma = 1 and beta > 1 penalises only the
 * total correlation, which is what encourages factorised latents.
 */
export class Tcvae extends LatentVariableModel {
  readonly variant = 'tcvae';
  declare readonly config: TcvaeConfig & BaseModelConfig;

  constructor(config: TcvaeConfig) {
    const inputShape = resolveInputShape(config);
    const rng = new Rng(config.seed);
    const init = rng.fork('init');
    const { encoder, decoder } = buildEncoderDecoder({ ...config, inputShape }, init);
    // Noise draws get their own stream, so initialisation does not depend on how much was sampled.
    super(config as TcvaeConfig & BaseModelConfig, inputShape, encoder, decoder, new StandardNormalPrior([config.latentDim]), rng.fork('noise'));
  }

  /**
   * The beta-TCVAE objective for a batch, in nats per example. Terms:
   * reconstruction (-E_q log p(x|z)), kl (analytic KL(q(z|x) || p(z)), batch mean),
   * mi, tc, dimKl (MWS estimates; mi + tc + dimKl is the one-draw Monte-Carlo KL),
   * elbo (-(reconstruction + kl)) and beta (the TC weight used).
   * A LossContext beta (e.g. from the trainer's schedule) overrides the config's beta.
   * @param batch.x [batch, ...inputShape]; the batch is the M of the estimator (M >= 2 makes sense)
   */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    this.checkInput(batch.x, 'batch.x');
    const c = this.config;
    const beta = context.beta ?? c.beta;
    return tf.tidy((): LossOutput => {
      const q = this.encoder.forward(batch.x);
      if (!(q instanceof DiagonalGaussian)) throw new Error('tcvae: the encoder must return a DiagonalGaussian posterior (loc, logVar)');
      const z = q.rsample(this.rng);
      const reconstruction = reconstructionLoss(this.decoder.forward(z), batch.x);
      const kl = klTerm(q, this.prior);
      const { mi, tc, dimKl } = klDecomposition(z, q.loc, tf.broadcastTo(q.logVar, q.shape), c.datasetSize);
      const penalty = tf.addN([tf.mul(mi, c.alpha), tf.mul(tc, beta), tf.mul(dimKl, c.gamma)]);
      return {
        loss: tf.add(reconstruction, penalty) as tf.Scalar,
        terms: { reconstruction, kl, mi, tc, dimKl, elbo: tf.neg(tf.add(reconstruction, kl)) as tf.Scalar, beta: tf.scalar(beta) },
      };
    });
  }
}

/**
 * Build a beta-TCVAE from a plain config (validated; defaults filled in).
 * @example
 * const model = createTcvae({ inputDim: 4096, hiddenDim: 512, latentDim: 10, beta: 6, datasetSize: 20000 });
 */
export function createTcvae(config: Omit<TcvaeConfigInput, 'variant'> & { variant?: 'tcvae' }): Tcvae {
  return new Tcvae(validateConfig(tcvaeConfigSchema, { variant: 'tcvae', ...config }, 'tcvae config'));
}
