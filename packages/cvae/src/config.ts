import { ACTIVATIONS, configFields, LIKELIHOODS, z } from '@elbo/core';

/**
 * Config of the conditional VAE (Sohn et al. 2015), as plain JSON.
 *
 * The condition is either a class label (`numClasses`: labels 0..numClasses-1,
 * fed to the networks as one-hot vectors) or any real vector of width
 * `conditionDim` (attributes). It is concatenated to the input / latent for
 * MLP networks and broadcast as extra channels for conv networks; with
 * `conditionEmbedding > 0` it first goes through a learned linear embedding of
 * that width (for classes: a lookup table).
 *
 * @example
 * { variant: 'cvae', inputShape: [784], numClasses: 10, latentDim: 16 }
 * { variant: 'cvae', architecture: 'conv', inputShape: [28, 28, 1], numClasses: 10, latentDim: 16, hiddenDims: [32, 64] }
 * { variant: 'cvae', inputShape: [64], conditionDim: 5, latentDim: 8, likelihood: 'gaussian' }
 */
export const cvaeConfigSchema = z
  .object({
    variant: z.literal('cvae'),
    seed: configFields.seed(),
    latentDim: configFields.positiveInt(),
    /** KL weight (beta-CVAE when != 1); a LossContext's beta overrides it per step. */
    beta: configFields.beta(),
    architecture: z.enum(['mlp', 'conv', 'resnet']).default('mlp'),
    /** Shape of one example: [d] (or any shape, flattened) for MLP, [h, w, c] for conv / resnet. */
    inputShape: z.array(configFields.positiveInt()).min(1).max(3).optional(),
    /** MLP: flattened input size (alternative to inputShape). */
    inputDim: configFields.positiveInt().optional(),
    /** Class conditioning: number of classes (labels 0..numClasses-1). Give this or conditionDim. */
    numClasses: z.number().int().min(2).optional(),
    /** Real-vector conditioning: width of the condition (attributes). Give this or numClasses. */
    conditionDim: configFields.positiveInt().optional(),
    /** Width of a learned linear embedding of the condition; 0 feeds the raw condition. */
    conditionEmbedding: z.number().int().nonnegative().default(0),
    /**
     * MLP: encoder hidden widths (the decoder mirrors them; default [512, 256]).
     * Conv / resnet: channels per stride-2 stage (default [32, 64]).
     */
    hiddenDims: z.array(configFields.positiveInt()).min(1).optional(),
    /** Resnet: residual blocks per stage. */
    residualBlocks: configFields.positiveInt().default(1),
    batchNorm: z.boolean().default(true),
    activation: z.enum(ACTIVATIONS).optional(),
    likelihood: z.enum(LIKELIHOODS).default('bernoulli'),
    /** Gaussian log-variance / Laplace log-scale: a fixed number or 'learned'. */
    likelihoodScale: z.union([z.number(), z.literal('learned')]).default(0),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.numClasses === undefined && c.conditionDim === undefined) {
      ctx.addIssue({ code: 'custom', path: ['numClasses'], message: 'or conditionDim is required (class labels or real condition vectors)' });
    }
    if (c.numClasses !== undefined && c.conditionDim !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['conditionDim'], message: 'cannot be given together with numClasses (the class condition is numClasses wide)' });
    }
    if (c.inputShape === undefined && c.inputDim === undefined) {
      ctx.addIssue({ code: 'custom', path: ['inputShape'], message: c.architecture === 'mlp' ? 'or inputDim is required' : `is required ([h, w, c]) for architecture '${c.architecture}'` });
    }
    if (c.inputShape !== undefined && c.inputDim !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['inputDim'], message: 'cannot be given together with inputShape' });
    }
    if (c.architecture !== 'mlp' && c.inputShape !== undefined && c.inputShape.length !== 3) {
      ctx.addIssue({ code: 'custom', path: ['inputShape'], message: `must be [h, w, c] for architecture '${c.architecture}'` });
    }
    if (c.architecture !== 'mlp' && c.inputDim !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['inputDim'], message: `is for architecture 'mlp' only; give inputShape [h, w, c] for '${c.architecture}'` });
    }
  });

export type CvaeConfigInput = z.input<typeof cvaeConfigSchema>;
export type CvaeConfig = z.output<typeof cvaeConfigSchema>;

/** The input shape implied by a validated config. */
export function resolveInputShape(c: CvaeConfig): number[] {
  return c.inputShape ?? [c.inputDim as number];
}

/** Width of the raw condition vector: numClasses (one-hot) or conditionDim. */
export function resolveConditionDim(c: CvaeConfig): number {
  return c.numClasses ?? (c.conditionDim as number);
}

/** Default hidden sizes per architecture. */
export function resolveHiddenDims(c: CvaeConfig): number[] {
  return c.hiddenDims ?? (c.architecture === 'mlp' ? [512, 256] : [32, 64]);
}
