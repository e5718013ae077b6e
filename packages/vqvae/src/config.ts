import { ACTIVATIONS, baseModelConfigSchema, configFields, withRenamedFields, z } from '@elbo/core';

/** Restart codes whose usage (EMA of assignments per step) drops below `threshold`, every `every` training steps. */
export const deadCodeRestartSchema = z
  .object({
    every: configFields.positiveInt().default(100),
    threshold: z.number().positive().default(1),
  })
  .strict();

/** The gated PixelCNN prior over the code grid. */
export const priorSchema = z
  .object({
    channels: configFields.positiveInt().default(32),
    layers: configFields.positiveInt().default(5),
    kernelSize: configFields
      .positiveInt()
      .refine((k) => k % 2 === 1, { message: 'must be odd (3, 5, ...)' })
      .default(3),
    outputHidden: configFields.positiveInt().default(64),
  })
  .strict();

/**
 * Config of the VQ-VAE, as plain JSON: core's base config without the KL
 * weight (the objective has no KL term), conv channels or BatchNorm (the
 * networks are MLPs without BatchNorm), plus the codebook and the prior.
 * `latentDim` is D, the size of one code vector.
 *
 * @example
 * { variant: 'vqvae', inputShape: [28, 28, 1], hiddenDims: [512, 256], latentDim: 8, codeGrid: [4, 4], numCodes: 64, commitmentWeight: 0.25 }
 */
const schema = baseModelConfigSchema
  .omit({ klWeight: true, convChannels: true, batchNorm: true })
  .extend({
    variant: z.literal('vqvae'),
    /** 'mlp': the encoder maps the flattened input to a grid of codeGrid vectors (global receptive field). */
    architecture: z.enum(['mlp']).default('mlp'),
    /** MLP widths of the encoder's hidden layers (the decoder mirrors them). Default: the bench's MNIST setting. */
    hiddenDims: configFields.widths().default([512, 256]),
    activation: z.enum(ACTIVATIONS).default('relu'),
    /** D, the size of one code vector. */
    latentDim: configFields.positiveInt().default(8),
    /** [H, W] of the grid of codes one example is encoded to (sampling runs the prior once per position). */
    codeGrid: z.tuple([configFields.positiveInt(), configFields.positiveInt()]).default([4, 4]),
    /** K, the codebook size. */
    numCodes: configFields
      .positiveInt()
      .refine((k) => k >= 2, { message: 'must be at least 2' })
      .default(64),
    /** Weight of the commitment term ||ze - sg(e)||^2 (van den Oord et al. use 0.25). Not a KL weight: a KL schedule never scales it. */
    commitmentWeight: z.number().nonnegative().default(0.25),
    /**
     * 'ema' (default) or 'gradient' (the paper's codebook loss). Measured on MNIST with Adam at lr 1e-3:
     * in gradient mode Adam moves each code by about lr per step while the encoder outputs move by O(1),
     * so the codebook and commitment terms ran away (loss 544 -> 26,000 nats in 65 steps before
     * recovering); the EMA codebook follows the encoder outputs (544 -> 321 in 30 steps).
     */
    codebookUpdate: z.enum(['gradient', 'ema']).default('ema'),
    emaDecay: z.number().gt(0).lt(1).default(0.99),
    emaEpsilon: z.number().positive().default(1e-5),
    /** Initialise the codebook from encoder outputs of the first training batch (prevents early index collapse). */
    dataInit: z.boolean().default(true),
    /** Dead-code restarts from encoder outputs; false turns them off. */
    deadCodeRestart: z.union([z.literal(false), deadCodeRestartSchema]).default({ every: 100, threshold: 1 }),
    prior: priorSchema.default({ channels: 32, layers: 5, kernelSize: 3, outputHidden: 64 }),
  })
  .strict();

/**
 * The vqvae config schema. Old names fail naming the new field: `beta` (the
 * commitment weight here) -> `commitmentWeight`, plus core's common renames
 * (hiddenDim, likelihoodOptions, inputDim, ...). `hiddenDims` is always MLP
 * widths (there is no conv architecture to confuse it with).
 */
export const vqvaeConfigSchema = withRenamedFields(schema, {
  beta: { to: 'commitmentWeight', hint: 'the weight of the commitment term, e.g. 0.25; a VQ-VAE has no KL weight' },
  hiddenDims: null,
});

export type VqVaeConfigInput = z.input<typeof vqvaeConfigSchema>;
export type VqVaeConfig = z.output<typeof vqvaeConfigSchema>;
