import { baseModelConfigSchema, configFields, refineBaseConfig, withRenamedFields, z } from '@elbo/core';

/**
 * Config of the conditional VAE (Sohn et al. 2015), as plain JSON.
 *
 * The condition is either a class label (`numClasses`: labels 0..numClasses-1,
 * fed to the networks as one-hot vectors) or any real vector of width
 * `conditionDim` (attributes). The other fields are the base model config's
 * (inputShape, architecture, hiddenDims = MLP widths, convChannels, klWeight, ...).
 * The condition is concatenated to the input / latent for
 * MLP networks and broadcast as extra channels for conv networks; with
 * `conditionEmbedding > 0` it first goes through a learned linear embedding of
 * that width (for classes: a lookup table).
 *
 * @example
 * { variant: 'cvae', inputShape: [784], numClasses: 10, latentDim: 16 }
 * { variant: 'cvae', architecture: 'conv', inputShape: [28, 28, 1], numClasses: 10, latentDim: 16, convChannels: [32, 64] }
 * { variant: 'cvae', inputShape: [64], conditionDim: 5, latentDim: 8, likelihood: 'gaussian' }
 */
const schema = baseModelConfigSchema
  .extend({
    variant: z.literal('cvae'),
    /** MLP widths, encoder order (the decoder mirrors them); a wider default than the base for the appended condition. */
    hiddenDims: configFields.widths().default([512, 256]),
    /** Class conditioning: number of classes (labels 0..numClasses-1). Give this or conditionDim. */
    numClasses: z.number().int().min(2).optional(),
    /** Real-vector conditioning: width of the condition (attributes). Give this or numClasses. */
    conditionDim: configFields.positiveInt().optional(),
    /** Width of a learned linear embedding of the condition; 0 feeds the raw condition. */
    conditionEmbedding: z.number().int().nonnegative().default(0),
    /** Resnet: residual blocks per stage. */
    residualBlocks: configFields.positiveInt().default(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    refineBaseConfig(c, ctx);
    if (c.numClasses === undefined && c.conditionDim === undefined) {
      ctx.addIssue({ code: 'custom', path: ['numClasses'], message: 'or conditionDim is required (class labels or real condition vectors)' });
    }
    if (c.numClasses !== undefined && c.conditionDim !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['conditionDim'], message: 'cannot be given together with numClasses (the class condition is numClasses wide)' });
    }
  });

/** The cvae config schema (what `createCvae` and `createModel` validate with). */
export const cvaeConfigSchema = withRenamedFields(schema);

export type CvaeConfigInput = z.input<typeof cvaeConfigSchema>;
export type CvaeConfig = z.output<typeof cvaeConfigSchema>;

/** Width of the raw condition vector: numClasses (one-hot) or conditionDim. */
export function resolveConditionDim(c: CvaeConfig): number {
  return c.numClasses ?? (c.conditionDim as number);
}
