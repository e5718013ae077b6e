import { type GenerativeModel, registerVariant } from '@elbo/core';
import { cvaeConfigSchema } from './config';
import { Cvae } from './cvae';
import { cvaeBench } from './bench';

export * from './base';

registerVariant('cvae', {
  bench: cvaeBench,
  schema: cvaeConfigSchema as never,
  create: (config) => new Cvae(config as never) as GenerativeModel,
  description: 'Conditional VAE: class labels or attribute vectors, MLP / conv / resnet networks',
});
