import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

// One entry (index) only: a second bundled entry would carry its own copy of the Cvae class.
export default defineConfig(packageOptions({ index: 'src/index.ts' }));
