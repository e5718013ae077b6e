/**
 * Pure exports of @elbo/core (no side effects). `index.ts` adds the tfjs
 * setup (gradients, chained ops, cpu backend). The `./testing` entry imports
 * this package by name (kept external in its bundle), so both entries share
 * one copy of every class and of the registries.
 */
export * from './errors';
export * from './rng';
export * from './distributions/index';
export * from './nn/index';
export * from './model';
export * from './registry';
export * from './model-config';
export * from './objective/index';
export * from './variant-bench';
export * from './blocks/index';
export { z } from 'zod';
export * from './ops';
export * from './train/index';
export * from './io/index';
export * from './backends/index';
