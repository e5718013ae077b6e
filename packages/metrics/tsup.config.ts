import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

// shims: the CJS build needs import.meta.url to find the shipped classifier weights.
export default defineConfig(packageOptions({ index: 'src/index.ts' }, { shims: true }));
