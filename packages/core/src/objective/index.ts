export * from './kl-weight';
