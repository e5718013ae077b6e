import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The testing helpers import '@elbo/core' by name; inside this package's own tests that is the source.
  resolve: { alias: { '@elbo/core': fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    server: { deps: { inline: [/@tensorflow\/tfjs-core/] } },
  },
});
