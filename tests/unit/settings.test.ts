import { describe, it, expect } from 'vitest';
import { writeFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings, updateSettings, SettingsError } from '../../src-main/core/settings';
import { resolveDataDir, DATA_DIR_ENV } from '../../src-main/core/paths';
import { tempDir } from '../helpers/cli';

describe('settings and data dir', () => {
  it('defaults to the embedded local ledger', () => {
    const s = loadSettings(join(tempDir('axs-'), 'settings.json'));
    expect(s.cluster).toBe('local');
    expect(s.roles).toEqual({
      relay: 'auto',
      reflector: 'auto',
      limits: {
        maxReservations: 128,
        perConnectionMiB: 8192,
        perConnectionMinutes: 360,
        totalKiBPerSec: 2048,
        dailyMiB: 51_200,
      },
      relayPrice: 0,
      maxRelayPrice: 0,
      relayGraceSec: 30,
      relayPayPollSec: 3,
    });
  });

  it('reads the old boolean roles as on/off and writes them back migrated; a bad mode is named', () => {
    const f = join(tempDir('axs-'), 'settings.json');
    writeFileSync(f, JSON.stringify({ roles: { relay: true, reflector: false } }));
    const s = loadSettings(f);
    expect(s.roles).toMatchObject({ relay: 'on', reflector: 'off', limits: { maxReservations: 128 } });
    expect(JSON.parse(readFileSync(f, 'utf8')).roles).toMatchObject({ relay: 'on', reflector: 'off' });
    writeFileSync(f, JSON.stringify({ roles: { relay: 'sometimes' } }));
    expect(() => loadSettings(f)).toThrow(/roles\.relay: a role is 'auto', 'on' or 'off'/);
    writeFileSync(f, JSON.stringify({ roles: { limits: { maxReservations: 0 } } }));
    expect(() => loadSettings(f)).toThrow(/roles\.limits\.maxReservations/);
    writeFileSync(f, JSON.stringify({ roles: { relayPrice: 1.5 } }));
    expect(() => loadSettings(f)).toThrow(/roles\.relayPrice: a price is a whole number of lamports/);
    writeFileSync(f, JSON.stringify({ roles: { maxRelayPrice: 2_000_000_000 } }));
    expect(() => loadSettings(f)).toThrow(/roles\.maxRelayPrice: at most 1 SOL/);
    writeFileSync(f, JSON.stringify({ roles: { relayGraceSec: 1 } }));
    expect(() => loadSettings(f)).toThrow(/roles\.relayGraceSec/);
    writeFileSync(f, JSON.stringify({ roles: { relayPayPollSec: 0 } }));
    expect(() => loadSettings(f)).toThrow(/roles\.relayPayPollSec/);
  });

  it('names each bad field and why', () => {
    const f = join(tempDir('axs-'), 'settings.json');
    writeFileSync(f, JSON.stringify({ cluster: 'moon', stunServers: ['nope'], extra: 1 }));
    try {
      loadSettings(f);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SettingsError);
      const msg = (e as Error).message;
      expect(msg).toMatch(/cluster/);
      expect(msg).toMatch(/stunServers\.0: expected host:port/);
      expect(msg).toMatch(/extra/);
    }
    writeFileSync(f, '{ not json');
    expect(() => loadSettings(f)).toThrow(/not valid JSON/);
    // a STUN server libdatachannel cannot parse made every ICE agent fail: IPv6 only in brackets
    for (const bad of ['::1:3478', '[::1:3478'])
      expect(() => (writeFileSync(f, JSON.stringify({ stunServers: [bad] })), loadSettings(f))).toThrow(
        /stunServers\.0: expected host:port/,
      );
    writeFileSync(f, JSON.stringify({ stunServers: ['[2001:db8::1]:3478', '192.0.2.1:3478'] }));
    expect(loadSettings(f).stunServers).toEqual(['[2001:db8::1]:3478', '192.0.2.1:3478']);
  });

  it('birthday probing: on with its budgets by default; a budget past its bound is named', () => {
    const f = join(tempDir('axs-'), 'settings.json');
    expect(loadSettings(f).birthday).toEqual({
      enabled: true,
      sockets: 256,
      probesPerSec: 200,
      maxProbes: 2000,
      probeSec: 10,
    });
    writeFileSync(f, JSON.stringify({ birthday: { probesPerSec: 50_000 } }));
    expect(() => loadSettings(f)).toThrow(/birthday\.probesPerSec/);
    writeFileSync(f, JSON.stringify({ birthday: { enabled: false } }));
    expect(loadSettings(f).birthday).toMatchObject({ enabled: false, sockets: 256 });
  });

  it('accepts an RPC URL as cluster and saves updates atomically with mode 0600', () => {
    const f = join(tempDir('axs-'), 'settings.json');
    const s = updateSettings(f, { cluster: 'https://rpc.example.org', stunServers: ['stun.example.org:3478'] });
    expect(s.cluster).toBe('https://rpc.example.org');
    expect(JSON.parse(readFileSync(f, 'utf8')).stunServers).toEqual(['stun.example.org:3478']);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(() => updateSettings(f, { listenPort: 70000 })).toThrow(/listenPort/);
    expect(loadSettings(f).listenPort).toBe(0); // the bad update wrote nothing
  });

  it('a roles update from a form that knows only some fields keeps the relay price and caps', () => {
    const f = join(tempDir('axs-'), 'settings.json');
    updateSettings(f, { roles: { relayPrice: 600, maxRelayPrice: 100, limits: { dailyMiB: 1024 } } });
    const s = updateSettings(f, {
      roles: {
        relay: 'on',
        reflector: 'off',
        limits: { maxReservations: 64, perConnectionMiB: 10, perConnectionMinutes: 5 },
      },
    });
    expect(s.roles).toMatchObject({ relay: 'on', reflector: 'off', relayPrice: 600, maxRelayPrice: 100 });
    expect(s.roles.limits).toMatchObject({ maxReservations: 64, dailyMiB: 1024, totalKiBPerSec: 2048 });
  });

  it('takes the data dir from the flag, then the environment', () => {
    process.env[DATA_DIR_ENV] = '/tmp/from-env';
    expect(resolveDataDir()).toBe('/tmp/from-env');
    expect(resolveDataDir('/tmp/flag')).toBe('/tmp/flag');
    delete process.env[DATA_DIR_ENV];
    expect(resolveDataDir()).toMatch(/axon/);
  });
});
