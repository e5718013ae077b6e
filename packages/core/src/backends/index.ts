export * from './portable-grads';
export * from './use-backend';
