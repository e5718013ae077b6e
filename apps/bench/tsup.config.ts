import { readdirSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

// The CLI, the programmatic entry, and one module per variant evaluation
// (loaded by `suite variants` when present). ESM only, no declarations.
const variants = Object.fromEntries(
  readdirSync('src/variants')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => [`variants/${f.slice(0, -3)}`, `src/variants/${f}`]),
);

export default defineConfig(packageOptions({ cli: 'src/cli.ts', index: 'src/index.ts', ...variants }, { format: ['esm'], dts: false }));
