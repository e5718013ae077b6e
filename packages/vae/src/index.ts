import { type GenerativeModel, registerVariant } from '@elbo/core';
import { vaeConfigSchema } from './config';
import { Vae } from './vae';

export * from './base';

registerVariant('vae', {
  schema: vaeConfigSchema as never,
  create: (config) => new Vae(config as never) as GenerativeModel,
  description: 'Standard / beta-VAE with MLP, conv or residual networks',
});
