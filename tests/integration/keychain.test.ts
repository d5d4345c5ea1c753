// The real OS keychain path: a real Secret Service (Debian's gnome-keyring) in a private D-Bus
// session, driven through @napi-rs/keyring exactly as the app uses it. No mock.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, NODE, tempDir } from '../helpers/cli';
import { inKeyringSession, jsonLines } from '../helpers/keyring';
import { keychainAccountFor } from '../../src-main/core/identity/keystore';

const haveKeyring = existsSync('/usr/bin/gnome-keyring-daemon') && existsSync('/usr/bin/dbus-run-session');

describe('identity key in the OS keychain (Secret Service)', () => {
  it('stores, reads back and deletes the key through a real gnome-keyring', () => {
    expect(
      haveKeyring,
      'gnome-keyring and dbus must be installed (npm test installs them: scripts/system-deps.mjs)',
    ).toBe(true);
    const dir = tempDir();
    const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const fixture = join(ROOT, 'tests', 'fixtures', 'keychain-roundtrip.ts');
    const run = (mode: string) => `"${NODE}" "${tsx}" "${fixture}" ${mode} "${dir}"`;
    const account = keychainAccountFor(dir);
    const r = inKeyringSession(
      dir,
      [
        run('create'),
        run('read'),
        `echo "{\\"step\\":\\"secret-tool\\",\\"items\\":$(secret-tool search --all service axon username ${account} 2>&1 | grep -c "^attribute.username = ${account}" || true)}"`,
        run('delete'),
        `echo "{\\"step\\":\\"after-delete\\",\\"items\\":$(secret-tool search --all service axon username ${account} 2>&1 | grep -c "^attribute.username" || true)}"`,
      ],
      60_000,
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const steps = jsonLines(r.stdout);
    const by = Object.fromEntries(steps.map((s) => [s.step, s]));
    expect(by.create.kind).toBe('keychain');
    expect(by.create.where).toMatch(/Secret Service/);
    expect(by.read).toMatchObject({ address: by.create.address, kind: 'keychain', created: false });
    expect(by['secret-tool'].items).toBe(1); // the item is really in the Secret Service
    // No secret on disk: only the pointer file.
    expect(existsSync(join(dir, 'identity.key.json'))).toBe(false);
    expect(readFileSync(join(dir, 'identity.json'), 'utf8')).not.toMatch(/\[\d+,/);
    expect(by.delete.left).toBe(true);
    expect(by['after-delete'].items).toBe(0);
  });
});
