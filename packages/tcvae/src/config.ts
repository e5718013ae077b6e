import { configFields, LIKELIHOODS, z } from '@elbo/core';

/**
 * Config of the tcvae variant, as plain JSON (validated by createModel; the
 * error names the bad field).
 *
 * @example
 * { variant: 'tcvae', inputDim: 784, hiddenDims: [256], latentDim: 10 }
 */
export const tcvaeConfigSchema = z
  .object({
    variant: z.literal('tcvae'),
    seed: configFields.seed(),
    latentDim: configFields.positiveInt(),
    /** KL weight. */
    beta: configFields.beta(),
    /** Size of one flattened example. */
    inputDim: configFields.positiveInt(),
    /** Hidden widths of the encoder (the decoder mirrors them). */
    hiddenDims: z.array(configFields.positiveInt()).min(1).default([256]),
    likelihood: z.enum(LIKELIHOODS).default('bernoulli'),
  })
  .strict();

export type TcvaeConfigInput = z.input<typeof tcvaeConfigSchema>;
export type TcvaeConfig = z.output<typeof tcvaeConfigSchema>;
