// RPC endpoint settings: an RPC URL with an API key is kept in the OS keychain (a real Secret
// Service in a private D-Bus session) or, without one, in a 0600 file - never in settings.json,
// never in `axon status` / `axon rpc` output or the log; plain URLs are settings, validated.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AXON, NODE, axon, tempDir } from '../helpers/cli';
import { inKeyringSession, jsonLines } from '../helpers/keyring';
import { rpcSecretAccount } from '../../src-main/core/ledger/rpc-secret';

const KEY = 'k3y-0123456789abcdef';
const KEYED = `https://rpc.example.invalid/?api-key=${KEY}`;
const haveKeyring = existsSync('/usr/bin/gnome-keyring-daemon') && existsSync('/usr/bin/dbus-run-session');

function noKeyIn(dir: string): void {
  for (const f of ['settings.json', 'axon.log', 'node.log'])
    if (existsSync(join(dir, f))) expect(readFileSync(join(dir, f), 'utf8')).not.toContain(KEY);
}

describe('RPC endpoint settings', () => {
  it('keeps an API-key URL in the OS keychain and shows it redacted', () => {
    expect(haveKeyring, 'gnome-keyring and dbus must be installed (scripts/system-deps.mjs)').toBe(true);
    const dir = tempDir();
    const run = (args: string) => `"${NODE}" "${AXON}" --data-dir "${dir}" --keystore auto ${args}`;
    const account = rpcSecretAccount(dir);
    const r = inKeyringSession(
      dir,
      [
        `echo "${KEYED}" | ${run('rpc key-url')}`,
        run('rpc --json | tr -d "\\n"; echo'),
        `echo "{\\"step\\":\\"secret-tool\\",\\"items\\":$(secret-tool search --all service axon username ${account} 2>&1 | grep -c "^attribute.username = ${account}" || true)}"`,
        run('rpc clear-key'),
        run('rpc --json | tr -d "\\n"; echo'),
      ],
      60_000,
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('kept in the OS keychain');
    expect(r.stdout).not.toContain(KEY);
    const lines = jsonLines<{ rpcUrl?: string; keyed?: boolean; step?: string; items?: number }>(r.stdout);
    expect(lines[0]).toMatchObject({ rpcUrl: 'https://rpc.example.invalid/…', keyed: true });
    expect(lines[1]).toMatchObject({ step: 'secret-tool', items: 1 });
    expect(lines[2]).toMatchObject({ rpcUrl: 'http://127.0.0.1:8899', keyed: false });
    expect(existsSync(join(dir, 'rpc-url.secret'))).toBe(false);
    noKeyIn(dir);
  });

  it('without a keychain: a 0600 file in the data dir; plain URLs are validated settings', () => {
    const dir = tempDir();
    const set = axon(['--data-dir', dir, 'rpc', 'key-url', KEYED]); // AXON_KEYSTORE=file
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout).toContain('0600 file');
    const file = join(dir, 'rpc-url.secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(KEYED);
    const st = axon(['--data-dir', dir, 'status', '--json']);
    expect(st.status, st.stderr).toBe(0);
    expect(st.stdout).not.toContain(KEY);
    expect(JSON.parse(st.stdout).rpcUrl).toBe('https://rpc.example.invalid/…');

    // a key in a plain setting is refused with the reason; a plain URL and a ws URL are kept
    const bad = axon(['--data-dir', dir, 'rpc', 'url', KEYED]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/API key.*keychain/);
    expect(axon(['--data-dir', dir, 'rpc', 'clear-key']).status).toBe(0);
    expect(axon(['--data-dir', dir, 'rpc', 'url', 'https://rpc.example.invalid:8443']).status).toBe(0);
    expect(axon(['--data-dir', dir, 'rpc', 'ws', 'wss://ws.example.invalid']).status).toBe(0);
    const shown = JSON.parse(axon(['--data-dir', dir, 'rpc', '--json']).stdout);
    expect(shown).toMatchObject({
      rpcUrl: 'https://rpc.example.invalid:8443',
      wsUrl: 'wss://ws.example.invalid',
      keyed: false,
    });
    const badWs = axon(['--data-dir', dir, 'rpc', 'ws', 'https://nope.invalid']);
    expect(badWs.status).toBe(2);
    expect(badWs.stderr).toMatch(/rpcWsUrl must be a ws\(s\) URL/);
    noKeyIn(dir);
  });
});
