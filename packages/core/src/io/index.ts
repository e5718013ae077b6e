export * from './manifest';
export * from './node-directory';
export * from './checkpoint';
export * from './http';
export * from './model-size';
