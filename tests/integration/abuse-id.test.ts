// `axon id import` / `axon id export` (the real command, key in a 0600 file): an import keeps the
// key it replaces unless told to discard it, and an export never leaves the key in a file others
// may read (docs/security.md, "Keys").
import { describe, it, expect } from 'vitest';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Identity } from '../../src-main/core/identity/identity';
import { AXON, NODE, axon, tempDir } from '../helpers/cli';
import { inKeyringSession, jsonLines } from '../helpers/keyring';

const address = (dir: string): string => JSON.parse(axon(['--data-dir', dir, 'id', '--json']).stdout).address;

describe('axon id import keeps the old key', () => {
  it('writes the replaced key to a dated 0600 backup that imports back (before the fix: it was gone)', () => {
    const dir = tempDir();
    const before = address(dir);
    const wallet = Identity.generate();
    const file = join(dir, 'wallet.json');
    writeFileSync(file, wallet.toSolanaKeygenJson());
    const imp = axon(['--data-dir', dir, 'id', 'import', file]);
    expect(imp.status, imp.stderr).toBe(0);
    expect(address(dir)).toBe(wallet.address);
    const backups = readdirSync(dir).filter((f) => f.startsWith('identity-backup-'));
    expect(backups).toHaveLength(1);
    const backup = join(dir, backups[0]!);
    expect(backups[0]).toMatch(new RegExp(`^identity-backup-\\d{4}-\\d\\d-\\d\\dT[\\d-]+Z-${before}\\.json$`));
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(imp.stdout).toContain(backup); // the user is told where
    expect(Identity.fromSolanaKeygenJson(readFileSync(backup, 'utf8')).address).toBe(before);
    // and going back works
    expect(axon(['--data-dir', dir, 'id', 'import', backup]).status).toBe(0);
    expect(address(dir)).toBe(before);
  });

  it('keeps no backup when told to discard the old key', () => {
    const dir = tempDir();
    address(dir);
    const file = join(dir, 'wallet.json');
    writeFileSync(file, Identity.generate().toSolanaKeygenJson());
    const imp = axon(['--data-dir', dir, 'id', 'import', '--discard-old', file]);
    expect(imp.status, imp.stderr).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('identity-backup-'))).toEqual([]);
  });
});

describe('axon id import with the key in the OS keychain (a real Secret Service)', () => {
  it('keeps the replaced keychain key in a 0600 backup file too (before the fix: overwritten, no copy)', () => {
    const dir = tempDir();
    const wallet = Identity.generate();
    const file = join(dir, 'wallet.json');
    writeFileSync(file, wallet.toSolanaKeygenJson());
    const cli = (args: string) => `AXON_KEYSTORE=keychain "${NODE}" "${AXON}" --data-dir "${dir}" ${args}`;
    const r = inKeyringSession(dir, [cli('id --json'), cli(`id import "${file}"`), cli('id --json')], 120_000);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const shown = jsonLines<{ address: string; keyStore: string }>(r.stdout);
    expect(shown).toHaveLength(2);
    expect(shown[0]!.keyStore).toBe('keychain');
    expect(shown[1]).toMatchObject({ address: wallet.address, keyStore: 'keychain' });
    const backups = readdirSync(dir).filter((f) => f.startsWith('identity-backup-'));
    expect(backups).toHaveLength(1);
    const backup = join(dir, backups[0]!);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(Identity.fromSolanaKeygenJson(readFileSync(backup, 'utf8')).address).toBe(shown[0]!.address);
    expect(r.stdout).toContain(backup);
  });
});

describe('axon id export never leaves the key readable by others', () => {
  it('refuses to overwrite an existing file without --force (before the fix: wrote it, left 0644)', () => {
    const dir = tempDir();
    const me = address(dir);
    const out = join(dir, 'out.json');
    writeFileSync(out, 'precious');
    chmodSync(out, 0o644);
    const r = axon(['--data-dir', dir, 'id', 'export', out]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/exists; pass --force/);
    expect(readFileSync(out, 'utf8')).toBe('precious');

    const f = axon(['--data-dir', dir, 'id', 'export', '--force', out]);
    expect(f.status, f.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(Identity.fromSolanaKeygenJson(readFileSync(out, 'utf8')).address).toBe(me);
    expect(readdirSync(dir).filter((x) => x.includes('.tmp'))).toEqual([]);
  });
});
