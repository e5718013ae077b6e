export * from './optional-import';
export * from './portable-grads';
export * from './use-backend';
export * from './webgpu-node';
