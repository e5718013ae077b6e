export * from './config';
export * from './vae';
