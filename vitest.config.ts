import { defineConfig } from 'vitest/config';

// `npm test` runs every suite in one vitest run, as projects:
//   unit         pure and fast
//   integration  real SQLite, real libp2p nodes, the real local ledger, real gnome-keyring
//   natlab       network namespaces + NAT routers (root), one file at a time   (vitest.natlab.config.ts)
//   e2e          real headless Chromium against headless nodes                 (vitest.e2e.config.ts)
// The natlab and e2e groups run after unit + integration (sequence.groupOrder), not beside them.
// Nodes started by these tests (and the processes they spawn) never ask the machine's real router
// for a port mapping: NAT-PMP and UPnP would leave loopback. The NAT lab tests it against its own.
const NO_ROUTER = { AXON_PORT_MAPPING: 'off' };
// Removes the temp dirs a test file made (tests/helpers/cli.ts tempDir) after the file.
const SETUP = './tests/helpers/setup.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['tests/unit/**/*.test.ts'],
          setupFiles: [SETUP],
          env: NO_ROUTER,
          testTimeout: 30_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 0 },
          include: ['tests/integration/**/*.test.ts'],
          setupFiles: [SETUP],
          env: NO_ROUTER,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      './vitest.natlab.config.ts',
      './vitest.e2e.config.ts',
    ],
  },
});
