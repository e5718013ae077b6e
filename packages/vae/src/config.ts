import { ACTIVATIONS, configFields, LIKELIHOODS, z } from '@elbo/core';
import { betaScheduleSchema } from '@elbo/losses';

/**
 * Config of the standard / beta-VAE, as plain JSON.
 *
 * @example
 * { variant: 'vae', architecture: 'mlp', inputDim: 784, hiddenDim: 400, latentDim: 20, beta: 1 }
 * { variant: 'vae', architecture: 'conv', inChannels: 1, imageSize: 28, hiddenDims: [32, 64], latentDim: 16 }
 */
export const vaeConfigSchema = z
  .object({
    variant: z.literal('vae'),
    seed: configFields.seed(),
    latentDim: configFields.positiveInt(),
    /** KL weight (beta-VAE when > 1). */
    beta: configFields.beta(),
    architecture: z.enum(['mlp', 'conv', 'resnet']).default('mlp'),
    /** Shape of one example: [d] for MLP data, [h, w, c] for images. */
    inputShape: z.array(configFields.positiveInt()).min(1).max(3).optional(),
    /** MLP: flattened input size (alternative to inputShape). */
    inputDim: configFields.positiveInt().optional(),
    /** Conv/resnet: input channels and square image size (alternative to inputShape; size defaults to 28). */
    inChannels: configFields.positiveInt().optional(),
    imageSize: configFields.positiveInt().optional(),
    /** MLP: width and number of hidden layers (PyTorch's examples/vae is 1 x 400; the seed's MLP is 2 x 400). */
    hiddenDim: configFields.positiveInt().default(400),
    mlpLayers: configFields.positiveInt().default(2),
    /** Conv/resnet: channels per stride-2 stage. */
    hiddenDims: z.array(configFields.positiveInt()).min(1).default([32, 64, 128, 256]),
    /** Resnet: residual blocks per stage. */
    residualBlocks: configFields.positiveInt().default(1),
    batchNorm: z.boolean().default(true),
    activation: z.enum(ACTIVATIONS).optional(),
    likelihood: z.enum(LIKELIHOODS).default('bernoulli'),
    /** Gaussian log-variance / Laplace log-scale: a fixed number or 'learned'. */
    likelihoodScale: z.union([z.number(), z.literal('learned')]).default(0),
    /** KL-weight schedule peaking at beta (see @elbo/losses: constant, linear warm-up, cyclical, sigmoid). */
    betaSchedule: betaScheduleSchema.default({ type: 'constant' }),
    /** Free bits lambda in nats per latent dimension (Kingma et al. 2016); 0 = off. */
    freeBits: z.number().nonnegative().default(0),
    /** Capacity control (Burgess et al. 2018): loss = recon + gamma |KL - C(step)|. */
    capacity: z
      .object({ gamma: z.number().positive(), maxCapacity: z.number().nonnegative(), steps: configFields.positiveInt() })
      .strict()
      .optional(),
    /** Importance samples for the IWAE bound (Burda et al. 2016); 1 = the ELBO. */
    iwaeSamples: configFields.positiveInt().default(1),
    /** 'sum-mean': sum over pixels/dims, mean over the batch (nats per example). 'mean': the seed's mean over everything. */
    reduction: z.enum(['sum-mean', 'mean']).default('sum-mean'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.architecture === 'mlp' && c.inputDim === undefined && c.inputShape === undefined) {
      ctx.addIssue({ code: 'custom', path: ['inputDim'], message: "is required for architecture 'mlp' (or give inputShape)" });
    }
    if (c.architecture !== 'mlp' && c.inputShape === undefined && c.inChannels === undefined) {
      ctx.addIssue({ code: 'custom', path: ['inChannels'], message: `is required for architecture '${c.architecture}' (or give inputShape [h, w, c])` });
    }
    if (c.architecture !== 'mlp' && c.inputShape !== undefined && c.inputShape.length !== 3) {
      ctx.addIssue({ code: 'custom', path: ['inputShape'], message: `must be [h, w, c] for architecture '${c.architecture}'` });
    }
    if (c.iwaeSamples > 1 && (c.freeBits > 0 || c.capacity)) {
      ctx.addIssue({ code: 'custom', path: ['iwaeSamples'], message: 'cannot be combined with freeBits or capacity (they modify the ELBO, not the IWAE bound)' });
    }
  });

export type VaeConfigInput = z.input<typeof vaeConfigSchema>;
export type VaeConfig = z.output<typeof vaeConfigSchema>;

/** The input shape implied by a config: inputShape, [inputDim], or [imageSize, imageSize, inChannels]. */
export function resolveInputShape(c: VaeConfig): number[] {
  if (c.inputShape) return c.inputShape;
  if (c.architecture === 'mlp') return [c.inputDim as number];
  const s = c.imageSize ?? 28;
  return [s, s, c.inChannels as number];
}
