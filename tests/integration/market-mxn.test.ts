// M × N on the real local ledger: one buyer with three sellers, one seller with twenty buyers, and
// a rebroadcast through a relay node where the origin seller sends each frame once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AxonNode } from '../../src-main/core/node';
import type { PurchaseRow } from '../../src-main/core/store/trades';
import { nodePool, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;
const PER_MIN = 30_000n;

describe('M × N', () => {
  const pool = nodePool();
  const node = (airdrop = SOL, periodSec = 3): Promise<AxonNode> =>
    pool.node({
      airdrop,
      timing: { periodSec, graceSec: periodSec * 2, requestTimeoutMs: 20_000, keepAliveMs: 2000 },
    });
  beforeAll(pool.start);
  afterAll(pool.close);

  it('one buyer holds streams from three sellers at once over its one listen port', async () => {
    const sellers = await Promise.all([node(), node(), node()]);
    await Promise.all(
      sellers.map((s, i) =>
        s.sell({ streamId: `s${i}`, title: `Feed ${i}`, source: { kind: 'weather', hz: 10 }, priceDirect: PER_MIN }),
      ),
    );
    const buyer = await node();
    const ids = sellers.map((s, i) => `${s.identity.address}:s${i}`);
    await waitFor(() => ids.every((id) => buyer.listings().some((l) => l.id === id)), 20_000, 'three listings');
    const counts = new Map<string, number>();
    buyer.on('frame', (f) => counts.set(f.purchaseId, (counts.get(f.purchaseId) ?? 0) + 1));
    const purchases = await Promise.all(ids.map((id) => buyer.buy(id, { minutes: 2 })));
    await waitFor(() => purchases.every((p) => (counts.get(p.id) ?? 0) >= 10), 30_000, 'frames from all three');
    await waitFor(() => purchases.every((p) => buyer.purchase(p.id)!.paidThrough >= 0), 20_000, 'all three paid');
    // one listen port: every seller reached the buyer's single port
    expect(new Set(buyer.net.multiaddrs().map((a) => a.split('/')[4]))).toEqual(new Set([String(buyer.net.port)]));
    await Promise.all(purchases.map((p) => buyer.stop(p.id)));
  });

  it('one seller serves twenty buyers from one source read', async () => {
    const seller = await node(SOL, 10); // long periods: this test is about fan-out, not payments
    await seller.sell({
      streamId: 'adsb',
      title: 'Aircraft',
      source: { kind: 'adsb' },
      priceDirect: PER_MIN,
      capacity: 25,
    });
    const id = `${seller.identity.address}:adsb`;
    const buyers = await Promise.all(Array.from({ length: 20 }, () => node(SOL, 10)));
    await waitFor(() => buyers.every((b) => b.listings().some((l) => l.id === id)), 30_000, 'listing on all buyers');
    const got = new Map<string, number[]>();
    for (const b of buyers) b.on('frame', (f) => got.set(f.purchaseId, [...(got.get(f.purchaseId) ?? []), f.seq]));
    // buy in waves of five: twenty simultaneous connects in one loaded process starve the ladder
    const ps: PurchaseRow[] = [];
    for (let i = 0; i < buyers.length; i += 5)
      ps.push(...(await Promise.all(buyers.slice(i, i + 5).map((b) => b.buy(id, { minutes: 1 })))));
    // on a failed wait: where each purchase stands (and each sale, when asked), then the error
    const dump = (e: unknown, withSales = false): never => {
      console.log(
        'DUMP',
        JSON.stringify(
          buyers.map((b, i) => {
            const p = b.purchase(ps[i]!.id)!;
            return [p.state, p.reason, p.paidThrough, got.get(p.id)?.length ?? 0];
          }),
        ),
      );
      if (withSales) console.log(JSON.stringify(seller.sales().map((s) => [s.state, s.reason, s.paidThrough])));
      throw e;
    };
    await waitFor(() => ps.every((p) => (got.get(p.id)?.length ?? 0) >= 10), 45_000, 'frames to all twenty').catch(
      dump,
    );
    await waitFor(() => seller.ownStreams()[0]!.live!.subscribers === 20, 20_000, 'twenty subscribers').catch(
      (e: unknown) => dump(e, true),
    );
    const hubFrames = seller.ownStreams()[0]!.live!;
    // one source read: the hub got each frame once, however many buyers
    expect(hubFrames.framesIn).toBe(hubFrames.sourceFrames);
    for (const seqs of got.values()) for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
    await Promise.all(buyers.map((b, i) => b.stop(ps[i]!.id)));
  });

  it('rebroadcast: a relay buys once and resells; the origin sends each frame once', async () => {
    const origin = await node();
    await origin.sell({
      streamId: 'wx',
      title: 'Weather',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 3n,
    });
    const oid = `${origin.identity.address}:wx`;
    const relay = await node();
    await waitFor(() => relay.listings().some((l) => l.id === oid), 20_000, 'origin listing on the relay');
    const { purchase: up, offer } = await relay.rebroadcast(oid, { minutes: 5 });
    const did = `${relay.identity.address}:${offer.streamId}`;
    const buyers = await Promise.all([node(), node(), node()]);
    await waitFor(
      () => buyers.every((b) => b.listings().some((l) => l.id === did && l.origin === oid)),
      20_000,
      'derived listing',
    );
    const counts = new Map<string, number>();
    for (const b of buyers) b.on('frame', (f) => counts.set(f.purchaseId, (counts.get(f.purchaseId) ?? 0) + 1));
    // buyers pick the rebroadcast tier on the ORIGIN listing: they get the relay's derived listing
    const ps = await Promise.all(buyers.map((b) => b.buy(oid, { tier: 'relay', minutes: 2 })));
    for (const p of ps) expect(p.listingId).toBe(did);
    await waitFor(() => ps.every((p) => (counts.get(p.id) ?? 0) >= 10), 30_000, 'frames through the relay');
    // the origin has exactly one buyer (the relay) and one stream session
    expect(origin.sales()).toHaveLength(1);
    expect(origin.status().sessions).toBe(1);
    expect(relay.status().sessions).toBe(3);
    // buyers pay the relay at the rebroadcast price
    const paid = buyers[0]!.purchase(ps[0]!.id)!;
    expect(paid.pricePerPeriod).toBe(((PER_MIN / 3n) * 3n + 59n) / 60n);
    expect(relay.purchase(up.id)!.state).toBe('streaming');
  });
});
