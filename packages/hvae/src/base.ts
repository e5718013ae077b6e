/** Pure exports of @elbo/hvae; `index.ts` also registers the 'hvae' variant. */
export * from './config';
export * from './merge';
export * from './ladder-networks';
export * from './ladder-posterior';
export * from './hierarchical-vae';
export * from './active-units';
