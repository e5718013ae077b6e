import { createModel } from '@elbo/core';
import { describeVariant } from '@elbo/core/testing';
import './index';

// The shared variant suite (builds, shapes, loss terms, learning, save/load, seeds, bad configs, leaks)
// on a small MLP with each likelihood and a small conv net.
describeVariant(
  'vae',
  createModel,
  [
    { label: 'mlp bernoulli', config: { variant: 'vae', seed: 1, inputShape: [12], hiddenDims: [16], latentDim: 3, klWeight: 2 } },
    { label: 'mlp gaussian, learned scale', config: { variant: 'vae', seed: 2, inputShape: [12], hiddenDims: [16, 16], latentDim: 3, likelihood: 'gaussian', likelihoodScale: 'learned' } },
    { label: 'conv laplace', config: { variant: 'vae', seed: 3, architecture: 'conv', inputShape: [8, 8, 1], convChannels: [4, 8], latentDim: 2, likelihood: 'laplace' } },
  ],
  {
    expectedTerms: ['reconstruction', 'kl', 'elbo', 'klWeight'],
    badConfigs: [
      { config: { variant: 'vae', inputShape: [12], latentDim: 0 }, message: /field "latentDim"/ },
      { config: { variant: 'vae', latentDim: 2 }, message: /field "inputShape"/ },
      { config: { variant: 'vae', inputShape: [12], latentDim: 2, likelihood: 'poisson' }, message: /field "likelihood" must be one of/ },
      { config: { variant: 'vae', inputShape: [12], latentDim: 2, klWeight: -1 }, message: /field "klWeight"/ },
    ],
  },
);
