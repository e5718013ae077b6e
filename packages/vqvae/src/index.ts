import { registerVariant } from '@elbo/core';
import { vqvaeConfigSchema } from './config';
import { createVqVae } from './vqvae';
import { vqvaeBench } from './bench';

export * from './base';

registerVariant('vqvae', {
  bench: vqvaeBench,
  schema: vqvaeConfigSchema,
  create: createVqVae,
  description: 'VQ-VAE (van den Oord et al. 2017) with EMA codebook option, dead-code restarts and a gated PixelCNN prior',
});
