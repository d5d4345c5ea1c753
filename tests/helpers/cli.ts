// Run the real `axon` command (bin/axon.mjs under the pinned Node 22) in a child process.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
export const AXON = join(ROOT, 'bin', 'axon.mjs');

const created: string[] = [];

/**
 * A new dir under the OS temp dir. Every dir made here is removed after the test file
 * (`removeTempDirs`, run by tests/helpers/setup.ts after each file).
 */
export function tempDir(prefix = 'axon-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every dir `tempDir` made so far in this test file. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A new data dir whose settings.json holds `settings`. */
export function settingsDir(settings: object, prefix = 'axon-test-'): string {
  const dir = tempDir(prefix);
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings));
  return dir;
}

export function axon(args: string[], env: Record<string, string | undefined> = {}): SpawnSyncReturns<string> {
  return spawnSync(NODE, [AXON, ...args], {
    encoding: 'utf8',
    env: { ...process.env, AXON_KEYSTORE: 'file', ...env },
    timeout: 60_000,
  });
}

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `axon …` in a child process without blocking this process (when a ledger or nodes live here);
 * killed after `timeoutMs`.
 */
export function axonAsync(args: string[], timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [AXON, ...args], { env: { ...process.env, AXON_KEYSTORE: 'file' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A TCP port free on `host` just now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
