import { defineConfig } from 'vitest/config';

// Browser end-to-end tests: real headless Chromium (Debian's `chromium`, driven by
// playwright-core) against real headless nodes on the local ledger. `npm run test:e2e`.
export default defineConfig({
  test: {
    name: 'e2e',
    sequence: { groupOrder: 2 },
    include: ['tests/e2e/**/*.test.ts'],
    // nodes never ask the machine's real router for a port mapping (it would leave loopback)
    env: { AXON_PORT_MAPPING: 'off' },
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
