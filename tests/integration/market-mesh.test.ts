// The mesh (docs/mesh.md) on the real local ledger with real nodes on loopback: a two-level
// rebroadcast tree (origin → R1 → R2 → buyer), each hop paying its upstream; loops refused with
// a reason; the origin's history shows its earnings per rebroadcaster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AxonNode } from '../../src-main/core/node';
import { MarketError } from '../../src-main/core/market/types';
import { StreamHub } from '../../src-main/core/market/hub';
import { Identity } from '../../src-main/core/identity/identity';
import type { PurchaseRow } from '../../src-main/core/store/trades';
import { nodePool, startChildNode, tempDir, waitFor, type ChildNode } from './market-helpers';

const SOL = 1_000_000_000n;
const PER_MIN = 60_000n;

describe('mesh: a rebroadcast tree', () => {
  const timing = { periodSec: 3, graceSec: 12, requestTimeoutMs: 45_000, keepAliveMs: 2000, listingTtlSec: 600 };
  const pool = nodePool({ timing });
  const children: ChildNode[] = [];
  /** Faults: periods longer than a failover takes and a short grace, so a period paid to a lost
   *  rebroadcaster has time left when the buyer moves, and a seller cuts an unpaid buyer soon. */
  const LONG = { ...timing, periodSec: 20, graceSec: 4 };
  const node = (t?: typeof LONG): Promise<AxonNode> => pool.node(t ? { timing: t } : {});
  /** End a test's purchases (and so its streams and payments): the next test runs on a quiet ledger. */
  const quiet = async (...ns: AxonNode[]): Promise<void> => {
    for (const n of ns) await Promise.all(n.purchases({ active: true }).map((p) => n.stop(p.id)));
  };
  /**
   * An origin, two rebroadcasters of it (R1 at 50 000 per minute, R2 cheaper at 40 000, so a buyer
   * of R1 moving to R2 stays within the price it accepted) and a buyer who sees both listed.
   */
  const twoRebroadcasts = async (streamId: string, title: string) => {
    const [origin, r1, r2, buyer] = await Promise.all([node(), node(), node(), node()]);
    await origin.sell({
      streamId,
      title,
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
    });
    const oid = `${origin.identity.address}:${streamId}`;
    await waitFor(() => r1.listing(oid) && r2.listing(oid), 45_000, 'origin listing on R1 and R2');
    const [a, b] = await Promise.all([
      r1.rebroadcast(oid, { price: 50_000n, minutes: 5 }),
      r2.rebroadcast(oid, { price: 40_000n, minutes: 5 }),
    ]);
    const r1id = `${r1.identity.address}:${a.offer.streamId}`;
    const r2id = `${r2.identity.address}:${b.offer.streamId}`;
    await waitFor(() => buyer.listing(r1id) && buyer.listing(r2id), 45_000, 'both rebroadcasts on the buyer');
    return { origin, r1, r2, buyer, a, b, r1id, r2id };
  };
  /** The buyer's purchase of a rebroadcast that broke the origin's chain ended, saying so and where it moved. */
  const caughtAndMoved = async (buyer: AxonNode, id: string, to: string): Promise<PurchaseRow> => {
    const ended = await waitFor(
      () => (buyer.purchase(id)!.state === 'ended' ? buyer.purchase(id) : null),
      10_000,
      'the broken stream stopped',
    );
    expect(ended!.reason).toMatch(
      /does not match the origin's signature: altered, dropped or reordered; moving to the rebroadcast/,
    );
    expect(ended!.reason).toContain(to);
    return ended!;
  };
  beforeAll(pool.start);
  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill()));
    await pool.close();
  });

  it('origin → R1 → R2 → buyer: each hop buys once from its upstream, the chain is named, loops are refused', async () => {
    const [origin, r1, r2, buyer] = await Promise.all([node(), node(), node(), node()]);
    await origin.sell({
      streamId: 'wx',
      title: 'Weather',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
    });
    const oid = `${origin.identity.address}:wx`;
    await waitFor(() => r1.listing(oid), 45_000, 'origin listing on R1');
    const one = await r1.rebroadcast(oid, { price: 40_000n, minutes: 5 });
    const r1id = `${r1.identity.address}:${one.offer.streamId}`;
    expect(one.offer.hops).toBe(1);
    await waitFor(() => r2.listing(r1id), 45_000, "R1's rebroadcast on R2");
    const two = await r2.rebroadcast(r1id, { price: 30_000n, minutes: 5 });
    const r2id = `${r2.identity.address}:${two.offer.streamId}`;
    // the buyer sees the three tiers of the stream, each with its price and hop count
    const l2 = await waitFor(() => buyer.listing(r2id), 45_000, "R2's rebroadcast on the buyer");
    expect(l2.origin).toBe(oid);
    expect(l2.upstream).toBe(r1id);
    expect(l2.hops).toBe(2);
    expect(buyer.listing(r1id)!.hops).toBe(1);
    expect(buyer.listing(r1id)!.upstream).toBeNull();
    expect(buyer.listing(oid)!.hops).toBe(0);

    let frames = 0;
    buyer.on('frame', () => frames++);
    const p = await buyer.buy(r2id, { minutes: 2 });
    await waitFor(() => frames >= 10, 45_000, 'frames through two rebroadcasters');
    await waitFor(() => buyer.purchase(p.id)!.paidThrough >= 0, 45_000, 'the buyer paid R2');
    // each node pays its upstream, at that upstream's price
    expect(buyer.purchase(p.id)!.pricePerPeriod).toBe((30_000n * 3n + 59n) / 60n);
    await waitFor(() => r2.purchase(two.purchase.id)!.paidThrough >= 0, 45_000, 'R2 paid R1');
    expect(r2.purchase(two.purchase.id)!.seller).toBe(r1.identity.address);
    await waitFor(() => r1.purchase(one.purchase.id)!.paidThrough >= 0, 45_000, 'R1 paid the origin');
    // honest status: the path origin → R1 → R2 → you, each hop with the latency it adds once measured
    const path = await waitFor(
      () => {
        const ph = buyer.purchasePath(p.id);
        return ph.at(-1)?.addsMs !== null ? ph : null;
      },
      45_000,
      'the path with the last hop measured',
    );
    expect(path.map((h) => [h.node, h.role])).toEqual([
      [origin.identity.address, 'origin'],
      [r1.identity.address, 'rebroadcaster'],
      [r2.identity.address, 'rebroadcaster'],
      [buyer.identity.address, 'you'],
    ]);
    expect(path.at(-1)!.addsMs).toBeGreaterThanOrEqual(0);
    // the origin sends each frame once: to R1
    expect(origin.sales().map((s) => s.buyer)).toEqual([r1.identity.address]);
    expect(r1.sales().map((s) => s.buyer)).toEqual([r2.identity.address]);
    expect(r2.sales().map((s) => s.buyer)).toEqual([buyer.identity.address]);
    // money follows the data: the origin's history names what it earned through R1, R1's through R2
    const viaR1 = await waitFor(
      () => origin.earningsPerRebroadcaster().find((e) => e.rebroadcaster === r1.identity.address && e.earned > 0n),
      45_000,
      "the origin's earnings through R1",
    );
    expect(viaR1).toMatchObject({ listingId: r1id, streamId: 'wx', sales: 1 });
    expect(viaR1.earned).toBe(origin.sales()[0]!.earned);
    await waitFor(
      () => r1.earningsPerRebroadcaster().find((e) => e.rebroadcaster === r2.identity.address && e.earned > 0n),
      45_000,
      "R1's earnings through R2",
    );
    expect(r2.earningsPerRebroadcaster()).toEqual([]); // the buyer resells nothing

    // loops: the origin and R1 are in R2's chain already
    const refused = async (n: AxonNode, id: string): Promise<MarketError> =>
      n.rebroadcast(id, { price: 1000n }).then(
        () => {
          throw new Error('rebroadcast was not refused');
        },
        (e: unknown) => e as MarketError,
      );
    const e1 = await refused(origin, r2id);
    expect(e1.code).toBe('loop');
    expect(e1.message).toMatch(/loop refused: you are already in the chain/);
    const e2 = await refused(r1, r2id);
    expect(e2.code).toBe('loop');
    // nothing was bought for a refused rebroadcast
    expect(origin.purchases()).toHaveLength(0);
    expect(r1.purchases()).toHaveLength(1);
    await quiet(buyer, r2, r1);
  });

  it('full is not the end: a full origin says so in its listing; a Buy on it goes to its rebroadcast at once', async () => {
    const [origin, r1, buyer] = await Promise.all([node(), node(), node()]);
    // room for one buyer: the rebroadcaster takes it
    await origin.sell({
      streamId: 'full',
      title: 'Busy feed',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
      capacity: 1,
    });
    const oid = `${origin.identity.address}:full`;
    await waitFor(() => r1.listing(oid), 45_000, 'origin listing on R1');
    const { offer } = await r1.rebroadcast(oid, { price: 45_000n, minutes: 5 });
    const rid = `${r1.identity.address}:${offer.streamId}`;
    // R1 holds the one place: streaming and paid
    await waitFor(() => origin.sales().some((s) => s.paidThrough >= 0), 45_000, 'R1 paid the origin');
    await waitFor(() => buyer.listing(rid) && origin.listing(rid), 45_000, 'the rebroadcast on buyer and origin');
    // the full origin republishes its listing with the flag; Browse and `axon listings` show it
    await waitFor(() => buyer.listing(oid)?.full, 45_000, "the origin's listing says full");
    expect(buyer.listing(rid)!.full).toBe(false);
    let frames = 0;
    buyer.on('frame', () => frames++);
    // the user buys the ORIGIN at its direct price; its listing says full
    const p = await buyer.buy(oid, { minutes: 2 });
    await waitFor(() => frames >= 5, 45_000, 'frames through the rebroadcast');
    const row = buyer.purchase(p.id)!;
    expect(row.seller).toBe(r1.identity.address);
    expect(row.listingId).toBe(rid);
    expect(row.tier).toBe('relay');
    // never above what the user accepted: the rebroadcast's price, under the origin's direct price
    await waitFor(() => buyer.purchase(p.id)!.paidThrough >= 0, 45_000, 'paid the rebroadcaster');
    expect(buyer.purchase(p.id)!.pricePerPeriod).toBe((45_000n * 3n + 59n) / 60n);
    // asked the rebroadcast at once: no request to the full origin, no redirect
    const steps = buyer.history('purchase', p.id);
    expect(steps[0]?.reason).toMatch(
      new RegExp(`the seller's listing says it is full: asking its rebroadcast ${rid} \\(hop 1, 45000 per minute\\)`),
    );
    expect(steps.some((t) => t.from === 'requested' && t.to === 'requested')).toBe(false);
    // the origin sold nothing to the buyer (it never took a place), R1 did
    expect(origin.sales().some((s) => s.buyer === buyer.identity.address)).toBe(false);
    expect(r1.sales().map((s) => s.buyer)).toEqual([buyer.identity.address]);
    await quiet(buyer, r1);
  });

  it('a rebroadcaster whose own purchase is refused lists nothing and sells nothing; its rebroadcast stops', async () => {
    const [origin, b0, r1] = await Promise.all([node(), node(), node()]);
    await origin.sell({
      streamId: 'one',
      title: 'One place',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
      capacity: 1,
    });
    const oid = `${origin.identity.address}:one`;
    await waitFor(() => b0.listing(oid) && r1.listing(oid), 45_000, 'the origin listing');
    // b0 takes the one place; no rebroadcast exists to send anyone else to
    const p0 = await b0.buy(oid, { minutes: 2 });
    await waitFor(() => b0.purchase(p0.id)!.state === 'streaming', 45_000, 'b0 streaming');
    const { purchase, offer } = await r1.rebroadcast(oid, { price: 40_000n, minutes: 5 });
    const rid = `${r1.identity.address}:${offer.streamId}`;
    await waitFor(() => r1.purchase(purchase.id)!.state === 'rejected', 45_000, "R1's own purchase refused");
    expect(r1.purchase(purchase.id)!.reason).toMatch(/full/);
    // its data never flowed: never listed, and the rebroadcast stops with the reason
    await waitFor(
      () => !r1.ownStreams().some((s) => s.offer.streamId === offer.streamId),
      30_000,
      'the rebroadcast gone',
    );
    expect(r1.listing(rid)).toBeUndefined();
    expect(b0.listing(rid)).toBeUndefined();
    await quiet(b0);
  });

  it('a rebroadcaster that alters frames is caught by the origin signature; the buyer moves on to another', async () => {
    const { r1, r2, buyer, a, r1id, r2id } = await twoRebroadcasts('tw', 'Signed feed');
    const texts = new Map<string, string[]>();
    buyer.on('frame', (f) =>
      texts.set(f.purchaseId, [...(texts.get(f.purchaseId) ?? []), Buffer.from(f.payload).toString('utf8')]),
    );
    const p1 = await buyer.buy(r1id, { minutes: 2 });
    await waitFor(() => (texts.get(p1.id)?.length ?? 0) >= 5, 45_000, 'honest frames from R1').catch((e: unknown) => {
      console.error(
        JSON.stringify(
          buyer.purchases().map((p) => [p.id, p.seller.slice(0, 6), p.state, p.reason, texts.get(p.id)?.length]),
        ),
        JSON.stringify(r1.purchases().map((p) => [p.id, p.state, p.reason, p.frames])),
      );
      throw e;
    });
    // R1 turns bad: its rebroadcast hub (the one serving our buyer) alters what it passes on, from
    // one of the origin's checkpoints on (a frame altered between two checkpoints shows at the next
    // one, ≤ 10 frames later: tests/unit/market-mesh.test.ts)
    const publish = StreamHub.prototype.publish;
    const victim = new Set<StreamHub>();
    StreamHub.prototype.publish = function (this: StreamHub, payload, ts, chain) {
      if (victim.size === 0 && this.streamId === a.offer.streamId && this.subscribers.size > 0 && chain?.checkpoint)
        victim.add(this);
      if (victim.has(this)) payload = Buffer.from('{"TAMPERED":true}');
      return publish.call(this, payload, ts, chain);
    };
    try {
      const ended = await caughtAndMoved(buyer, p1.id, r2id);
      const p2 = await waitFor(
        () => buyer.purchases().find((p) => p.listingId === r2id),
        10_000,
        'a purchase of the honest rebroadcast',
      );
      await waitFor(() => (texts.get(p2.id)?.length ?? 0) >= 5, 45_000, 'frames from R2');
      // not one altered frame reached the buyer, and the second purchase costs at most what was left
      for (const t of texts.values()) expect(t.some((x) => x.includes('TAMPERED'))).toBe(false);
      const first = buyer.purchase(ended!.id)!;
      expect(p2.maxLamports).toBeGreaterThan(0n);
      expect(p2.maxLamports + first.spent + first.fees).toBeLessThanOrEqual(first.maxLamports);
    } finally {
      StreamHub.prototype.publish = publish;
    }
    await quiet(buyer, r1, r2);
  });

  it("a rebroadcaster that drops a frame (renumbering the rest) is caught at the origin's next checkpoint; the buyer moves on", async () => {
    const { r1, r2, buyer, a, r1id, r2id } = await twoRebroadcasts('td', 'Chained feed');
    const got = new Map<string, string[]>(); // purchase → its frames (origin timestamp and payload)
    const key = (ts: number, payload: Uint8Array): string => `${ts} ${Buffer.from(payload).toString('utf8')}`;
    buyer.on('frame', (f) => got.set(f.purchaseId, [...(got.get(f.purchaseId) ?? []), key(f.ts, f.payload)]));
    const p1 = await buyer.buy(r1id, { minutes: 2 });
    await waitFor(() => (got.get(p1.id)?.length ?? 0) >= 5, 45_000, 'honest frames from R1');
    // R1 turns bad: its hub serving our buyer leaves out one frame between two checkpoints and
    // numbers the rest on as if nothing was missing (no seq gap to see)
    const publish = StreamHub.prototype.publish;
    const victim = new Set<StreamHub>();
    let dropped: string | null = null;
    const passedOn = new Set<string>(); // what R1 passed on after the frame it left out
    StreamHub.prototype.publish = function (this: StreamHub, payload, ts, chain) {
      if (
        victim.size === 0 &&
        this.streamId === a.offer.streamId &&
        this.subscribers.size > 0 &&
        chain &&
        !chain.checkpoint
      )
        victim.add(this);
      if (victim.has(this) && dropped === null) {
        dropped = key(ts ?? 0, payload);
        return null;
      }
      if (victim.has(this)) passedOn.add(key(ts ?? 0, payload));
      return publish.call(this, payload, ts, chain);
    };
    try {
      await caughtAndMoved(buyer, p1.id, r2id);
      // after the frame left out, the buyer's sinks got fewer than 10 frames from R1 (those up to the
      // origin's next checkpoint, which does not continue the chain the buyer saw), never that one
      expect(got.get(p1.id)!.filter((k) => passedOn.has(k)).length).toBeLessThan(10);
      expect(got.get(p1.id)).not.toContain(dropped);
      const p2 = await waitFor(
        () => buyer.purchases().find((p) => p.listingId === r2id),
        10_000,
        'a purchase of the honest rebroadcast',
      );
      await waitFor(() => (got.get(p2.id)?.length ?? 0) >= 5, 45_000, 'frames from R2');
      expect(buyer.purchase(p2.id)!.state).not.toBe('ended');
    } finally {
      StreamHub.prototype.publish = publish;
    }
    await quiet(buyer, r1, r2);
  });

  it('a rebroadcaster killed mid-stream: its buyer is back within 10 s from another source, paying nothing twice', async () => {
    const [origin, r2, buyer] = await Promise.all([node(LONG), node(LONG), node(LONG)]);
    await origin.sell({
      streamId: 'kl',
      title: 'Kill feed',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
    });
    const oid = `${origin.identity.address}:kl`;
    const t = tempDir('axon-mesh-child-');
    const r1 = await startChildNode(pool.ledger, {
      dataDir: t.dir,
      identity: Identity.generate(),
      timing: LONG,
    });
    children.push(r1);
    pool.defer(t.cleanup);
    await r1.call('airdrop', { lamports: String(SOL) });
    await waitFor(
      async () => (await r1.call<{ id: string }[]>('listings')).some((l) => l.id === oid),
      45_000,
      'R1 sees the origin',
    );
    await waitFor(() => r2.listing(oid), 45_000, 'R2 sees the origin');
    const a = await r1.call<{ offer: { streamId: string } }>('rebroadcast', {
      listingId: oid,
      price: '50000',
      minutes: 5,
    });
    await r2.rebroadcast(oid, { price: 40_000n, minutes: 5 });
    const r1id = `${r1.address}:${a.offer.streamId}`;
    await waitFor(
      () => buyer.listing(r1id) && buyer.listings().some((l) => l.seller === r2.identity.address),
      45_000,
      'both rebroadcasts',
    );
    const frames = new Map<string, number>();
    buyer.on('frame', (f) => frames.set(f.purchaseId, (frames.get(f.purchaseId) ?? 0) + 1));
    const p1 = await buyer.buy(r1id, { minutes: 2 });
    await waitFor(
      () => (frames.get(p1.id) ?? 0) >= 5 && buyer.purchase(p1.id)!.paidThrough >= 0,
      45_000,
      'streaming from R1',
    );
    await r1.kill();
    const killedAt = Date.now();
    const p2 = await waitFor(
      () => buyer.purchases().find((p) => p.id !== p1.id && (frames.get(p.id) ?? 0) > 0),
      10_000,
      'frames again from another source',
    ).catch((e: unknown) => {
      console.error(
        JSON.stringify(buyer.purchases().map((p) => [p.id, p.seller.slice(0, 6), p.state, p.reason, frames.get(p.id)])),
        buyer.history('purchase', p1.id),
      );
      throw e;
    });
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(p2.seller).toBe(r2.identity.address);
    const old = buyer.purchase(p1.id)!;
    expect(old.state).toBe('ended');
    expect(old.reason).toMatch(/the rebroadcaster is gone/);
    // never paid twice: the new purchase's cap is what the first one left of the user's cap, less
    // the fees the first one may still pay (closing its nonce account) — together never above it
    const cap = buyer.purchase(p2.id)!.maxLamports;
    expect(cap).toBeGreaterThan(0n);
    await waitFor(() => buyer.purchase(p1.id)!.fees > old.fees || null, 8_000, "the first purchase's last fees").catch(
      () => undefined,
    );
    const first = buyer.purchase(p1.id)!;
    expect(cap + first.spent + first.fees).toBeLessThanOrEqual(old.maxLamports);
    await expectPaidOnce(buyer, r2, first, p2.id);
  });

  it('a rebroadcaster that stays connected but stops forwarding: its buyer moves within 10 s, paying nothing twice', async () => {
    const [origin, r1, r2, buyer] = await Promise.all([node(LONG), node(LONG), node(LONG), node(LONG)]);
    await origin.sell({
      streamId: 'st',
      title: 'Stall feed',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
    });
    const oid = `${origin.identity.address}:st`;
    await waitFor(() => r1.listing(oid) && r2.listing(oid), 45_000, 'origin listing on R1 and R2');
    const [a, b] = await Promise.all([
      r1.rebroadcast(oid, { price: 50_000n, minutes: 5 }),
      r2.rebroadcast(oid, { price: 40_000n, minutes: 5 }),
    ]);
    const r1id = `${r1.identity.address}:${a.offer.streamId}`;
    const r2id = `${r2.identity.address}:${b.offer.streamId}`;
    await waitFor(() => buyer.listing(r1id) && buyer.listing(r2id), 45_000, 'both rebroadcasts on the buyer');
    const frames = new Map<string, number>();
    buyer.on('frame', (f) => frames.set(f.purchaseId, (frames.get(f.purchaseId) ?? 0) + 1));
    const p1 = await buyer.buy(r1id, { minutes: 2 });
    await waitFor(
      () => (frames.get(p1.id) ?? 0) >= 20 && buyer.purchase(p1.id)!.paidThrough >= 0,
      45_000,
      'streaming from R1',
    );
    // R1 stalls: its hub for our buyer stops passing frames on; the connection and the stream stay up
    const publish = StreamHub.prototype.publish;
    let stalledAt = 0;
    const victim = new Set<StreamHub>(); // R1's hub (R2's rebroadcast has the same stream id)
    StreamHub.prototype.publish = function (this: StreamHub, payload, ts, chain) {
      if (victim.size === 0 && this.streamId === a.offer.streamId && this.subscribers.size > 0) victim.add(this);
      if (victim.has(this)) {
        stalledAt ||= Date.now();
        return { seq: -1, ts: ts ?? Date.now(), payload, wire: new Uint8Array(0) };
      }
      return publish.call(this, payload, ts, chain);
    };
    try {
      await waitFor(() => stalledAt || null, 10_000, 'the stall began');
      const p2 = await waitFor(
        () => buyer.purchases().find((p) => p.id !== p1.id && (frames.get(p.id) ?? 0) > 0),
        10_000,
        'frames again from another source',
      ).catch((e: unknown) => {
        console.error(buyer.history('purchase', p1.id));
        throw e;
      });
      expect(Date.now() - stalledAt).toBeLessThan(10_000);
      expect(p2.listingId).toBe(r2id);
      const old = buyer.purchase(p1.id)!;
      expect(old.state).toBe('ended');
      expect(old.reason).toMatch(/no frame from the rebroadcaster for .* while connected \(stalled/);
      expect(old.reason).toContain(`moving to the rebroadcast ${r2id}`);
      await expectPaidOnce(buyer, r2, old, p2.id);
    } finally {
      StreamHub.prototype.publish = publish;
    }
    await quiet(buyer, r1, r2);
  });
});

