// The relay's TOTAL bandwidth cap and daily byte budget (circuit relay v2 limits each relayed
// connection only): real nodes on loopback, traffic through a real relay. The meter counts every
// relayed byte in both directions (it reads the hop stream the library pipes: if a library update
// changes that, these counts fail), the rate cap holds the transfer back, and a spent daily budget
// refuses new reservations while the circuit already open keeps working.
import { afterAll, describe, expect, test } from 'vitest';
import { createMemorySignalingPair } from '../../src-main/core/net/index';
import { NetFixture, echo, until } from './net-helpers';

const fx = new NetFixture();
afterAll(() => fx.close());

const tcpAddr = (addrs: string[]): string => addrs.find((a) => a.includes('/tcp/') && !a.includes('p2p-circuit'))!;
const hidden = { announceFilter: { allowLoopback: false, allowPrivate: false }, punch: false };

async function relayedPair(relay: Awaited<ReturnType<NetFixture['node']>>) {
  const b = await fx.node(hidden);
  const a = await fx.node(hidden);
  await b.useRelays([tcpAddr(relay.multiaddrs())]);
  await until(() => b.multiaddrs().some((x) => x.includes('p2p-circuit')), 10_000, 'a reservation');
  const [sa, sb] = createMemorySignalingPair(20);
  const [ra] = await Promise.all([
    a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: sa }),
    b.connectPeer({ peer: a.peerId, role: 'responder', signaling: sb }),
  ]);
  expect(ra.path.kind).toBe('relayed');
  return { a, b, conn: ra.connection };
}

describe('relay total bandwidth', () => {
  test('every relayed byte is counted, and the total rate cap holds a transfer back to it', async () => {
    const cap = 128 * 1024;
    const relay = await fx.node({ roles: { relay: 'on', relayLimits: { totalBytesPerSec: cap } } });
    const { a, b, conn } = await relayedPair(relay);
    const before = relay.relayUse()!;
    expect(before.capBytesPerSec).toBe(cap);
    expect(before.circuits).toBe(1);
    expect(relay.relayMeter!.circuits()[0]).toMatchObject({ src: a.peerId.toString(), dst: b.peerId.toString() });

    const size = 384 * 1024;
    const t0 = Date.now();
    expect(await echo(conn, size)).toBeGreaterThanOrEqual(size);
    const took = Date.now() - t0;
    const after = relay.relayUse()!;
    // the echo crossed the relay twice (a → b and back)
    expect(after.bytesTotal - before.bytesTotal).toBeGreaterThanOrEqual(BigInt(2 * size));
    expect(after.bytesToday).toBe(after.bytesTotal);
    // 768 KiB through a cap of 128 KiB/s (1 s of burst) cannot take less than 5 s
    expect(took).toBeGreaterThanOrEqual(((2 * size - cap) / cap) * 1000 - 100);
  });

  test('a spent daily budget refuses new reservations; the open circuit keeps working', async () => {
    const relay = await fx.node({ roles: { relay: 'on', relayLimits: { dailyBytes: 64n * 1024n } } });
    const { conn } = await relayedPair(relay);
    expect(await echo(conn, 64 * 1024)).toBeGreaterThanOrEqual(64 * 1024);
    const use = relay.relayUse()!;
    expect(use.bytesToday).toBeGreaterThanOrEqual(64n * 1024n);
    expect(use.dailyCapBytes).toBe(64n * 1024n);

    const c = await fx.node(hidden);
    const held = await c.useRelays([tcpAddr(relay.multiaddrs())], 5000);
    expect(held).toEqual([]);
    expect(relay.relayUse()!.refused).toBeGreaterThanOrEqual(1);
    // nor does it announce the relay role until the next day
    expect(relay.roleState().relay.active).toBe(true);
    expect(relay.announcement()).toBeUndefined();
    // the circuit already open is not cut by the budget
    expect(await echo(conn, 16 * 1024)).toBeGreaterThanOrEqual(16 * 1024);
  });
});
