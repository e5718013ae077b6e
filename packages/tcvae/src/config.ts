import { baseModelConfigSchema, configFields, refineBaseConfig, withRenamedFields, z } from '@elbo/core';

/**
 * Config of beta-TCVAE (Chen et al. 2018), as plain JSON: the base model
 * config (inputShape, architecture, latentDim, hiddenDims, convChannels,
 * batchNorm, activation, likelihood, likelihoodScale, klWeight, seed) plus
 * the weights of the KL decomposition and the dataset size. The objective is
 *
 *   loss = reconstruction + klWeight * (miWeight * mi + tcWeight * tc + dimKlWeight * dimKl)
 *
 * so `klWeight` (a number or a schedule, e.g. a warm-up) anneals the whole KL
 * decomposition, and `tcWeight` (the paper's beta) sets the total-correlation
 * penalty relative to it. A beta-VAE config becomes a beta-TCVAE config by
 * changing `variant` and adding `datasetSize` (and `tcWeight`).
 *
 * @example
 * { variant: 'tcvae', inputShape: [4096], hiddenDims: [512, 512], latentDim: 10, tcWeight: 6, datasetSize: 20000 }
 * { variant: 'tcvae', architecture: 'conv', inputShape: [64, 64, 1], convChannels: [32, 32, 64, 64], latentDim: 10, datasetSize: 737280 }
 */
const schema = baseModelConfigSchema
  .extend({
    variant: z.literal('tcvae'),
    /** Network families beta-TCVAE supports here. */
    architecture: z.enum(['mlp', 'conv']).default('mlp'),
    /** Weight of the total correlation TC(q(z)) (the paper's beta). */
    tcWeight: configFields.weight(1),
    /** Weight of the index-code mutual information I(x; z) (the paper's alpha, 1). */
    miWeight: configFields.weight(1),
    /** Weight of the dimension-wise KL sum_d KL(q(z_d) || p(z_d)) (the paper's gamma, 1). */
    dimKlWeight: configFields.weight(1),
    /**
     * N, the number of training examples: the minibatch-weighted sampling estimator of log q(z)
     * is logsumexp_j log q(z_i | x_j) - log(N M) for a batch of M.
     */
    datasetSize: configFields.positiveInt(),
  })
  .strict()
  .superRefine(refineBaseConfig);

/**
 * The tcvae config schema (what `createTcvae` and `createModel` validate with).
 * Old names fail naming the new field: `beta` -> `tcWeight` (here beta was the
 * TC weight, not the KL weight), `alpha` -> `miWeight`, `gamma` -> `dimKlWeight`.
 */
export const tcvaeConfigSchema = withRenamedFields(schema, {
  beta: { to: 'tcWeight', hint: 'the total-correlation weight; klWeight scales the whole KL decomposition' },
  alpha: { to: 'miWeight', hint: 'the mutual-information weight' },
  gamma: { to: 'dimKlWeight', hint: 'the dimension-wise KL weight' },
});

export type TcvaeConfigInput = z.input<typeof tcvaeConfigSchema>;
export type TcvaeConfig = z.output<typeof tcvaeConfigSchema>;
