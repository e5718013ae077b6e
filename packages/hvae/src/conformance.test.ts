import { createModel } from '@elbo/core';
import { describeVariant } from '@elbo/core/testing';
import './index';

// The shared variant suite on small Ladder VAEs; the latent code is the levels concatenated bottom-first.
describeVariant(
  'hvae',
  createModel,
  [
    { label: 'mlp, 2 levels, batchNorm', config: { variant: 'hvae', seed: 1, inputShape: [12], latentDims: [4, 2], hiddenDims: [16, 8], blockDepth: 1 } },
    { label: 'mlp, 3 levels, gaussian, no batchNorm', config: { variant: 'hvae', seed: 2, inputShape: [12], latentDims: [4, 3, 2], hiddenDims: [16, 8, 8], blockDepth: 1, batchNorm: false, likelihood: 'gaussian' } },
  ],
  {
    expectedTerms: ['reconstruction', 'kl', 'kl_1', 'kl_2', 'elbo', 'klWeight'],
    badConfigs: [
      { config: { variant: 'hvae', inputShape: [12], latentDims: [4] }, message: /field "latentDims" needs at least 2 levels/ },
      { config: { variant: 'hvae', inputShape: [12], latentDims: [4, 2], latentDim: 5 }, message: /field "latentDim" must equal the sum of latentDims \(6\)/ },
      { config: { variant: 'hvae', inputShape: [12], latentDims: [4, 2], hiddenDims: [8] }, message: /field "hiddenDims" must have one MLP width per level/ },
      { config: { variant: 'hvae', inputShape: [12], latentDims: [4, 2], beta: 1 }, message: /field "beta" was renamed: use "klWeight"/ },
      { config: { variant: 'hvae', inputShape: [12], latentDims: [4, 2], klWarmupSteps: 10 }, message: /field "klWarmupSteps" was renamed: use "klWeight"/ },
      { config: { variant: 'hvae', inputShape: [12], latentDims: [4, 2], likelihoodOptions: {} }, message: /field "likelihoodOptions" was renamed: use "likelihoodScale"/ },
    ],
  },
);
