/**
 * @elbo/losses: the terms of the ELBO and the tricks around it. Every
 * function is a pure tfjs op (tidy, backend-agnostic); nothing registers at
 * import time, so this package has no side effects. The ELBO's own terms
 * come from @elbo/core's objective (see `objective.ts`).
 */
export * from './objective';
export * from './reconstruction';
export * from './kl';
export * from './perceptual';
export * from './adversarial';
