/**
 * Pure exports of @elbo/core (no side effects). `index.ts` adds the tfjs
 * setup (gradients + cpu backend).
 */
export * from './rng';
export * from './distributions/index';
export * from './nn/index';
export * from './model';
export * from './registry';
export * from './blocks/index';
export { z } from 'zod';
export * from './ops';
