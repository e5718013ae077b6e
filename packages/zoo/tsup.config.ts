import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

// shims: import.meta.url in the CJS build, where the loader finds the package's models/ folder.
export default defineConfig(packageOptions({ index: 'src/index.ts', evaluate: 'src/evaluate.ts', build: 'src/build.ts' }, { shims: true }));
