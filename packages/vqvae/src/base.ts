/**
 * Pure exports of @elbo/vqvae (no side effects). `index.ts` adds the
 * registration of the 'vqvae' variant.
 */
export * from './codebook-stats';
export * from './config';
export * from './gated-pixelcnn';
export * from './masked-conv';
export * from './quantizer';
export * from './vqvae';
