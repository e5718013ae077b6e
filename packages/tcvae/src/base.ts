/** Pure exports of @elbo/tcvae (no side effects); `index.ts` also registers the variant. */
export * from './config';
export * from './total-correlation';
export * from './tcvae';
