export * from './distribution';
export * from './diagonal-gaussian';
export * from './bernoulli';
export * from './laplace';
export * from './categorical';
