import { createModel } from '@elbo/core';
import { describeVariant } from '@elbo/core/testing';
import './index';

// The shared variant suite: builds, shapes, named finite loss terms, learning, save/load, seeds, bad configs, leaks.
describeVariant(
  'tcvae',
  createModel,
  [{ label: 'small mlp', config: { variant: 'tcvae', seed: 1, inputDim: 12, hiddenDims: [16], latentDim: 3 } }],
  {
    expectedTerms: ['reconstruction', 'kl', 'elbo'],
    badConfigs: [
      { config: { variant: 'tcvae', inputDim: 12, latentDim: 0 }, message: /field "latentDim"/ },
      { config: { variant: 'tcvae', latentDim: 2 }, message: /field "inputDim"/ },
      { config: { variant: 'tcvae', inputDim: 12, latentDim: 2, likelihood: 'poisson' }, message: /field "likelihood" must be one of/ },
    ],
  },
);
