// Run the real `axon` command (bin/axon.mjs under the pinned Node 22) in a child process.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
export const AXON = join(ROOT, 'bin', 'axon.mjs');

export function tempDir(prefix = 'axon-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function axon(args: string[], env: Record<string, string | undefined> = {}): SpawnSyncReturns<string> {
  return spawnSync(NODE, [AXON, ...args], {
    encoding: 'utf8',
    env: { ...process.env, AXON_KEYSTORE: 'file', ...env },
    timeout: 60_000,
  });
}
