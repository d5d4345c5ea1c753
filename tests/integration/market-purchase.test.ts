// A full purchase on the real local ledger between two real nodes on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AxonNode } from '../../src-main/core/node';
import { runCleanups, startNode, startSellerAndBuyer, waitFor } from './market-helpers';
import type { LocalLedger } from '../../src-main/local-ledger/index';

const SOL = 1_000_000_000n;
const PER_MIN = 60_000n; // lamports per minute → 2 000 per 2 s period

describe('full purchase', () => {
  let ledger: LocalLedger;
  const cleanups: (() => Promise<void> | void)[] = [];
  let seller: AxonNode;
  let buyer: AxonNode;

  beforeAll(async () => {
    ({ ledger, seller, buyer } = await startSellerAndBuyer(SOL, cleanups));
  });
  afterAll(async () => {
    // let libdatachannel's threads wind down before the worker exits (see docs/market.md)
    await runCleanups(cleanups);
  });

  it('listing seen, request, accept, connect, paid periods, frames in order, renewal, stop', async () => {
    await seller.sell({
      streamId: 'adsb',
      title: 'Aircraft over FRA',
      tags: ['adsb', 'aviation'],
      source: { kind: 'adsb', aircraft: 4 },
      priceDirect: PER_MIN,
      priceRelay: PER_MIN / 2n,
    });
    const listingId = `${seller.identity.address}:adsb`;
    const seen = await waitFor(
      () => buyer.listings({ text: 'aircraft' }).find((l) => l.id === listingId),
      15_000,
      'listing on the buyer',
    );
    expect(seen.priceDirect).toBe(PER_MIN);
    expect(seen.periodSec).toBe(2);
    expect(buyer.listings({ tag: 'aviation' })).toHaveLength(1);
    expect(buyer.listings({ tag: 'weather' })).toHaveLength(0);
    expect(buyer.listings({ maxPrice: PER_MIN - 1n })).toHaveLength(0);

    const sellerBefore = await seller.ledger.balance();
    const buyerBefore = await buyer.ledger.balance();
    const frames: { seq: number }[] = [];
    buyer.on('frame', (f) => frames.push(f));
    const p = await buyer.buy(listingId, { minutes: 10 });
    expect(p.state).toBe('requested');

    // streaming, first period paid by voucher and settled by the seller on the ledger (its credit
    // for a new buyer is one period)
    await waitFor(
      () => seller.payments(p.id).some((x) => x.state === 'verified' && x.period === 0),
      20_000,
      'first voucher settled',
    );
    await waitFor(() => frames.length > 20, 10_000, 'frames');
    // renewal: periods 1 and 2 paid before they start
    await waitFor(() => seller.sale(p.id)!.paidThrough >= 2, 20_000, 'renewals');
    const streamed = await buyer.stop(p.id);
    expect(streamed.state).toBe('ended');
    expect(streamed.reason).toMatch(/stopped by the buyer/);

    for (let i = 1; i < frames.length; i++) expect(frames[i]!.seq).toBe(frames[i - 1]!.seq + 1);
    const json = JSON.parse(new TextDecoder().decode((frames[0] as unknown as { payload: Uint8Array }).payload));
    expect(json.aircraft).toHaveLength(4);

    // history: each transition with a reason
    const h = buyer.history('purchase', p.id).map((t) => t.to);
    expect(h.slice(0, 4)).toEqual(['requested', 'accepted', 'connecting', 'streaming']);
    expect(h.at(-1)).toBe('ended');
    const reasons = buyer.history('purchase', p.id).map((t) => t.reason);
    expect(reasons).toContain('vouched through period 0');
    expect(reasons).toContain('vouched through period 1');

    // money: exactly the periods paid moved from buyer to seller
    // the seller settles the rest at the end; the buyer books it and keeps its nonce account for
    // the next purchase — closed here by the user (rent back, its fee booked on this purchase)
    await waitFor(() => buyer.voucher(p.id, 'out')?.closedAt, 60_000, 'nonce account kept');
    expect(await buyer.closeNonceAccounts()).toBe(1);
    const final = buyer.purchase(p.id)!;
    const periods = BigInt(final.paidThrough + 1);
    expect(final.spent).toBe(periods * 2000n);
    expect(seller.sale(p.id)!.paidThrough).toBe(final.paidThrough);
    const sale = seller.sale(p.id)!;
    expect(sale.earned).toBe(final.spent);
    // the settlements (a few ledger transactions, not one per period) add up to what was vouched
    const outs = buyer.payments(p.id);
    expect(outs.length).toBeLessThan(Number(periods) + 1);
    expect(outs.reduce((a, x) => a + x.lamports, 0n)).toBe(final.spent);
    const sellerAfter = await seller.ledger.balance();
    const buyerAfter = await buyer.ledger.balance();
    const feeMsg = await buyer.ledger.estimateFee(false);
    const fees = buyer.purchase(p.id)!.fees;
    // seller: + payments, − listing fees (it posted its listing at most a few times)
    expect(sellerAfter - sellerBefore + 5n * feeMsg >= final.spent - 0n).toBe(true);
    // buyer: − payments − fees of request, nonce account, settlements and its close (the stop
    // went on the stream: no transaction; the nonce account's rent came back)
    expect(buyerBefore - buyerAfter).toBe(final.spent + fees + feeMsg);
    await waitFor(() => seller.sale(p.id)!.state === 'ended', 10_000, 'sale ended');
  });

  it('listings are refreshed before their TTL and vanish on their own when the seller stops refreshing', async () => {
    const s = await startNode(ledger, { airdrop: SOL, timing: { listingTtlSec: 3 } });
    const b = await startNode(ledger, {});
    try {
      await s.node.sell({
        streamId: 'wx',
        title: 'Short-lived weather',
        source: { kind: 'weather' },
        priceDirect: PER_MIN,
      });
      const id = `${s.node.identity.address}:wx`;
      const first = await waitFor(() => b.node.listings().find((l) => l.id === id), 15_000, 'listing');
      // still listed after more than one TTL: the seller refreshed it
      await waitFor(
        () => (b.node.listings().find((l) => l.id === id)?.expiresAt ?? 0) > first.expiresAt + 1000,
        10_000,
        'refresh',
      );
      await s.cleanup(); // the seller goes away without delisting
      await waitFor(() => !b.node.listings().some((l) => l.id === id), 10_000, 'listing expired');
    } finally {
      await s.cleanup();
      await b.cleanup();
    }
  });
});
