export * from './models';
export * from './throughput';
