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
import { elboObjective, klPerDimension, negLogLikelihood } from '@elbo/losses';
import { type TcvaeConfig, type TcvaeConfigInput, tcvaeConfigSchema } from './config';
import { klDecomposition } from './total-correlation';

/**
 * beta-TCVAE (Chen, Li, Grosse & Duvenaud 2018, "Isolating Sources of
 * Disentanglement in VAEs"). The ELBO's KL term, averaged over the data, is
 *
 *   E_x KL(q(z|x) || p(z)) = I_q(x; z) + TC(q(z)) + sum_d KL(q(z_d) || p(z_d))
 *
 * (index-code mutual information, total correlation, dimension-wise KL), and
 * the objective weights them separately, as a decomposed KL term of the
 * objective:
 *
 *   loss = reconstruction + klWeight * (miWeight * mi + tcWeight * tc + dimKlWeight * dimKl)
 *
 * with log q(z) and log q(z_d) from the minibatch-weighted sampling estimator
 * (see `mwsLogDensities`). miWeight = dimKlWeight = 1 and tcWeight > 1
 * penalises only the total correlation more, which is what encourages
 * factorised latents; klWeight (e.g. a warm-up schedule) anneals all three.
 */
export class Tcvae extends LatentVariableModel {
  readonly variant = 'tcvae';
  readonly usesKlWeight = true;
  declare readonly config: TcvaeConfig & BaseModelConfig;

  constructor(config: TcvaeConfig) {
    const inputShape = config.inputShape;
    const rng = new Rng(config.seed);
    const init = rng.fork('init');
    const { encoder, decoder } = buildEncoderDecoder(config, init);
    // Noise draws get their own stream, so initialisation does not depend on how much was sampled.
    super(config as TcvaeConfig & BaseModelConfig, inputShape, encoder, decoder, new StandardNormalPrior([config.latentDim]), rng.fork('noise'));
  }

  /**
   * The beta-TCVAE objective for a batch, in nats per example. Terms:
   * reconstruction (-E_q log p(x|z)), kl (analytic KL(q(z|x) || p(z)), batch mean),
   * mi, tc, dimKl (MWS estimates; mi + tc + dimKl is the one-draw Monte-Carlo KL),
   * elbo (-(reconstruction + kl)) and klWeight (the weight used: the context's, else the config's at `step`).
   * @param batch.x [batch, ...inputShape]; the batch is the M of the estimator (M >= 2 makes sense)
   */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    this.checkInput(batch.x, 'batch.x');
    const c = this.config;
    const klWeight = this.klWeightFor(context);
    return tf.tidy((): LossOutput => {
      const q = this.encoder.forward(batch.x);
      if (!(q instanceof DiagonalGaussian)) throw new Error('tcvae: the encoder must return a DiagonalGaussian posterior (loc, logVar)');
      const z = q.rsample(this.rng);
      const { mi, tc, dimKl } = klDecomposition(z, q.loc, tf.broadcastTo(q.logVar, q.shape), c.datasetSize);
      return elboObjective({
        reconstruction: negLogLikelihood(this.decoder.forward(z), batch.x),
        kl: {
          value: klPerDimension(q, this.prior),
          decomposition: { mi: { value: mi, weight: c.miWeight }, tc: { value: tc, weight: c.tcWeight }, dimKl: { value: dimKl, weight: c.dimKlWeight } },
        },
        klWeight,
      });
    });
  }
}

/**
 * Build a beta-TCVAE from a plain config, validated with the schema `createModel` uses (defaults filled in).
 * @example
 * const model = createTcvae({ inputShape: [4096], hiddenDims: [512, 512], latentDim: 10, tcWeight: 6, datasetSize: 20000 });
 */
export function createTcvae(config: Omit<TcvaeConfigInput, 'variant'> & { variant?: 'tcvae' }): Tcvae {
  return new Tcvae(validateConfig(tcvaeConfigSchema, { variant: 'tcvae', ...config }, 'tcvae config'));
}
