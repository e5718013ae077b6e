export * from './kl-weight';
export * from './reduction';
export * from './kl';
export * from './free-bits';
export * from './capacity';
export * from './iwae';
export * from './elbo';
export * from './bernoulli-nll';
