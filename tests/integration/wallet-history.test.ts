// Money a user can trust (issue 14), through the app API over real nodes on the real local ledger:
// a second Buy of a stream already being received is refused unless confirmed (by the node, not
// only the UI), Browse marks the stream as "Receiving", the quote states every fee and the balance
// after, and History accounts for every lamport: over a whole buy–sell–stop run the sum of each
// wallet's history equals its balance, with the fees of every posted message in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AxonNode } from '../../src-main/core/node';
import { ApiService } from '../../src-main/api/service';
import { createNodeBackend } from '../../src-main/api/node-backend';
import type { BuyQuote, HistoryView, ListingView, PurchaseView } from '../../src-shared/contract/api';
import { runCleanups, startSellerAndBuyer, waitFor } from './market-helpers';
import { VOUCHER_EXTRA_FEES } from '../../src-main/core/market/voucher';

const SOL = 1_000_000_000n;
const PER_MIN = 60_000n;

function apiOf(node: AxonNode): { api: ApiService; close(): void } {
  const backend = createNodeBackend(node, {
    dataDir: '/nonexistent',
    settingsFile: '/nonexistent/settings.json',
    version: 'test',
    canAirdrop: true,
  });
  return { api: new ApiService(backend), close: () => backend.close() };
}

async function call<T>(api: ApiService, cmd: string, ...args: unknown[]): Promise<T> {
  const r = await api.call(cmd, args);
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code, hint: r.error.hint });
  return r.value as T;
}

/** History once the ledger's confirmed view has caught up with the balance (both at 'confirmed'). */
async function settledHistory(api: ApiService): Promise<HistoryView> {
  let last: HistoryView | null = null;
  await waitFor(
    async () => {
      last = await call<HistoryView>(api, 'history', 10_000);
      return last.total === last.balance;
    },
    20_000,
    'history to sum to the balance',
  ).catch(() => undefined);
  return last!;
}

