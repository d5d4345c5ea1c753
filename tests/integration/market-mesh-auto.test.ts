// Automatic rebroadcasters (docs/mesh.md "Automatic rebroadcasters") on the product path: real
// nodes on loopback, the real local ledger. An origin with room for one buyer; a node that opted
// in (settings mesh.autoRebroadcast, relay role on) offers to rebroadcast; three buyers with
// default settings buy the ORIGIN: the first streams from it, the origin asks the automatic
// rebroadcaster to take the stream for the second and redirects the second and the third to it.
// The money follows: each buyer pays its seller, the automatic rebroadcaster pays the origin; when
// it has had no buyer for idleSec it stops and stops paying. With the opt-in off nobody takes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxonNode } from '../../src-main/core/node';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import type { SettingsInput } from '../../src-main/core/settings';
import { Identity } from '../../src-main/core/identity/identity';
import { createLogger } from '../../src-main/core/log';
import { FAST_TIMING, settleNativeThreads, startLedger, tempDir, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;
const PER_MIN = 60_000n;
const TIMING = { periodSec: 3, graceSec: 12, requestTimeoutMs: 45_000, keepAliveMs: 2000, listingTtlSec: 600 };
const IDLE_SEC = 20;

describe('mesh: automatic rebroadcasters', () => {
  let ledger: LocalLedger;
  const nodes: AxonNode[] = [];
  const dirs: (() => void)[] = [];
  let ledgerCleanup: () => Promise<void>;
  const node = async (settings?: Partial<SettingsInput>): Promise<AxonNode> => {
    const t = tempDir('axon-auto-');
    dirs.push(t.cleanup);
    const n = await AxonNode.start({
      dataDir: t.dir,
      identity: Identity.generate(),
      ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
      timing: { ...FAST_TIMING, ...TIMING },
      net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
      ...(settings ? { settings } : {}),
      log: process.env.AXON_TEST_LOG ? createLogger({ level: process.env.AXON_TEST_LOG }) : undefined,
    });
    nodes.push(n);
    await n.airdrop(SOL);
    return n;
  };
  /** The automatic rebroadcaster offers this node has read from the market topic. */
  const offersSeenBy = (n: AxonNode) => n.autoRebroadcastOffers();
  let buyers: AxonNode[] = [];

  beforeAll(async () => {
    const l = await startLedger();
    ledger = l.ledger;
    ledgerCleanup = l.cleanup;
    buyers = await Promise.all([node(), node(), node()]);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.shutdown()));
    await ledgerCleanup();
    for (const d of dirs) d();
    await settleNativeThreads();
  });

  it('with the opt-in off (or no relay role) nobody takes the stream: the buyers past capacity get the "full" reason', async () => {
    const [b1, b2, b3] = buyers as [AxonNode, AxonNode, AxonNode];
    // a node with the relay role serving but automatic rebroadcasting off (the default), and one
    // with it on but its relay role off (an offer stands only while the relay role serves)
    const [origin, relay, noRelay] = await Promise.all([
      node(),
      node({ roles: { relay: 'on' } }),
      node({ roles: { relay: 'off' }, mesh: { autoRebroadcast: { enabled: true } } }),
    ]);
    expect(relay.settings.mesh.autoRebroadcast.enabled).toBe(false);
    expect(noRelay.status().roleState.relay.active).toBe(false);
    await origin.sell({
      streamId: 'solo',
      title: 'One seat',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
      capacity: 1,
    });
    const oid = `${origin.identity.address}:solo`;
    await waitFor(() => [b1, b2, b3].every((b) => b.listing(oid)), 45_000, 'the origin listing on the buyers');
    let frames = 0;
    b1.on('frame', () => frames++);
    const p1 = await b1.buy(oid, { minutes: 2 });
    await waitFor(() => frames >= 3 && b1.purchase(p1.id)!.paidThrough >= 0, 45_000, 'the first buyer streaming');
    const [p2, p3] = [await b2.buy(oid, { minutes: 2 }), await b3.buy(oid, { minutes: 2 })];
    for (const [b, p] of [
      [b2, p2],
      [b3, p3],
    ] as const) {
      const row = await waitFor(
        () => (b.purchase(p.id)!.state === 'rejected' ? b.purchase(p.id) : null),
        45_000,
        'a rejected purchase',
      );
      expect(row!.reason).toMatch(/is full \(1 buyers, its capacity\); no rebroadcast of it is live/);
      expect(row!.reason).toMatch(/no automatic rebroadcaster/);
    }
    // nobody offered, nobody bought it for resale; the origin sold once
    expect(offersSeenBy(origin)).toEqual([]);
    expect(relay.purchases()).toEqual([]);
    expect(noRelay.purchases()).toEqual([]);
    expect(origin.sales().map((s) => s.buyer)).toEqual([b1.identity.address]);
    await b1.stop(p1.id);
  });

  it('an origin with room for 1 buyer, 3 buyers, one automatic rebroadcaster: all 3 stream, 2 through it; it stops when idle', async () => {
    const [b1, b2, b3] = buyers as [AxonNode, AxonNode, AxonNode];
    const [origin, auto] = await Promise.all([
      node(),
      node({
        roles: { relay: 'on' },
        mesh: {
          autoRebroadcast: {
            enabled: true,
            pricePercent: 100,
            maxStreams: 2,
            maxLamports: 5_000_000,
            idleSec: IDLE_SEC,
          },
        },
      }),
    ]);
    // the offer stands, with its price and cap, and the origin reads it
    const seen = await waitFor(
      () => offersSeenBy(origin).find((o) => o.node === auto.identity.address),
      45_000,
      "the automatic rebroadcaster's offer on the origin",
    );
    expect(seen).toMatchObject({ pricePercent: 100, streams: 2, maxLamports: 5_000_000n });
    await origin.sell({
      streamId: 'pop',
      title: 'Popular feed',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
      capacity: 1,
    });
    const oid = `${origin.identity.address}:pop`;
    await waitFor(() => [b1, b2, b3, auto].every((b) => b.listing(oid)), 45_000, 'the origin listing everywhere');
    const frames = new Map<string, number>();
    const firstFrameAt = new Map<string, number>();
    for (const b of [b1, b2, b3])
      b.on('frame', (f) => {
        frames.set(f.purchaseId, (frames.get(f.purchaseId) ?? 0) + 1);
        if (!firstFrameAt.has(f.purchaseId)) firstFrameAt.set(f.purchaseId, Date.now());
      });
    // all three buy the ORIGIN at its direct price, one after the other
    const boughtAt = new Map<string, number>();
    const buy = async (b: AxonNode) => {
      const at = Date.now();
      const p = await b.buy(oid, { minutes: 2 });
      boughtAt.set(p.id, at);
      return p;
    };
    const p1 = await buy(b1);
    await waitFor(() => (frames.get(p1.id) ?? 0) >= 3, 45_000, 'the first buyer streaming from the origin');
    // full now, and its listing says so; no rebroadcast yet: b2's Buy asks the origin itself
    await waitFor(() => b2.listing(oid)?.full, 45_000, "the origin's listing says full");
    const p2 = await buy(b2);
    await waitFor(() => (frames.get(p2.id) ?? 0) >= 3, 60_000, 'the second buyer streaming');
    // b3 sees the automatic rebroadcast listed: its Buy asks it at once
    const took = () => auto.autoRebroadcasts()[0];
    await waitFor(
      () => took() && b3.listing(oid)?.full && b3.listing(`${auto.identity.address}:${took()!.streamId}`),
      45_000,
      'the automatic rebroadcast listed on b3',
    );
    const p3 = await buy(b3);
    await waitFor(() => (frames.get(p3.id) ?? 0) >= 3, 60_000, 'the third buyer streaming');
    // measured, not asserted (no timing assertion): Buy → first frame of each buyer
    console.info(
      `auto rebroadcast: Buy → first frame ${[p1, p2, p3].map((p, i) => `b${i + 1} ${firstFrameAt.get(p.id)! - boughtAt.get(p.id)!} ms`).join(', ')} (b2: ask + take + redirect, b3: straight to the rebroadcast)`,
    );

    // 1 from the origin, 2 through the automatic rebroadcaster's derived listing
    const [r1, r2, r3] = [b1.purchase(p1.id)!, b2.purchase(p2.id)!, b3.purchase(p3.id)!];
    expect(r1.seller).toBe(origin.identity.address);
    const running = auto.autoRebroadcasts();
    expect(running).toHaveLength(1);
    expect(running[0]).toMatchObject({ listingId: oid, askedBy: origin.identity.address, stoppedAt: null });
    const aid = `${auto.identity.address}:${running[0]!.streamId}`;
    for (const r of [r2, r3]) {
      expect(r.seller).toBe(auto.identity.address);
      expect(r.listingId).toBe(aid);
    }
    // b2 asked the full origin, which had the automatic rebroadcaster take the stream and redirected it
    const moved = b2.history('purchase', r2.id).find((t) => t.from === 'requested' && t.to === 'requested');
    expect(moved?.reason).toMatch(/redirected by the full seller \(full: \d buyers, its capacity\) to the rebroadcast/);
    // b3's node read the origin's full flag and asked the rebroadcast at once: no request to the origin
    const steps3 = b3.history('purchase', r3.id);
    expect(steps3[0]?.reason).toMatch(/the seller's listing says it is full: asking its rebroadcast/);
    expect(steps3.some((t) => t.from === 'requested' && t.to === 'requested')).toBe(false);
    // its price: 100 % of the origin's rebroadcast price, under the direct price the buyers accepted
    expect(b2.listing(aid)!.priceRelay).toBe(PER_MIN / 2n);
    expect(b2.listing(aid)!.origin).toBe(oid);

    // the money: each buyer paid its upstream, the automatic rebroadcaster paid the origin
    await waitFor(() => b1.purchase(p1.id)!.paidThrough >= 0, 45_000, 'b1 paid the origin');
    await waitFor(() => b2.purchase(p2.id)!.paidThrough >= 0, 45_000, 'b2 paid the rebroadcaster');
    await waitFor(() => b3.purchase(p3.id)!.paidThrough >= 0, 45_000, 'b3 paid the rebroadcaster');
    expect(b2.purchase(p2.id)!.pricePerPeriod).toBe(((PER_MIN / 2n) * 3n + 59n) / 60n);
    const up = auto.purchase(running[0]!.purchaseId)!;
    expect(up.seller).toBe(origin.identity.address);
    expect(up.maxLamports).toBe(5_000_000n);
    await waitFor(() => auto.purchase(up.id)!.paidThrough >= 0, 45_000, 'the rebroadcaster paid the origin');
    expect(new Set(origin.sales().map((s) => s.buyer))).toEqual(new Set([b1.identity.address, auto.identity.address]));
    expect(new Set(auto.sales().map((s) => s.buyer))).toEqual(new Set([b2.identity.address, b3.identity.address]));
    await waitFor(
      () => origin.earningsPerRebroadcaster().find((e) => e.rebroadcaster === auto.identity.address && e.earned > 0n),
      45_000,
      "the origin's earnings through the automatic rebroadcaster",
    );

    // no buyer left: after idleSec it stops rebroadcasting and stops paying the origin
    await Promise.all([b2.stop(p2.id), b3.stop(p3.id), b1.stop(p1.id)]);
    const stopped = await waitFor(
      () => auto.autoRebroadcasts().find((r) => r.stoppedAt !== null),
      (IDLE_SEC + 30) * 1000,
      'the idle automatic rebroadcast stopped',
    );
    expect(stopped.reason).toMatch(/no buyer for \d+ s/);
    await waitFor(() => ['ended', 'failed'].includes(auto.purchase(up.id)!.state), 30_000, 'its purchase ended');
    await waitFor(() => origin.listing(aid)?.delistedAt, 30_000, 'its derived listing delisted');
    // and its offer stands again with both streams to spare
    await waitFor(
      () => offersSeenBy(origin).find((o) => o.node === auto.identity.address && o.streams === 2),
      30_000,
      'the renewed offer',
    );
    // a node that stops withdraws its offer: sellers no longer ask it
    await auto.shutdown();
    await waitFor(
      () => !offersSeenBy(origin).some((o) => o.node === auto.identity.address),
      30_000,
      'the offer withdrawn',
    );
  });

  it('all rebroadcasts full: the full rebroadcaster asks the automatic one, which takes the stream one hop deeper', async () => {
    const [b1, b2] = buyers as [AxonNode, AxonNode, AxonNode];
    const [origin, r1, auto] = await Promise.all([
      node(),
      node(),
      node({ roles: { relay: 'on' }, mesh: { autoRebroadcast: { enabled: true, idleSec: IDLE_SEC } } }),
    ]);
    await origin.sell({
      streamId: 'deep',
      title: 'Deep feed',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
      capacity: 1,
    });
    const oid = `${origin.identity.address}:deep`;
    await waitFor(() => r1.listing(oid), 45_000, 'the origin listing on R1');
    // R1 rebroadcasts by hand with room for one buyer; it holds the origin's one place
    const one = await r1.rebroadcast(oid, { price: PER_MIN / 2n, minutes: 5, capacity: 1 });
    const r1id = `${r1.identity.address}:${one.offer.streamId}`;
    await waitFor(
      () => [b1, b2, origin, auto].every((n) => n.listing(r1id)) && r1.autoRebroadcastOffers().length > 0,
      45_000,
      "R1's rebroadcast everywhere and the automatic offer on R1",
    );
    const frames = new Map<string, number>();
    for (const b of [b1, b2]) b.on('frame', (f) => frames.set(f.purchaseId, (frames.get(f.purchaseId) ?? 0) + 1));
    const p1 = await b1.buy(oid, { minutes: 2 });
    await waitFor(() => (frames.get(p1.id) ?? 0) >= 3, 60_000, 'b1 streaming through R1');
    expect(b1.purchase(p1.id)!.seller).toBe(r1.identity.address);
    // origin and R1 both say full: b2's Buy asks the origin (no rebroadcast with room to go to),
    // which names R1 (full, the only one), which has the automatic rebroadcaster take it deeper
    await waitFor(() => b2.listing(oid)?.full && b2.listing(r1id)?.full, 45_000, 'origin and R1 full on b2');
    const p2 = await b2.buy(oid, { minutes: 2 });
    await waitFor(() => (frames.get(p2.id) ?? 0) >= 3, 60_000, 'b2 streaming');
    // origin → R1 (full) → the automatic rebroadcaster at hop 2 → b2
    const taken = auto.autoRebroadcasts();
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ listingId: r1id, askedBy: r1.identity.address });
    const row = b2.purchase(p2.id)!;
    expect(row.seller).toBe(auto.identity.address);
    expect(b2.listing(row.listingId)).toMatchObject({ origin: oid, upstream: r1id, hops: 2 });
    expect(b2.history('purchase', p2.id).filter((t) => t.from === 'requested' && t.to === 'requested')).toHaveLength(2);
    await waitFor(() => b2.purchase(p2.id)!.paidThrough >= 0, 45_000, 'b2 paid the automatic rebroadcaster');
    await waitFor(
      () => auto.purchase(taken[0]!.purchaseId)!.paidThrough >= 0,
      45_000,
      'the automatic rebroadcaster paid R1',
    );
    expect(origin.sales().map((s) => s.buyer)).toEqual([r1.identity.address]);
    await Promise.all([b1.stop(p1.id), b2.stop(p2.id)]);
  });
});
