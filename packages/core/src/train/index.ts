export * from './optimizers';
export * from './callbacks';
export * from './fit';
