import { listVariants } from '@elbo/core';
import { loadVariants } from '../discover';

/**
 * The suite tables (`elbo-bench suite beta|arch|latent|variants`) as sweeps:
 * the same configs, now over seeds and on any number of workers. Plain spec
 * data; `variants` lists whatever variants are registered.
 */
const mlp = { variant: 'vae', architecture: 'mlp', inputShape: [784], hiddenDims: [400, 400], latentDim: 20 };
const mnistImage = { inputShape: [28, 28, 1] };
// One KL warm-up for every architecture row: without it the 4-layer MLP collapses to the prior in a short run.
const warmup = { klWeight: { type: 'linear', annealSteps: 1000, weight: 1 } };

export const BUILT_IN_SWEEPS: Record<string, () => Promise<Record<string, unknown>>> = {
  beta: async () => ({
    name: 'beta',
    description: 'KL weight (beta-VAE) trade-off: reconstruction vs KL',
    base: { ...mlp, latentDim: 10 },
    axes: { klWeight: [0.5, 1, 4, 10] },
    seeds: 3,
    epochs: 5,
  }),
  latent: async () => ({
    name: 'latent',
    description: 'latent size',
    base: mlp,
    axes: { latentDim: [10, 20, 50, 128] },
    seeds: 3,
    epochs: 5,
  }),
  arch: async () => ({
    name: 'arch',
    description: 'architecture: MLP 2 and 4 layers, conv, residual',
    base: { variant: 'vae' },
    axes: {
      architecture: {
        'mlp-2': { ...mlp, ...warmup },
        'mlp-4': { ...mlp, hiddenDims: [400, 400, 400, 400], latentDim: 50, ...warmup },
        conv: { architecture: 'conv', ...mnistImage, convChannels: [32, 64, 128], latentDim: 32, ...warmup },
        resnet: { architecture: 'resnet', ...mnistImage, convChannels: [32, 64], residualBlocks: 1, latentDim: 32, ...warmup },
      },
    },
    seeds: 3,
    epochs: 5,
  }),
  variants: async () => {
    await loadVariants();
    return {
      name: 'variants',
      description: 'every registered variant at its defaults',
      base: { variant: listVariants()[0] ?? 'vae', inputShape: [784], latentDim: 16 },
      axes: { variant: listVariants() },
      seeds: 3,
      epochs: 5,
    };
  },
};
