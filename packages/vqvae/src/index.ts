import { registerVariant } from '@elbo/core';
import { vqvaeConfigSchema } from './config';
import { createVqVae } from './vqvae';

export * from './base';

registerVariant('vqvae', {
  schema: vqvaeConfigSchema,
  create: createVqVae,
  description: 'VQ-VAE (van den Oord et al. 2017) with EMA codebook option, dead-code restarts and a gated PixelCNN prior',
});
