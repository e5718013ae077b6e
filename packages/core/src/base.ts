/**
 * Pure exports of @elbo/core (no side effects). `index.ts` adds the tfjs
 * setup (gradients, chained ops, cpu backend). Only `index` is a package entry:
 * a second bundled entry would carry its own copies of the classes and break
 * `instanceof` (e.g. the KL registry) for code that mixed the two.
 */
export * from './errors';
export * from './rng';
export * from './distributions/index';
export * from './nn/index';
export * from './model';
export * from './registry';
export * from './model-config';
export * from './objective/index';
export * from './blocks/index';
export { z } from 'zod';
export * from './ops';
export * from './train/index';
export * from './io/index';
export * from './backends/index';
