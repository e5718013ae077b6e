import { ACTIVATIONS, LIKELIHOODS, z } from '@elbo/core';

const positiveInt = () => z.number().int().positive();

/** A KL weight: a fixed number, or a linear warm-up from 0 to `weight` (default 1) over `annealSteps`. */
const klWeightSchema = z.union([
  z.number().nonnegative(),
  z.object({ type: z.literal('linear'), annealSteps: positiveInt(), weight: z.number().nonnegative().default(1) }).strict(),
]);

/**
 * Config of the hierarchical (Ladder) VAE, variant 'hvae'. Levels are listed
 * bottom-up: level 1 (index 0) is the latent closest to x, the last is the top.
 *
 * @example
 * createModel({ variant: 'hvae', inputShape: [784], latentDims: [64, 32, 16, 8, 4], seed: 1 })
 */
export const hvaeConfigSchema = z
  .object({
    variant: z.literal('hvae'),
    /** One seed drives initialisation and every random draw. */
    seed: z.number().int().nonnegative().default(0),
    /** 'mlp': dense blocks throughout; 'conv': stride-2 conv stem under level 1 and a conv decoder p(x|z1). */
    architecture: z.enum(['mlp', 'conv']).default('mlp'),
    /** Shape of one example: [784] or [28, 28, 1] (conv needs [h, w, c]). */
    inputShape: z.array(positiveInt()).min(1).default([784]),
    /** Latent size per level, bottom-up; at least 2 levels (e.g. the paper's 64-32-16-8-4). */
    latentDims: z.array(positiveInt()).min(2, 'needs at least 2 levels (bottom-up, e.g. [64, 32, 16, 8, 4])').default([64, 32, 16, 8, 4]),
    /**
     * Total latent size (sum of latentDims), filled in; `encode`/`decode` work
     * on the levels concatenated bottom-first. If given it must equal the sum.
     */
    latentDim: positiveInt().optional(),
    /** Width of the deterministic block at each level (same length as latentDims); default 8 x latentDims (the paper's 512-256-128-64-32). */
    hiddenDims: z.array(positiveInt()).min(1).optional(),
    /** Dense layers per deterministic block (bottom-up and top-down). */
    blockDepth: positiveInt().default(2),
    /** Channels of the stride-2 conv stages (conv architecture only). */
    convChannels: z.array(positiveInt()).min(1).default([32, 64]),
    activation: z.enum(ACTIVATIONS).default('leakyRelu'),
    /**
     * BatchNorm in the deterministic blocks of both paths (the paper uses it; it
     * speeds up training and keeps upper levels active). Eval mode then uses the
     * running statistics: call model.eval() before evaluating.
     */
    batchNorm: z.boolean().default(true),
    likelihood: z.enum(LIKELIHOODS).default('bernoulli'),
    /** Gaussian log-variance / Laplace log-scale of p(x | z_1): a fixed number or 'learned' (per pixel, from the decoder). */
    likelihoodScale: z.union([z.number(), z.literal('learned')]).default(0),
    /**
     * KL weight: a number, or a schedule by training step. The Ladder VAE paper's
     * warm-up is the linear schedule from 0 to `weight` over `annealSteps`.
     * A LossContext klWeight (from the trainer's schedule) overrides it.
     */
    klWeight: klWeightSchema.default(1),
    /** Free bits lambda in nats (Kingma et al. 2016; @elbo/losses freeBitsKl): the batch-mean KL of each group is floored at it in the objective; 0 = off. */
    freeBits: z.number().nonnegative().default(0),
    /** Where free bits apply: to each level's total KL ('level', the Ladder/IAF group choice) or to each latent dimension ('dimension'). */
    freeBitsMode: z.enum(['level', 'dimension']).default('level'),
  })
  .strict()
  .superRefine((c, ctx) => {
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
        message: `must have one width per level (${c.latentDims.length}, like latentDims)`,
      });
    }
    if (c.architecture === 'conv' && c.inputShape.length !== 3) {
      ctx.addIssue({ code: 'custom', path: ['inputShape'], message: "must be [height, width, channels] for architecture 'conv'" });
    }
  })
  .transform((c) => ({
    ...c,
    latentDim: c.latentDims.reduce((a, b) => a + b, 0),
    hiddenDims: c.hiddenDims ?? c.latentDims.map((d) => 8 * d),
  }));

/** A validated hvae config with defaults filled in. */
export type HvaeConfig = z.output<typeof hvaeConfigSchema>;
/** What a user may pass (defaults optional). */
export type HvaeConfigInput = z.input<typeof hvaeConfigSchema>;
