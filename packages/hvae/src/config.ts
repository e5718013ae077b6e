import { ACTIVATIONS, baseModelConfigSchema, configFields, refineBaseConfig, withRenamedFields, z } from '@elbo/core';

/**
 * Config of the hierarchical (Ladder) VAE, variant 'hvae': core's base config
 * plus the levels. Levels are listed bottom-up: level 1 (index 0) is the
 * latent closest to x, the last is the top.
 *
 * Base fields with an hvae meaning: `hiddenDims` are the MLP widths of the
 * deterministic block at each level (one per level, in both paths; the conv
 * architecture keeps these dense blocks above its conv stem), `convChannels`
 * the channels of the conv stem and decoder, `latentDim` the sum of
 * `latentDims` (filled in), `klWeight` weights every level's KL (the paper's
 * warm-up is `{ type: 'linear', annealSteps }`).
 *
 * @example
 * createModel({ variant: 'hvae', inputShape: [784], latentDims: [64, 32, 16, 8, 4], klWeight: { type: 'linear', annealSteps: 10000 }, seed: 1 })
 */
const schema = baseModelConfigSchema
  .extend({
    variant: z.literal('hvae'),
    /** 'mlp': dense blocks throughout; 'conv': stride-2 conv stem under level 1 and a conv decoder p(x|z1). */
    architecture: z.enum(['mlp', 'conv']).default('mlp'),
    /** Shape of one example: [784] or [28, 28, 1] (conv needs [h, w, c]). */
    inputShape: z.array(configFields.positiveInt()).min(1).max(3).default([784]),
    /** Latent size per level, bottom-up; at least 2 levels (e.g. the paper's 64-32-16-8-4). */
    latentDims: z.array(configFields.positiveInt()).min(2, 'needs at least 2 levels (bottom-up, e.g. [64, 32, 16, 8, 4])').default([64, 32, 16, 8, 4]),
    /**
     * Total latent size (sum of latentDims), filled in; `encode`/`decode` work
     * on the levels concatenated bottom-first. If given it must equal the sum.
     */
    latentDim: configFields.positiveInt().optional(),
    /** MLP width of the deterministic block at each level (same length as latentDims); default 8 x latentDims (the paper's 512-256-128-64-32). */
    hiddenDims: configFields.widths().optional(),
    /** Dense layers per deterministic block (bottom-up and top-down). */
    blockDepth: configFields.positiveInt().max(64).default(2),
    activation: z.enum(ACTIVATIONS).default('leakyRelu'),
    /**
     * BatchNorm in the deterministic blocks of both paths (the paper uses it; it
     * speeds up training and keeps upper levels active). Eval mode then uses the
     * running statistics: call model.eval() before evaluating.
     */
    batchNorm: z.boolean().default(true),
    /** Free bits lambda in nats (Kingma et al. 2016): the batch-mean KL of each group is floored at it in the objective; 0 = off. */
    freeBits: z.number().nonnegative().default(0),
    /** Where free bits apply: to each level's total KL ('level', the Ladder/IAF group choice) or to each latent dimension ('dimension'). */
    freeBitsMode: z.enum(['level', 'dimension']).default('level'),
  })
  .strict()
  .superRefine((c, ctx) => {
    refineBaseConfig(c, ctx);
    const total = c.latentDims.reduce((a, b) => a + b, 0);
    if (c.latentDim !== undefined && c.latentDim !== total) {
      ctx.addIssue({
        code: 'custom',
        path: ['latentDim'],
        message: `must equal the sum of latentDims (${total}) or be left out`,
      });
    }
    if (c.hiddenDims && c.hiddenDims.length !== c.latentDims.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['hiddenDims'],
        message: `must have one MLP width per level (${c.latentDims.length}, like latentDims)`,
      });
    }
  })
  .transform((c) => ({
    ...c,
    latentDim: c.latentDims.reduce((a, b) => a + b, 0),
    hiddenDims: c.hiddenDims ?? c.latentDims.map((d) => 8 * d),
  }));

/**
 * The hvae config schema. Old names (beta, klWarmupSteps, likelihoodOptions,
 * hiddenDim, ...) fail naming the new field. `hiddenDims` keeps its meaning
 * (per-level MLP widths) with the conv architecture too, since the conv
 * stem's channels are `convChannels` and the levels' blocks stay dense.
 */
export const hvaeConfigSchema = withRenamedFields(schema, { hiddenDims: null });

/** A validated hvae config with defaults filled in. */
export type HvaeConfig = z.output<typeof hvaeConfigSchema>;
/** What a user may pass (defaults optional). */
export type HvaeConfigInput = z.input<typeof hvaeConfigSchema>;
