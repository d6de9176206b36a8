import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // CDK synth and spawned CLI processes are CPU-heavy; keep the 2-core CI box responsive.
    maxWorkers: 2,
    // The supported Node versions are the project's (package.json engines, README): no AWS SDK
    // notice in test output, nor in the processes tests spawn (they inherit this environment).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
