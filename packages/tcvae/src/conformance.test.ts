import { createModel } from '@elbo/core';
import { describeVariant } from '@elbo/core/testing';
import './index';

// The shared variant suite: builds, shapes, named finite loss terms, learning, save/load, seeds, bad configs, leaks.
describeVariant(
  'tcvae',
  createModel,
  [
    { label: 'small mlp', config: { variant: 'tcvae', seed: 1, inputShape: [12], hiddenDims: [16], latentDim: 3, tcWeight: 4, datasetSize: 1000 } },
    { label: 'small conv, gaussian', config: { variant: 'tcvae', seed: 2, architecture: 'conv', inputShape: [8, 8, 1], convChannels: [4, 8], batchNorm: false, latentDim: 2, likelihood: 'gaussian', datasetSize: 64 } },
  ],
  {
    expectedTerms: ['reconstruction', 'kl', 'mi', 'tc', 'dimKl', 'elbo', 'klWeight'],
    // The KL enters the loss as its weighted decomposition (an estimate), not as the analytic kl term.
    lossIsReconstructionPlusKl: false,
    badConfigs: [
      { config: { variant: 'tcvae', inputShape: [12], latentDim: 3 }, message: /field "datasetSize"/ },
      { config: { variant: 'tcvae', inputShape: [12], latentDim: 0, datasetSize: 10 }, message: /field "latentDim"/ },
      { config: { variant: 'tcvae', latentDim: 2, datasetSize: 10 }, message: /field "inputShape"/ },
      { config: { variant: 'tcvae', inputShape: [12], latentDim: 2, datasetSize: 10, miWeight: -1 }, message: /field "miWeight"/ },
      { config: { variant: 'tcvae', architecture: 'conv', inputShape: [12], latentDim: 2, datasetSize: 10 }, message: /field "inputShape" must be \[height, width, channels\]/ },
      { config: { variant: 'tcvae', inputShape: [12], latentDim: 2, datasetSize: 10, likelihood: 'poisson' }, message: /field "likelihood" must be one of/ },
    ],
  },
);
