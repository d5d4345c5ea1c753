// The pricing rules (core/market/pricing.ts), one case each: what a tier costs per minute and per
// period, how minutes become periods, the spending cap, and what a renewal adds. The quote the UI
// shows, the buyer, the seller and renew all call these.
import { describe, expect, it } from 'vitest';
import {
  extensionCost,
  periodCost,
  periodsFor,
  pricePerMinute,
  pricePerPeriod,
  purchaseTerms,
  tierOf,
} from '../../src-main/core/market/pricing';
import { MarketError } from '../../src-main/core/market/types';
import { USDC_MINTS } from '../../src-main/core/ledger/assets';

const USDC: string = USDC_MINTS.devnet;

const listing = (
  o: Partial<{
    priceDirect: bigint;
    priceRelay: bigint | null;
    periodSec: number;
    origin: string | null;
    mint: string | null;
  }> = {},
) => ({
  priceDirect: 60_000n,
  priceRelay: 30_000n,
  periodSec: 10,
  origin: null,
  ...o,
});

describe('pricing', () => {
  it('a tier costs its own per-minute price; a missing relay price is no relay tier (no fallback)', () => {
    expect(pricePerMinute(listing(), 'direct')).toBe(60_000n);
    expect(pricePerMinute(listing(), 'relay')).toBe(30_000n);
    expect(pricePerMinute(listing({ priceRelay: null }), 'relay')).toBeNull();
  });

  it('a period costs its share of the minute, rounded up so the seller is never underpaid', () => {
    expect(pricePerPeriod(60_000n, 10)).toBe(10_000n);
    expect(pricePerPeriod(100n, 7)).toBe(12n); // 11.67 → 12
    expect(pricePerPeriod(1n, 1)).toBe(1n);
    expect(pricePerPeriod(0n, 10)).toBe(0n);
  });

  it('minutes become whole periods (a started period is paid in full)', () => {
    expect(periodsFor(1, 10)).toBe(6);
    expect(periodsFor(1, 7)).toBe(9); // 60 / 7 = 8.57
    expect(periodsFor(2, 120)).toBe(1);
    expect(periodsFor(3, 120)).toBe(2);
  });

  it('a derived listing (a rebroadcast) is bought at the relay tier', () => {
    expect(tierOf({ origin: null })).toBe('direct');
    expect(tierOf({ origin: 'Seller:aircraft' })).toBe('relay');
  });

  it('purchase terms: the cap defaults to the price of every period the minutes take', () => {
    expect(purchaseTerms(listing(), { minutes: 60 })).toEqual({
      tier: 'direct',
      pricePerMinute: 60_000n,
      pricePerPeriod: 10_000n,
      periodSec: 10,
      periods: 360,
      feePerPeriod: 0n,
      cap: 3_600_000n,
      mint: null,
    });
    // with the ledger's fee per payment, the cap covers price AND fee of every period
    expect(purchaseTerms(listing(), { minutes: 1, feePerPeriod: 5_000n }).cap).toBe(90_000n);
    // 1 minute of 7 s periods: 9 periods at 7 000 (not 60 000 per minute × 1)
    expect(purchaseTerms(listing({ periodSec: 7 }), { minutes: 1 }).cap).toBe(63_000n);
  });

  it('purchase terms of a rebroadcast use its relay price, and refuse one that has none', () => {
    const t = purchaseTerms(listing({ origin: 'S:x' }), { minutes: 1 });
    expect([t.tier, t.pricePerMinute, t.pricePerPeriod]).toEqual(['relay', 30_000n, 5_000n]);
    expect(() => purchaseTerms(listing({ origin: 'S:x', priceRelay: null }), { minutes: 1 })).toThrow(
      expect.objectContaining({ code: 'no-relay' }) as MarketError,
    );
  });

  it('a given cap is kept, and one below a single period is refused', () => {
    expect(purchaseTerms(listing(), { minutes: 60, maxLamports: 25_000n }).cap).toBe(25_000n);
    expect(() => purchaseTerms(listing(), { minutes: 60, maxLamports: 9_999n })).toThrow(
      expect.objectContaining({ code: 'cap-too-low' }) as MarketError,
    );
    // one period is its price plus its fee
    expect(() => purchaseTerms(listing(), { minutes: 60, maxLamports: 10_000n, feePerPeriod: 5_000n })).toThrow(
      expect.objectContaining({ code: 'cap-too-low' }) as MarketError,
    );
    // beyond a u64 amount
    expect(() => purchaseTerms(listing({ priceDirect: 2n ** 62n }), { minutes: 525_600 })).toThrow(
      expect.objectContaining({ code: 'bad-input' }) as MarketError,
    );
  });

  it('renewing adds whole periods at the agreed price per period', () => {
    expect(extensionCost(10_000n, 10, 5)).toBe(300_000n);
    // 12 lamports per 7 s period, 1 more minute: 9 periods = 108 (working a per-minute price
    // back from 12 per 7 s and multiplying by minutes gave 103)
    expect(extensionCost(12n, 7, 1)).toBe(108n);
    expect(extensionCost(10_000n, 10, 1, 5_000n)).toBe(90_000n); // and each period's fee
    // paid in a token: the cap is in token units, the fees (lamports) are not added into it
    expect(extensionCost(10_000n, 10, 1, 5_000n, USDC)).toBe(60_000n);
  });

  it('a stream priced in a token: prices and cap in its base units, fees (lamports) beside the cap', () => {
    const t = purchaseTerms(listing({ mint: USDC }), { minutes: 1, feePerPeriod: 5_000n });
    expect(t).toMatchObject({ mint: USDC, pricePerPeriod: 10_000n, periods: 6, feePerPeriod: 5_000n, cap: 60_000n });
    expect(periodCost(10_000n, 5_000n, USDC)).toBe(10_000n);
    expect(periodCost(10_000n, 5_000n, null)).toBe(15_000n);
    // a cap of exactly one period's price is enough in a token (its fee is paid in SOL)
    expect(purchaseTerms(listing({ mint: USDC }), { minutes: 1, maxLamports: 10_000n, feePerPeriod: 5_000n }).cap).toBe(
      10_000n,
    );
    expect(() =>
      purchaseTerms(listing({ mint: USDC }), { minutes: 1, maxLamports: 9_999n, feePerPeriod: 5_000n }),
    ).toThrow(expect.objectContaining({ code: 'cap-too-low' }) as MarketError);
  });
});
