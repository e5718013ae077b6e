export * from './gradcheck';
export * from './tiny-model';
export * from './conformance';
export * from './variant-conformance';
