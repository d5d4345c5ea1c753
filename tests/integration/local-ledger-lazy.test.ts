// The local ledger's LiteSVM is a native module with no binary on some platforms (Windows today).
// `axon` must work there against any other cluster: litesvm is loaded only when the embedded
// ledger starts. Real `axon` in a child process whose module loader refuses 'litesvm' (as a
// platform without its binary would), talking to a real local ledger run by this process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import { AXON, NODE, tempDir } from '../helpers/cli';

// a resolve hook: any import of litesvm fails the way a missing native binary does
const NO_LITESVM = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
export async function resolve(spec, ctx, next) {
  if (spec === 'litesvm' || spec.startsWith('litesvm/')) throw new Error('litesvm: no native binary for this platform (test)');
  return next(spec, ctx);
}\`));
`)}`;

/** Run axon in a child without blocking this process (the ledger it talks to runs here). */
function axonWithoutLitesvm(args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(
      NODE,
      ['--import', NO_LITESVM, AXON, ...args],
      { encoding: 'utf8', env: { ...process.env, AXON_KEYSTORE: 'file' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ status: err ? ((err.code as number | null) ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

describe('litesvm is loaded lazily', () => {
  let ledger: LocalLedger;
  beforeAll(async () => {
    ledger = await startLocalLedger({ dataDir: tempDir('axon-lazy-ledger-'), port: 0 });
  });
  afterAll(() => ledger?.close());

  it('axon shows a wallet on a non-local cluster where litesvm cannot load', async () => {
    const dir = tempDir('axon-lazy-');
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ cluster: ledger.rpcUrl }));
    const r = await axonWithoutLitesvm(['--data-dir', dir, 'wallet']);
    expect(r.out).not.toMatch(/litesvm/);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/balance/i);
  });

  it('the same loader does refuse litesvm (the embedded ledger cannot start there)', async () => {
    const port = String(20_000 + Math.floor(Math.random() * 20_000));
    const r = await axonWithoutLitesvm(['--data-dir', tempDir('axon-lazy-'), 'ledger', '--port', port]);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/litesvm: no native binary/);
  });
});
