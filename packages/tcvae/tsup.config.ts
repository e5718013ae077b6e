import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

export default defineConfig(packageOptions({ index: 'src/index.ts', base: 'src/base.ts' }));