describe('wallet history and the double-buy guard', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let seller: AxonNode;
  let buyer: AxonNode;
  let sellerApi: ReturnType<typeof apiOf>;
  let buyerApi: ReturnType<typeof apiOf>;

  beforeAll(async () => {
    ({ seller, buyer } = await startSellerAndBuyer(SOL, cleanups));
    sellerApi = apiOf(seller);
    buyerApi = apiOf(buyer);
    cleanups.unshift(
      () => sellerApi.close(),
      () => buyerApi.close(),
    );
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('guards a second buy, quotes fees, and the history sums to the balance over buy–sell–stop', async () => {
    await seller.sell({
      streamId: 'adsb',
      title: 'Aircraft over FRA',
      tags: ['adsb'],
      source: { kind: 'adsb', aircraft: 2 },
      priceDirect: PER_MIN,
    });
    const listingId = `${seller.identity.address}:adsb`;
    await waitFor(() => buyer.listing(listingId)?.healthy, 15_000, 'listing on the buyer');

    // the quote: price, fees per hour, total at most and the balance after
    const q = await call<BuyQuote>(buyerApi.api, 'quote', { listingId, tier: 'direct', maxMinutes: 1 });
    expect(BigInt(q.feePerPeriod)).toBeGreaterThan(0n);
    expect(BigInt(q.feesPerHour)).toBe(BigInt(q.feePerPeriod) * BigInt(Math.ceil(3600 / q.periodSec)));
    // the cap covers each period's price and fee and, paying by voucher (the default), the nonce
    // account's creation and close and the last settlement (VOUCHER_EXTRA_FEES fees)
    expect(BigInt(q.cap)).toBe(
      (BigInt(q.pricePerPeriod) + BigInt(q.feePerPeriod)) * BigInt(q.periods) +
        VOUCHER_EXTRA_FEES * BigInt(q.feePerPeriod),
    );
    expect(BigInt(q.totalAtMost)).toBe(BigInt(q.cap) + BigInt(q.requestFee));
    expect(BigInt(q.balanceAfter)).toBe(BigInt(q.balance) - BigInt(q.totalAtMost));
    expect(q.existingPurchase).toBeNull();

    const p = await call<PurchaseView>(buyerApi.api, 'buy', { listingId, tier: 'direct', maxMinutes: 1 });
    await waitFor(() => seller.payments(p.id).some((x) => x.state === 'verified'), 20_000, 'first payment verified');

    // Browse marks it; the quote names it; a second Buy is refused by the node unless confirmed
    const listed = await call<ListingView[]>(buyerApi.api, 'listings', {});
    expect(listed.find((l) => l.id === listingId)?.receiving).toBe(p.id);
    const q2 = await call<BuyQuote>(buyerApi.api, 'quote', { listingId, tier: 'direct', maxMinutes: 1 });
    expect(q2.existingPurchase).toBe(p.id);
    const second = await call(buyerApi.api, 'buy', { listingId, tier: 'direct', maxMinutes: 1 }).catch(
      (e: unknown) => e,
    );
    expect((second as { code?: string }).code).toBe('already-receiving');
    expect((second as Error).message).toContain('Aircraft over FRA');
    await expect(buyer.buy(listingId, { minutes: 1 })).rejects.toMatchObject({ code: 'already-receiving' });
    expect(buyer.purchases().filter((x) => x.listingId === listingId)).toHaveLength(1);

    // a few paid periods, then the buyer stops, the seller pauses and removes the stream
    await waitFor(() => (buyer.purchase(p.id)?.paidThrough ?? -1) >= 1, 20_000, 'two periods paid');
    await call(buyerApi.api, 'stopPurchase', p.id);
    await call(sellerApi.api, 'setStreamPaused', 'adsb', true);
    await call(sellerApi.api, 'removeStream', 'adsb');

    // every lamport: the history of each wallet sums to its balance (both started at 0)
    const bh = await settledHistory(buyerApi.api);
    expect(bh.total).toBe(bh.balance);
    const sh = await settledHistory(sellerApi.api);
    expect(sh.total).toBe(sh.balance);

    // the buyer's: the airdrop, the request's fee, the payments with their fees, linked to the purchase
    const kinds = (h: HistoryView) => new Set(h.entries.map((e) => e.kind));
    for (const k of ['airdrop', 'request', 'payment-out']) expect([...kinds(bh)]).toContain(k);
    const paidOut = bh.entries.filter((e) => e.kind === 'payment-out');
    expect(paidOut.length).toBeGreaterThanOrEqual(2);
    for (const e of paidOut) expect(e.purchaseId).toBe(p.id);
    const perPurchase = bh.perPurchase.find((t) => t.key === p.id)!;
    const ofIt = bh.entries.filter((e) => e.purchaseId === p.id);
    expect(perPurchase.count).toBe(ofIt.length);
    expect(BigInt(perPurchase.delta)).toBe(ofIt.reduce((s, e) => s + BigInt(e.delta), 0n));
    // what it cost: the payments plus every fee of its messages; a voucher nonce account's rent is a
    // deposit (listed, linked to the purchase, refunded when the account is closed)
    const spentOnIt = buyer.purchase(p.id)!;
    const cost = ofIt
      .filter((e) => e.kind !== 'deposit' && e.kind !== 'refund')
      .reduce((s, e) => s - BigInt(e.delta), 0n);
    const feesOfIt = ofIt.reduce((s, e) => s + BigInt(e.fee), 0n);
    const depositFees = ofIt
      .filter((e) => e.kind === 'deposit' || e.kind === 'refund')
      .reduce((s, e) => s + BigInt(e.fee), 0n);
    expect(cost).toBe(spentOnIt.spent + feesOfIt - depositFees);
    for (const e of ofIt.filter((x) => x.kind === 'deposit')) expect(BigInt(e.delta)).toBeLessThan(0n);
    // fees are counted: the balance fell by more than the payments
    const payments = paidOut.reduce((s, e) => s + -BigInt(e.delta) - BigInt(e.fee), 0n);
    expect(SOL - BigInt(bh.balance)).toBeGreaterThan(payments);

    // the seller's: listing, payments in, and the pause/remove messages' fees, linked to the stream
    for (const k of ['airdrop', 'listing', 'payment-in', 'delist']) expect([...kinds(sh)]).toContain(k);
    expect(sh.entries.filter((e) => e.kind === 'payment-in').every((e) => e.saleId === p.id)).toBe(true);
    expect(sh.perListing.find((t) => t.key === 'adsb')!.count).toBeGreaterThanOrEqual(2);
    expect(BigInt(sh.fees)).toBeGreaterThan(0n);
  });
});
