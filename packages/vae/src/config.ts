import { baseModelConfigSchema, configFields, refineBaseConfig, withRenamedFields, z } from '@elbo/core';

/**
 * Config of the standard / beta-VAE, as plain JSON: the base model config
 * (inputShape, architecture, latentDim, hiddenDims, convChannels, batchNorm,
 * activation, likelihood, likelihoodScale, klWeight, seed) plus the loss
 * knobs below.
 *
 * @example
 * { variant: 'vae', inputShape: [784], hiddenDims: [400], latentDim: 20 }          // PyTorch's examples/vae
 * { variant: 'vae', inputShape: [784], latentDim: 10, klWeight: 4 }                 // beta-VAE
 * { variant: 'vae', inputShape: [784], latentDim: 20, klWeight: { type: 'linear', annealSteps: 1000 } }
 * { variant: 'vae', architecture: 'conv', inputShape: [28, 28, 1], convChannels: [32, 64], latentDim: 16 }
 */
const schema = baseModelConfigSchema
  .extend({
    variant: z.literal('vae'),
    /** Resnet: residual blocks per stage. */
    residualBlocks: configFields.positiveInt().default(1),
    /** Free bits lambda in nats per latent dimension (Kingma et al. 2016); 0 = off. */
    freeBits: z.number().nonnegative().default(0),
    /** Capacity control (Burgess et al. 2018): loss = recon + gamma |KL - C(step)| instead of klWeight * KL. */
    capacity: z
      .object({ gamma: z.number().positive(), maxCapacity: z.number().nonnegative(), steps: configFields.positiveInt() })
      .strict()
      .optional(),
    /** Importance samples for the IWAE bound (Burda et al. 2016); 1 = the ELBO. */
    iwaeSamples: configFields.positiveInt().default(1),
    /** 'sum-mean': sum over pixels/dims, mean over the batch (nats per example). 'mean': mean over everything (PyTorch's default). */
    reduction: z.enum(['sum-mean', 'mean']).default('sum-mean'),
  })
  .strict()
  .superRefine((c, ctx) => {
    refineBaseConfig(c, ctx);
    if (c.iwaeSamples > 1 && (c.freeBits > 0 || c.capacity)) {
      ctx.addIssue({ code: 'custom', path: ['iwaeSamples'], message: 'cannot be combined with freeBits or capacity (they modify the ELBO, not the IWAE bound)' });
    }
    if (c.capacity && c.freeBits > 0) {
      ctx.addIssue({ code: 'custom', path: ['capacity'], message: 'cannot be combined with freeBits' });
    }
  });

/** The vae config schema (what `createVae` and `createModel` validate with). */
export const vaeConfigSchema = withRenamedFields(schema);

export type VaeConfigInput = z.input<typeof vaeConfigSchema>;
export type VaeConfig = z.output<typeof vaeConfigSchema>;
