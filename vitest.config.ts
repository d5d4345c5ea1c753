import { defineConfig } from 'vitest/config';

// Default suite: unit + integration (real SQLite, real libp2p nodes, the real local ledger).
// The NAT lab (root, namespaces) and the browser end-to-end tests have their own configs.
export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
