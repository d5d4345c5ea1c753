#!/usr/bin/env node
// The `axon` command. Axon needs Node >= 22 (libp2p 3); when started by an older Node, re-run
// under the Node 22 that the project pins (the `node` dev dependency), so a machine whose system
// Node is older still works. TypeScript sources run through tsx.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    console.error(
      `axon needs Node 22 or newer (this is ${process.version}); run \`npm install\` in ${root} to get the pinned Node 22`,
    );
    process.exit(1);
  }
  const r = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src-main/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
