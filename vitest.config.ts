import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    // SWC keeps decorator metadata, which Nest's dependency injection needs.
    swc.vite({ module: { type: 'es6' }, jsc: { target: 'es2022' } }),
  ],
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    include: ['src/**/*.spec.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    reporters: process.env.CI ? ['default'] : ['default'],
    outputFile: undefined,
  },
});
