import { z } from 'zod';
import { LIKELIHOODS } from './blocks/likelihood';
import { ACTIVATIONS } from './nn/activations';
import { klWeightSchema } from './objective/kl-weight';
import { configFields } from './registry';

/** Network families a single-latent model config can ask for. */
export const ARCHITECTURES = ['mlp', 'conv', 'resnet'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * The config fields every variant shares, with one meaning and one default
 * each. A variant extends it (as pythae's config classes inherit) and adds
 * its own fields, narrows `variant` to its name, and may restrict
 * `architecture` or change a default where its paper differs:
 *
 * | field | meaning |
 * | --- | --- |
 * | `variant` | the registered variant name |
 * | `seed` | drives initialisation and every random draw (default 0) |
 * | `inputShape` | one example: [d] for flat data, [h, w, c] for images |
 * | `architecture` | 'mlp', 'conv' or 'resnet' (default 'mlp') |
 * | `latentDim` | size of the latent code |
 * | `hiddenDims` | MLP widths, encoder order; the decoder mirrors them (default [400, 400]) |
 * | `convChannels` | conv channels per stride-2 stage, encoder order (default [32, 64]) |
 * | `batchNorm` | BatchNorm in conv / resnet stages (default true) |
 * | `activation` | hidden activation (default relu for MLP, leakyRelu for conv) |
 * | `likelihood` | 'bernoulli', 'gaussian' or 'laplace' (default 'bernoulli') |
 * | `likelihoodScale` | Gaussian log-variance / Laplace log-scale: a number or 'learned' (default 0) |
 * | `klWeight` | the KL weight: a number or a schedule (see `klWeightSchema`; default 1) |
 *
 * Old names (`beta`, `hiddenDim`, `inputDim`, ...) fail naming these fields
 * (see `RENAMED_FIELDS`). A variant with no KL term drops `klWeight`
 * (`baseModelConfigSchema.omit({ klWeight: true })`).
 *
 * @example
 * export const myConfigSchema = withRenamedFields(
 *   baseModelConfigSchema
 *     .extend({ variant: z.literal('my-vae'), freeBits: z.number().nonnegative().default(0) })
 *     .strict()
 *     .superRefine(refineBaseConfig),
 * );
 */
export const baseModelConfigSchema = z
  .object({
    variant: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a registered variant name (lowercase letters, digits, -)'),
    seed: configFields.seed(),
    inputShape: z.array(configFields.positiveInt()).min(1).max(3),
    architecture: z.enum(ARCHITECTURES).default('mlp'),
    latentDim: configFields.positiveInt(),
    hiddenDims: configFields.widths().default([400, 400]),
    convChannels: configFields.widths().default([32, 64]),
    batchNorm: z.boolean().default(true),
    activation: z.enum(ACTIVATIONS).optional(),
    likelihood: z.enum(LIKELIHOODS).default('bernoulli'),
    likelihoodScale: z.union([z.number(), z.literal('learned')]).default(0),
    klWeight: klWeightSchema.default(1),
  })
  .strict();

export type BaseModelConfigInput = z.input<typeof baseModelConfigSchema>;
export type BaseModelConfigOutput = z.output<typeof baseModelConfigSchema>;

/**
 * The checks of the base fields that span several fields (zod refinements do
 * not survive `.extend`, so a variant passes this to its own `.superRefine`):
 * conv and resnet networks need an image shape [h, w, c].
 */
export function refineBaseConfig(c: { architecture?: string; inputShape?: number[] }, ctx: z.RefinementCtx): void {
  if (c.architecture !== undefined && c.architecture !== 'mlp' && c.inputShape !== undefined && c.inputShape.length !== 3) {
    ctx.addIssue({ code: 'custom', path: ['inputShape'], message: `must be [height, width, channels] for architecture '${c.architecture}'` });
  }
}
