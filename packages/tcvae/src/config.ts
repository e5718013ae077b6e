import { ACTIVATIONS, configFields, LIKELIHOODS, z } from '@elbo/core';

/**
 * Config of beta-TCVAE (Chen et al. 2018), as plain JSON. The KL term of the
 * ELBO is split into index-code mutual information, total correlation and
 * dimension-wise KL, weighted by alpha, beta and gamma; the field names of the
 * networks are those of @elbo/vae, so a beta-VAE config becomes a beta-TCVAE
 * config by changing `variant` and adding `datasetSize`.
 *
 * @example
 * { variant: 'tcvae', inputDim: 4096, hiddenDim: 512, latentDim: 10, beta: 6, datasetSize: 20000 }
 * { variant: 'tcvae', architecture: 'conv', inputShape: [64, 64, 1], hiddenDims: [32, 32, 64, 64], latentDim: 10, datasetSize: 737280 }
 */
export const tcvaeConfigSchema = z
  .object({
    variant: z.literal('tcvae'),
    seed: configFields.seed(),
    latentDim: configFields.positiveInt(),
    /** Weight of the total correlation (the beta of beta-TCVAE). */
    beta: configFields.beta(),
    /** Weight of the index-code mutual information I(x; z) (paper: 1). */
    alpha: z.number().nonnegative().default(1),
    /** Weight of the dimension-wise KL sum_d KL(q(z_d) || p(z_d)) (paper: 1). */
    gamma: z.number().nonnegative().default(1),
    /**
     * N, the number of training examples: the minibatch-weighted sampling estimator of log q(z)
     * is logsumexp_j log q(z_i | x_j) - log(N M) for a batch of M.
     */
    datasetSize: configFields.positiveInt(),
    architecture: z.enum(['mlp', 'conv']).default('mlp'),
    /** Shape of one example: [d] (or any shape, flattened) for MLP, [h, w, c] for conv. */
    inputShape: z.array(configFields.positiveInt()).min(1).max(3).optional(),
    /** MLP: flattened input size (alternative to inputShape). */
    inputDim: configFields.positiveInt().optional(),
    /** MLP: width and number of hidden layers. */
    hiddenDim: configFields.positiveInt().default(400),
    mlpLayers: configFields.positiveInt().default(2),
    /** Conv: channels per stride-2 stage. */
    hiddenDims: z.array(configFields.positiveInt()).min(1).default([32, 64]),
    batchNorm: z.boolean().default(false),
    activation: z.enum(ACTIVATIONS).optional(),
    likelihood: z.enum(LIKELIHOODS).default('bernoulli'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.inputShape === undefined && c.inputDim === undefined) {
      ctx.addIssue({ code: 'custom', path: ['inputDim'], message: c.architecture === 'mlp' ? 'or inputShape is required' : 'is not enough: give inputShape [h, w, c]' });
    }
    if (c.inputShape !== undefined && c.inputDim !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['inputDim'], message: 'cannot be given together with inputShape' });
    }
    if (c.architecture === 'conv' && (c.inputShape === undefined || c.inputShape.length !== 3)) {
      ctx.addIssue({ code: 'custom', path: ['inputShape'], message: "must be [h, w, c] for architecture 'conv'" });
    }
  });

export type TcvaeConfigInput = z.input<typeof tcvaeConfigSchema>;
export type TcvaeConfig = z.output<typeof tcvaeConfigSchema>;

/** The input shape implied by a validated config. */
export function resolveInputShape(c: TcvaeConfig): number[] {
  return c.inputShape ?? [c.inputDim as number];
}