/**
 * Never paid twice: the failover purchase `id` (bought from `seller`) starts its period 0 when what
 * the lost purchase `lost` paid for runs out — the seller's sale agrees — streams on credit until
 * then (nothing paid yet), then pays and is not cut for it (frames after the credit + grace).
 */
async function expectPaidOnce(buyer: AxonNode, seller: AxonNode, lost: PurchaseRow, id: string): Promise<void> {
  const paidTo = lost.startedAt! + (lost.paidThrough + 1) * lost.periodMs!;
  const p = buyer.purchase(id)!;
  expect(p.startedAt).toBe(paidTo);
  expect(p.paidThrough).toBe(-1);
  expect(p.spent).toBe(0n);
  const sale = await waitFor(() => seller.sales().find((s) => s.id === id), 10_000, "the new seller's sale");
  expect(sale.startedAt).toBe(paidTo);
  expect(buyer.history('purchase', id)[0]!.reason).toMatch(
    new RegExp(`failover from ${lost.id} .* was paid through period ${lost.paidThrough} `),
  );
  expect(buyer.history('purchase', id).find((t) => t.to === 'streaming')?.reason).toMatch(
    /period 0 starts at .* \(failover credit: nothing paid twice\)/,
  );
  // period 0 is paid shortly before it starts; the stream goes on past the credit and the grace
  await waitFor(() => buyer.purchase(id)!.paidThrough >= 0 || null, 30_000, 'period 0 paid to the new seller');
  const late = paidTo + (sale.graceMs ?? 0) + 1000;
  await new Promise((r) => setTimeout(r, Math.max(0, late - Date.now())));
  const at = buyer.purchase(id)!;
  expect(at.state).toBe('streaming');
  const before = at.frames;
  await waitFor(() => buyer.purchase(id)!.frames > before || null, 10_000, 'frames after the credit ran out');
  // each period paid once: the lost source's through paidTo, the new one's from paidTo on
  expect(lost.spent).toBe(BigInt(lost.paidThrough + 1) * lost.pricePerPeriod!);
  const now = buyer.purchase(id)!;
  expect(now.spent).toBe(BigInt(now.paidThrough + 1) * now.pricePerPeriod!);
}
