import { createCvaeView } from './cvae';
import { createHvaeView } from './hvae';
import { createTcvaeView } from './tcvae';
import type { ViewEntry } from './types';
import { createVaeView } from './vae';
import { createVqvaeView } from './vqvae';

export type { VariantView, ViewContext, ViewEntry } from './types';

/** The variant picker's entries, in order; each shows one pretrained model of @elbo/zoo. */
export const VIEWS: readonly ViewEntry[] = [
  { id: 'vae', model: 'vae-mnist', label: 'VAE (MNIST)', create: createVaeView },
  { id: 'cvae', model: 'cvae-mnist', label: 'Conditional VAE (MNIST)', create: createCvaeView },
  { id: 'vqvae', model: 'vqvae-mnist', label: 'VQ-VAE + PixelCNN prior (MNIST)', create: createVqvaeView },
  { id: 'hvae', model: 'hvae-mnist', label: 'Ladder VAE, 3 levels (MNIST)', create: createHvaeView },
  { id: 'tcvae', model: 'tcvae-dsprites', label: 'beta-TCVAE (dSprites)', create: createTcvaeView },
];
