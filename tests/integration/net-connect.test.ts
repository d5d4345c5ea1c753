// Two real libp2p nodes on 127.0.0.1 connect through the ladder, over an in-process signaling
// channel (the market carries the same ConnectInfo over the ledger).
import { afterAll, describe, expect, test } from 'vitest';
import { createMemorySignalingPair } from '../../src-main/core/net/index';
import { ConnectionStore } from '../../src-main/core/store/connections';
import { NetFixture, echo, rewriting, until } from './net-helpers';

const fx = new NetFixture();
afterAll(() => fx.close());

describe('connect ladder on loopback', () => {
  test('two nodes connect directly over TCP; status shows the path, RTT and bytes; attempts land in SQLite', async () => {
    const a = await fx.node();
    const b = await fx.node();
    const [sa, sb] = createMemorySignalingPair(20);
    const paths: string[] = [];
    a.addEventListener('path', (e) => paths.push(String((e as CustomEvent).detail.to?.kind)));
    const [ra, rb] = await Promise.all([
      a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: sa, requestId: 'req-direct' }),
      b.connectPeer({ peer: a.peerId, role: 'responder', signaling: sb, requestId: 'req-direct' }),
    ]);
    expect(ra.path.kind).toBe('direct-lan');
    expect(ra.path.transport).toBe('tcp');
    expect(rb.path.kind).toBe('direct-lan');
    expect(ra.attempts.find((x) => x.method === 'direct')?.outcome).toBe('ok');
    expect(paths).toContain('direct-lan');

    expect(await echo(ra.connection, 200_000)).toBeGreaterThanOrEqual(200_000);
    await until(() => a.peerStatus(b.peerId).rttMs !== undefined, 5000, 'an RTT');
    const st = a.peerStatus(b.peerId);
    expect(st.connected).toBe(true);
    expect(st.path?.kind).toBe('direct-lan');
    expect(st.bytesOut).toBeGreaterThanOrEqual(200_000);
    expect(st.bytesIn).toBeGreaterThanOrEqual(200_000);
    expect(st.attempts).toBeGreaterThanOrEqual(1);

    const store = new ConnectionStore(a.db);
    const attempts = store.attempts(b.peerId.toString());
    const direct = attempts.find((r) => r.method === 'direct');
    expect(direct?.outcome).toBe('ok');
    expect(direct?.request_id).toBe('req-direct');
    expect(JSON.parse(direct!.addresses)[0]).toContain('/tcp/');
    expect(direct?.duration_ms).not.toBeNull();
    const conns = store.connections(b.peerId.toString());
    expect(conns[0]?.path).toBe('direct-lan');
  });

  test('without dialable addresses the peers meet by an ICE hole punch and carry streams over it', async () => {
    const a = await fx.node();
    const b = await fx.node();
    const [sa, sb] = createMemorySignalingPair(20);
    const noAddrs = (i: Parameters<Parameters<typeof rewriting>[1]>[0]) => ({ ...i, addrs: [] });
    const [ra, rb] = await Promise.all([
      a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: rewriting(sa, noAddrs) }),
      b.connectPeer({ peer: a.peerId, role: 'responder', signaling: rewriting(sb, noAddrs) }),
    ]);
    expect(ra.path.transport).toBe('webrtc');
    expect(rb.path.transport).toBe('webrtc');
    expect(ra.attempts.some((x) => x.method === 'hole-punch' && x.outcome === 'ok')).toBe(true);
    expect(await echo(ra.connection, 100_000)).toBeGreaterThanOrEqual(100_000);
    await until(() => a.peerStatus(b.peerId).rttMs !== undefined, 5000, 'an RTT over WebRTC');
    expect(a.peerStatus(b.peerId).bytesOut).toBeGreaterThanOrEqual(100_000);
    const punch = new ConnectionStore(a.db)
      .attempts(b.peerId.toString())
      .find((r) => r.method === 'hole-punch' && r.outcome === 'ok');
    expect(punch?.outcome).toBe('ok');
    expect(JSON.parse(punch!.addresses).length).toBeGreaterThan(0);
  });

  test('a first punch round that times out is followed by a further round with fresh candidates over signaling, which punches', async () => {
    const a = await fx.node();
    const b = await fx.node();
    const [sa, sb] = createMemorySignalingPair(20);
    // no dialable addresses, no relays; the request/accept's candidates lead nowhere (a silent
    // port), so round 1 can only time out; the rounds that follow carry the real candidates
    let firstA = true;
    let firstB = true;
    const deadEnd = (first: () => boolean) => (i: Parameters<Parameters<typeof rewriting>[1]>[0]) => ({
      ...i,
      addrs: [],
      relays: [],
      ...(first() && i.ice
        ? { ice: { ...i.ice, candidates: [{ type: 'host' as const, ip: '127.0.0.1', port: 9 }] } }
        : {}),
    });
    const once = (get: () => boolean, set: () => void) => () => (get() ? (set(), true) : false);
    const timeouts = { punchMs: 1500, relayAfterMs: 15_000, totalMs: 20_000 };
    const [ra] = await Promise.all([
      a.connectPeer({
        peer: b.peerId,
        role: 'initiator',
        signaling: rewriting(
          sa,
          deadEnd(
            once(
              () => firstA,
              () => (firstA = false),
            ),
          ),
        ),
        timeouts,
        requestId: 'req-rounds',
      }),
      b.connectPeer({
        peer: a.peerId,
        role: 'responder',
        signaling: rewriting(
          sb,
          deadEnd(
            once(
              () => firstB,
              () => (firstB = false),
            ),
          ),
        ),
        timeouts,
        requestId: 'req-rounds',
      }),
    ]);
    expect(ra.path.transport).toBe('webrtc');
    const punches = ra.attempts.filter((x) => x.method === 'hole-punch');
    expect(punches[0]?.outcome).toBe('timeout');
    expect(punches.at(-1)?.outcome).toBe('ok');
    // each round is in the connection history with its outcome
    const rows = new ConnectionStore(a.db).attempts(b.peerId.toString()).filter((r) => r.method === 'hole-punch');
    // (on a loaded machine a further round may itself fail — the next one then goes on)
    expect(rows.find((r) => /round 1:/.test(r.error ?? ''))?.outcome).toBe('timeout');
    expect(rows.filter((r) => r.outcome === 'ok')).toHaveLength(1);
    expect(rows.length).toBeLessThanOrEqual(3);
  }, 30_000);

  test('the ladder gives up with every attempt recorded when nothing reaches the peer', async () => {
    const a = await fx.node({ punch: false });
    const b = await fx.node({ punch: false });
    const [sa, sb] = createMemorySignalingPair();
    const nothing = (i: Parameters<Parameters<typeof rewriting>[1]>[0]) => ({ ...i, addrs: [], relays: [] });
    const timeouts = { directMs: 500, punchMs: 500, relayAfterMs: 500, relayMs: 500, reverseMs: 500, totalMs: 3000 };
    const results = await Promise.allSettled([
      a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: rewriting(sa, nothing), timeouts }),
      b.connectPeer({ peer: a.peerId, role: 'responder', signaling: rewriting(sb, nothing), timeouts }),
    ]);
    expect(results[0].status).toBe('rejected');
    const err = (results[0] as PromiseRejectedResult).reason as Error & { attempts: unknown[] };
    expect(err.message).toMatch(/could not connect/);
    expect(err.attempts.length).toBeGreaterThanOrEqual(2);
    expect(a.peerStatus(b.peerId).connected).toBe(false);
  });
});
