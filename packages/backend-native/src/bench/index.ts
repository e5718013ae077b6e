export * from './models';
export * from './throughput';
export * from './gemm';
export * from './product';
