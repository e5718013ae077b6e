import type { Options } from 'tsup';

/**
 * Shared tsup options: every package builds ESM + CJS + .d.ts from src/.
 * tfjs-core's gradient registrations ship only as extensionless ESM that plain
 * Node cannot load, so packages that need them bundle that one entry.
 */
export function packageOptions(entry: Options['entry'], extra: Partial<Options> = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    splitting: false,
    ...extra,
  };
}
