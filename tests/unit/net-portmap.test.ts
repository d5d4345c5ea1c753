// Port mapping's pure parts (net/portmap.ts, store/portmap.ts): the default gateway read from the
// kernel's route table, the line `axon status` and the Connections status show, and the status kept
// in SQLite for `axon status` without a running node. The router itself: tests/natlab/portmap.test.ts.
import { describe, expect, test } from 'vitest';
import { defaultGatewayV4 } from '../../src-main/core/net/portmap';
import { PortMapStore, portMapLabel, type PortMapStatus } from '../../src-main/core/store/portmap';
import { openDb } from '../../src-main/core/store/db';

const ROUTES = [
  'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
  'eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  'eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
].join('\n');

describe('default gateway', () => {
  test('read from /proc/net/route (little-endian hex, RTF_GATEWAY)', () => {
    expect(defaultGatewayV4(ROUTES)).toBe('10.0.0.1');
  });
  test('none without a default route, and junk lines are skipped', () => {
    expect(defaultGatewayV4(ROUTES.split('\n').slice(0, 2).join('\n'))).toBeUndefined();
    expect(defaultGatewayV4('Iface\nwat\n\t\t\neth0 00000000 ZZZZZZZZ 0003')).toBeUndefined();
  });
});

const mapped: PortMapStatus = {
  state: 'mapped',
  protocol: 'nat-pmp',
  external: { ip: '198.20.3.2', port: 41000 },
  internalPort: 41000,
  gateway: '10.1.0.1',
  expiresAt: 1_900_000_000_000,
  failures: [],
  at: 1_800_000_000_000,
};

describe('port mapping status', () => {
  test('the line says the public address, the protocol and the router, or why there is none', () => {
    expect(portMapLabel(mapped)).toBe('198.20.3.2:41000 → port 41000 via NAT-PMP (router 10.1.0.1)');
    expect(
      portMapLabel({
        state: 'none',
        internalPort: 1,
        at: 0,
        failures: [
          { protocol: 'nat-pmp', error: 'NAT-PMP at 10.1.0.1: no answer within 2000 ms' },
          { protocol: 'upnp-igd', error: 'no UPnP-IGD v2 gateway answered the search' },
        ],
      }),
    ).toBe(
      'none: NAT-PMP: NAT-PMP at 10.1.0.1: no answer within 2000 ms; UPnP-IGD: no UPnP-IGD v2 gateway answered the search',
    );
    expect(portMapLabel(null, false)).toBe('off in the settings');
    expect(portMapLabel({ state: 'off', internalPort: 1, failures: [], at: 0 })).toMatch(/^off/);
  });

  test('kept in SQLite (migration 013) and read back; a broken row reads as none', () => {
    const db = openDb(':memory:');
    const store = new PortMapStore(db);
    expect(store.load()).toBeUndefined();
    store.save(mapped);
    expect(store.load()).toEqual(mapped);
    db.prepare("UPDATE port_mapping SET state = 'weird', failures = 'not json'").run();
    expect(store.load()).toMatchObject({ state: 'none', failures: [] });
    db.close();
  });
});
