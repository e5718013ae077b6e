import { type GenerativeModel, registerVariant } from '@elbo/core';
import { tcvaeBench } from './bench';
import { tcvaeConfigSchema } from './config';
import { Tcvae } from './tcvae';

export * from './base';

registerVariant('tcvae', {
  bench: tcvaeBench,
  schema: tcvaeConfigSchema as never,
  create: (config) => new Tcvae(config as never) as GenerativeModel,
  description: "beta-TCVAE (Chen et al. 2018): total-correlation penalty with the minibatch-weighted sampling estimator, registered as variant 'tcvae'.",
});
