import { registerVariant } from '@elbo/core';
import { type HvaeConfig, hvaeConfigSchema } from './config';
import { HierarchicalVae } from './hierarchical-vae';
import { hvaeBench } from './bench';

export * from './base';

registerVariant<HvaeConfig>('hvae', {
  bench: hvaeBench,
  schema: hvaeConfigSchema,
  create: (config) => new HierarchicalVae(config),
  description: 'Ladder VAE (Sønderby et al. 2016): hierarchical latents with top-down inference',
});
