import { registerVariant } from '@elbo/core';
import { type HvaeConfig, hvaeConfigSchema } from './config';
import { HierarchicalVae } from './hierarchical-vae';

export * from './base';

registerVariant<HvaeConfig>('hvae', {
  schema: hvaeConfigSchema,
  create: (config) => new HierarchicalVae(config),
  description: 'Ladder VAE (Sønderby et al. 2016): hierarchical latents with top-down inference',
});
