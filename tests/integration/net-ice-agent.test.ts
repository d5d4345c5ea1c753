// An ICE agent that cannot be made (issue 15): libdatachannel refuses to create the peer
// connection — here because the node's STUN server is written in a form libdatachannel cannot
// parse ('[::1:3478', a missing bracket: "Invalid ICE server port in URL"; the settings accepted
// it until this session and refuse it now, the net layer's own options are not checked).
// The punch is then a recorded attempt with the reason, the ladder goes on and ends as it would
// without a punch, and nothing becomes an unhandled rejection (which ended a node before: it
// killed a 30-node mesh-bench worker). Real libp2p nodes on 127.0.0.1, real SQLite.
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createMemorySignalingPair } from '../../src-main/core/net/index';
import { ConnectionStore } from '../../src-main/core/store/connections';
import { NetFixture, rewriting } from './net-helpers';

const fx = new NetFixture();
afterAll(() => fx.close());

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

describe('an ICE agent that cannot be made', () => {
  test('the punch is a failed attempt with the reason (request/accept and further rounds), never an unhandled rejection', async () => {
    const a = await fx.node({ stunServers: ['[::1:3478'] });
    const b = await fx.node();
    const [sa, sb] = createMemorySignalingPair(20);
    // nothing but the punch could connect them: no addresses, no relays
    const nothing = (i: Parameters<Parameters<typeof rewriting>[1]>[0]) => ({ ...i, addrs: [], relays: [] });
    const timeouts = { punchMs: 1000, relayAfterMs: 2000, relayMs: 500, totalMs: 6000 };
    const [ra] = await Promise.allSettled([
      a.connectPeer({
        peer: b.peerId,
        role: 'initiator',
        signaling: rewriting(sa, nothing),
        timeouts,
        requestId: 'r1',
      }),
      b.connectPeer({
        peer: a.peerId,
        role: 'responder',
        signaling: rewriting(sb, nothing),
        timeouts,
        requestId: 'r1',
      }),
    ]);
    expect(ra.status).toBe('rejected');
    const err = (ra as PromiseRejectedResult).reason as Error & {
      attempts?: { method: string; outcome: string; error?: string }[];
    };
    // the ladder's own error with its attempts, not the native exception
    expect(err.message).toMatch(/could not connect/);
    const punches = (err.attempts ?? []).filter((x) => x.method === 'hole-punch');
    expect(punches[0]).toMatchObject({ outcome: 'failed' });
    expect(punches[0]?.error).toMatch(/round 1: the ICE agent could not be made: .*ICE server/);
    // the further round the initiator offers makes a fresh agent, which fails the same way
    expect(punches.some((x) => /round 2: the ICE agent could not be made/.test(x.error ?? ''))).toBe(true);
    // in the connection history (the Connections screen, `axon status`)
    const rows = new ConnectionStore(a.db).attempts(b.peerId.toString()).filter((r) => r.method === 'hole-punch');
    expect(rows.find((r) => /round 1: the ICE agent could not be made/.test(r.error ?? ''))?.outcome).toBe('failed');
    // let pending callbacks run: an unhandled rejection is reported a tick after it happens
    await new Promise((r) => setTimeout(r, 200));
    expect(unhandled.map((u) => (u as Error)?.message ?? String(u))).toEqual([]);
  }, 30_000);

  test('with a dialable address the peers still connect (directly), and the punch says why it did not run', async () => {
    const a = await fx.node({ stunServers: ['[::1:3478'] });
    const b = await fx.node();
    const [sa, sb] = createMemorySignalingPair(20);
    const [ra, rb] = await Promise.all([
      a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: sa, requestId: 'r2' }),
      b.connectPeer({ peer: a.peerId, role: 'responder', signaling: sb, requestId: 'r2' }),
    ]);
    expect(ra.path.kind).toBe('direct-lan');
    expect(rb.connection).toBeDefined();
    expect(
      ra.attempts.find((x) => x.method === 'hole-punch' && /ICE agent could not be made/.test(x.error ?? ''))?.outcome,
    ).toBe('failed');
    await new Promise((r) => setTimeout(r, 200));
    expect(unhandled).toEqual([]);
  }, 30_000);
});
