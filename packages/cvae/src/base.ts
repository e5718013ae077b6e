/** Pure exports of @elbo/cvae; `index.ts` also registers the 'cvae' variant. */
export * from './condition';
export * from './config';
export * from './cvae';
