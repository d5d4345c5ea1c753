// Runs in: Node. The one home of Axon's pricing rules: which per-minute price a tier costs, what
// one pay-as-you-go period costs, how many periods a number of minutes takes, and the spending
// cap of a purchase. The buyer, the seller, the quote the UI shows before a buy and the renewal
// of a running purchase all use these functions, so what the user sees is what is charged.
// tests/unit/market-pricing.test.ts pins each case. A stream priced in an SPL token (USDC) has
// its prices, the cap and what is spent in the token's base units; the network fees of its
// payments are lamports, so they are shown beside the cap, never added into it (periodCost).
import type { Lamports, Tier } from '../ledger/types';
import { MAX_LAMPORTS } from '../ledger/messages';
import { MarketError } from './types';

/** A listing's or offer's prices: lamports per minute for each tier (relay tier optional). */
export interface TierPrices {
  priceDirect: Lamports;
  priceRelay: Lamports | null;
}

/**
 * Lamports per minute of `tier`; null when the stream has no such tier. The relay (rebroadcast)
 * tier does NOT fall back to the direct price: a seller refuses a relay request for a stream that
 * has no rebroadcast price, so quoting one would only lead to a rejected request.
 */
export function pricePerMinute(p: TierPrices, tier: Tier): Lamports | null {
  return tier === 'relay' ? p.priceRelay : p.priceDirect;
}

/** Lamports per period from a per-minute price (rounded up: the seller is never underpaid). */
export function pricePerPeriod(perMinute: Lamports, periodSec: number): Lamports {
  return (perMinute * BigInt(periodSec) + 59n) / 60n;
}

/** Whole periods needed to cover `minutes` (a started period is paid in full). */
export function periodsFor(minutes: number, periodSec: number): number {
  return Math.ceil((minutes * 60) / periodSec);
}

/**
 * What one period counts against a purchase's spending cap: its price plus its fee when the
 * purchase is paid in SOL; only its price when paid in a token (`mint`), whose fees are lamports.
 */
export function periodCost(price: Lamports, fee: Lamports, mint: string | null | undefined): Lamports {
  return mint ? price : price + fee;
}

/** The tier a listing is bought at: a derived listing (a relay's rebroadcast) is the relay tier. */
export function tierOf(listing: { origin: string | null }): Tier {
  return listing.origin ? 'relay' : 'direct';
}

export interface PurchaseTerms {
  tier: Tier;
  pricePerMinute: Lamports;
  pricePerPeriod: Lamports;
  periodSec: number;
  /** Periods that `minutes` takes. */
  periods: number;
  /** Network fee of one period's payment, as the caller estimated it (0 when not given). */
  feePerPeriod: Lamports;
  /** Spending cap: the caller's, or what all `periods` cost: each period's price AND (SOL) its fee. */
  cap: Lamports;
  /** Paid in this SPL token (prices and cap in its base units; fees in lamports); null = SOL. */
  mint: string | null;
}

/**
 * What buying `listing` for `minutes` costs. `feePerPeriod` is the ledger's fee for one payment
 * (the caller asks the ledger); the cap covers each period's price and its fee. Throws
 * MarketError 'no-relay' for a relay tier without a rebroadcast price, 'bad-input' when the cost
 * exceeds a u64 amount, and 'cap-too-low' when the cap does not cover one period and its fee.
 */
export function purchaseTerms(
  listing: TierPrices & { periodSec: number; origin: string | null; mint?: string | null },
  o: { minutes: number; maxLamports?: Lamports; feePerPeriod?: Lamports },
): PurchaseTerms {
  const tier = tierOf(listing);
  const perMinute = pricePerMinute(listing, tier);
  if (perMinute === null) throw new MarketError('no-relay', 'this rebroadcast has no relay-tier price');
  const perPeriod = pricePerPeriod(perMinute, listing.periodSec);
  const fee = o.feePerPeriod ?? 0n;
  const periods = periodsFor(o.minutes, listing.periodSec);
  const mint = listing.mint ?? null;
  const one = periodCost(perPeriod, fee, mint);
  const cap = o.maxLamports ?? one * BigInt(periods);
  if (cap > MAX_LAMPORTS)
    throw new MarketError('bad-input', `${o.minutes} min of this stream cost more than ${MAX_LAMPORTS} lamports`);
  if (cap < one)
    throw new MarketError(
      'cap-too-low',
      mint
        ? `the spending cap ${cap} is below one period (${perPeriod} base units of the token)`
        : `the spending cap ${cap} is below one period (${perPeriod} lamports + ${fee} lamports of fee)`,
    );
  return {
    tier,
    pricePerMinute: perMinute,
    pricePerPeriod: perPeriod,
    periodSec: listing.periodSec,
    periods,
    feePerPeriod: fee,
    cap,
    mint,
  };
}

/**
 * What extending a purchase by `addMinutes` adds to its cap: whole periods at the price already
 * agreed with the seller (its `pricePerPeriod`) plus each period's fee, never a per-minute price
 * worked back from it.
 */
export function extensionCost(
  pricePerPeriodAgreed: Lamports,
  periodSec: number,
  addMinutes: number,
  feePerPeriod: Lamports = 0n,
  mint: string | null = null,
): Lamports {
  return periodCost(pricePerPeriodAgreed, feePerPeriod, mint) * BigInt(periodsFor(addMinutes, periodSec));
}
