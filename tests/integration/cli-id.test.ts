import { describe, it, expect } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressToPeerId } from '../../src-main/core/identity/identity';
import { Identity } from '../../src-main/core/identity/identity';
import { axon, tempDir } from '../helpers/cli';

describe('axon id (the real command, key in a 0600 file)', () => {
  it('prints the same address and PeerId twice in a row, and the PeerId is the one libp2p derives', () => {
    const dir = tempDir();
    const first = axon(['--data-dir', dir, 'id', '--json']);
    expect(first.status, first.stderr).toBe(0);
    const second = axon(['--data-dir', dir, 'id', '--json']);
    expect(second.status, second.stderr).toBe(0);
    const a = JSON.parse(first.stdout);
    const b = JSON.parse(second.stdout);
    expect(b).toEqual(a);
    expect(addressToPeerId(a.address).toString()).toBe(a.peerId);
    expect(statSync(join(dir, 'identity.key.json')).mode & 0o777).toBe(0o600);
  });

  it('imports a solana-keygen file and exports it byte for byte', () => {
    const dir = tempDir();
    const wallet = Identity.generate();
    const file = join(dir, 'wallet.json');
    writeFileSync(file, wallet.toSolanaKeygenJson());
    const imp = axon(['--data-dir', dir, 'id', 'import', file]);
    expect(imp.status, imp.stderr).toBe(0);
    expect(imp.stdout).toContain(wallet.address);
    const shown = JSON.parse(axon(['--data-dir', dir, 'id', '--json']).stdout);
    expect(shown.address).toBe(wallet.address);
    const out = join(dir, 'exported.json');
    const exp = axon(['--data-dir', dir, 'id', 'export', out]);
    expect(exp.status, exp.stderr).toBe(0);
    expect(readFileSync(out)).toEqual(readFileSync(file));
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('says clearly what is wrong with a bad key file, an unknown command or a bad flag', () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[1,2,3]');
    const r = axon(['--data-dir', dir, 'id', 'import', bad]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/not a Solana keypair file/);
    const missing = axon(['--data-dir', dir, 'id', 'import', join(dir, 'nope.json')]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/no such file/);
    const unknown = axon(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const flag = axon(['id', '--colour']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/unknown option '--colour'/);
  });

  it('reports a damaged settings file with the field and the reason', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ cluster: 'moon', listenPort: 99999 }));
    const r = axon(['--data-dir', dir, 'id']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cluster/);
    expect(r.stderr).toMatch(/listenPort/);
  });
});
