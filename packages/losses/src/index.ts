/**
 * @elbo/losses: the terms of the ELBO and the tricks around it. Every
 * function is a pure tfjs op (tidy, backend-agnostic); nothing registers at
 * import time, so this package has no side effects.
 */
export * from './reduction';
export * from './reconstruction';
export * from './kl';
export * from './free-bits';
export * from './schedules';
export * from './iwae';
export * from './elbo';
export * from './perceptual';
export * from './adversarial';
