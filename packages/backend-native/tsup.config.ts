import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

// shims: import.meta.url in the CJS build (the addon loader resolves the package root from it).
export default defineConfig(packageOptions({ index: 'src/index.ts', 'bench/index': 'src/bench/index.ts', throughput: 'src/bench/product.ts' }, { shims: true }));
