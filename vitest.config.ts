import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    // SWC keeps decorator metadata, which Nest's dependency injection needs.
    swc.vite({ module: { type: 'es6' }, jsc: { target: 'es2022' } }),
  ],
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        // Specs beside the code: no services, no build (`npm run test:unit`).
        extends: true,
        test: { name: 'unit', include: ['src/**/*.spec.ts'] },
      },
      {
        // The app in the test's process on real PostgreSQL with in-process adapters: no build (`npm run test:medium`).
        extends: true,
        test: { name: 'medium', include: ['test/medium/**/*.test.ts'] },
      },
      {
        // Against real PostgreSQL, Redis and app processes built once per run (`npm run test:integration`).
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/medium/**'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
