import { defineConfig } from 'vitest/config';

// The NAT lab (tests/natlab): Linux network namespaces, NAT routers and a STUN server, as root.
// Files run one after another (namespaces, CPU); a machine that cannot build namespaces fails
// the run with the reason (NatLab.create throws), it never skips. See docs/natlab.md.
export default defineConfig({
  test: {
    name: 'natlab',
    sequence: { groupOrder: 1 },
    include: ['tests/natlab/**/*.test.ts'],
    setupFiles: ['./tests/helpers/setup.ts'], // removes the temp dirs a file made with tempDir
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
