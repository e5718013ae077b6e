import { createModel, type GenerativeModel } from '@elbo/core';
import { describeVariant } from '@elbo/core/testing';
import './index';
import type { VqVae } from './index';

// The shared variant suite on a small VQ-VAE: its latent code is the grid of code indices.
describeVariant(
  'vqvae',
  createModel,
  [
    {
      label: 'mlp, ema codebook',
      config: { variant: 'vqvae', seed: 1, inputShape: [4, 4, 1], hiddenDims: [16], latentDim: 2, codeGrid: [2, 2], numCodes: 4, prior: { channels: 4, layers: 2, kernelSize: 3, outputHidden: 8 } },
    },
    {
      label: 'mlp, gradient codebook, gaussian',
      config: {
        variant: 'vqvae',
        seed: 2,
        inputShape: [12],
        hiddenDims: [16],
        latentDim: 2,
        codeGrid: [1, 3],
        numCodes: 4,
        codebookUpdate: 'gradient',
        likelihood: 'gaussian',
        prior: { channels: 4, layers: 2, kernelSize: 3, outputHidden: 8 },
      },
    },
  ],
  {
    encodeLatent: (m: GenerativeModel, batch) => (m as VqVae).encode(batch.x).indices,
    latentShape: (m) => [...(m as VqVae).codeGrid],
    decodeLatent: (m, z) => m.decode(z).mean(),
    expectedTerms: ['reconstruction', 'commitment', 'perplexity', 'codesUsed'],
    // MLP widths only: the VQ-VAE has no conv channels.
    widthFields: ['hiddenDims'],
    badConfigs: [
      { config: { variant: 'vqvae', latentDim: 2 }, message: /field "inputShape"/ },
      { config: { variant: 'vqvae', inputShape: [12], numCodes: 1 }, message: /field "numCodes" must be at least 2/ },
      { config: { variant: 'vqvae', inputShape: [12], codebookUpdate: 'kmeans' }, message: /field "codebookUpdate" must be one of/ },
      { config: { variant: 'vqvae', inputShape: [12], beta: 0.5 }, message: /field "beta" was renamed: use "commitmentWeight"/ },
      { config: { variant: 'vqvae', inputShape: [12], klWeight: 1 }, message: /unknown field\(s\) "klWeight"/ },
    ],
  },
);
