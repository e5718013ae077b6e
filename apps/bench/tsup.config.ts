import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

// The CLI and the programmatic entry. ESM only, no declarations. Variant packages
// reach the bench at run time (src/discover.ts), not through this build.
export default defineConfig(packageOptions({ cli: 'src/cli.ts', index: 'src/index.ts' }, { format: ['esm'], dts: false }));
