export * from './likelihood';
export * from './networks';
export * from './latent-model';
