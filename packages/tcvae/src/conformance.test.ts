import { createModel } from '@elbo/core';
import { describeVariant } from '@elbo/core/testing';
import './index';

// The shared variant suite: builds, shapes, named finite loss terms, learning, save/load, seeds, bad configs, leaks.
describeVariant(
  'tcvae',
  createModel,
  [
    { label: 'small mlp', config: { variant: 'tcvae', seed: 1, inputDim: 12, hiddenDim: 16, mlpLayers: 1, latentDim: 3, beta: 4, datasetSize: 1000 } },
    { label: 'small conv, gaussian', config: { variant: 'tcvae', seed: 2, architecture: 'conv', inputShape: [8, 8, 1], hiddenDims: [4, 8], latentDim: 2, likelihood: 'gaussian', datasetSize: 64 } },
  ],
  {
    expectedTerms: ['reconstruction', 'kl', 'mi', 'tc', 'dimKl', 'elbo'],
    badConfigs: [
      { config: { variant: 'tcvae', inputDim: 12, latentDim: 3 }, message: /field "datasetSize"/ },
      { config: { variant: 'tcvae', inputDim: 12, latentDim: 0, datasetSize: 10 }, message: /field "latentDim"/ },
      { config: { variant: 'tcvae', latentDim: 2, datasetSize: 10 }, message: /field "inputDim" or inputShape is required/ },
      { config: { variant: 'tcvae', inputDim: 12, latentDim: 2, datasetSize: 10, alpha: -1 }, message: /field "alpha"/ },
      { config: { variant: 'tcvae', architecture: 'conv', inputShape: [12], latentDim: 2, datasetSize: 10 }, message: /field "inputShape" must be \[h, w, c\]/ },
      { config: { variant: 'tcvae', inputDim: 12, latentDim: 2, datasetSize: 10, likelihood: 'poisson' }, message: /field "likelihood" must be one of/ },
    ],
  },
);
