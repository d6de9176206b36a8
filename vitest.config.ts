import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // CDK synth and spawned CLI processes are CPU-heavy; keep the 2-core CI box responsive.
    maxWorkers: 2,
  },
});
