import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The browser test starts chromium and trains on two backends.
    testTimeout: 150_000,
    hookTimeout: 60_000,
  },
});
