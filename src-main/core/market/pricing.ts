// Runs in: Node. The one home of Axon's pricing rules: which per-minute price a tier costs, what
// one pay-as-you-go period costs, how many periods a number of minutes takes, and the spending
// cap of a purchase. The buyer, the seller, the quote the UI shows before a buy and the renewal
// of a running purchase all use these functions, so what the user sees is what is charged.
// tests/unit/market-pricing.test.ts pins each case.
import type { Lamports, Tier } from '../ledger/types';
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
  /** Spending cap: the caller's, or the price of all `periods`. */
  cap: Lamports;
}

/**
 * What buying `listing` for `minutes` costs (network fees not included: the ledger quotes them).
 * Throws MarketError 'no-relay' for a relay tier without a rebroadcast price and 'cap-too-low'
 * when a given cap does not cover one period.
 */
export function purchaseTerms(
  listing: TierPrices & { periodSec: number; origin: string | null },
  o: { minutes: number; maxLamports?: Lamports },
): PurchaseTerms {
  const tier = tierOf(listing);
  const perMinute = pricePerMinute(listing, tier);
  if (perMinute === null) throw new MarketError('no-relay', 'this rebroadcast has no relay-tier price');
  const perPeriod = pricePerPeriod(perMinute, listing.periodSec);
  const periods = periodsFor(o.minutes, listing.periodSec);
  const cap = o.maxLamports ?? perPeriod * BigInt(periods);
  if (cap < perPeriod)
    throw new MarketError('cap-too-low', `the spending cap ${cap} is below one period (${perPeriod} lamports)`);
  return { tier, pricePerMinute: perMinute, pricePerPeriod: perPeriod, periodSec: listing.periodSec, periods, cap };
}

/**
 * What extending a purchase by `addMinutes` adds to its cap: whole periods at the price already
 * agreed with the seller (its `pricePerPeriod`), never a per-minute price worked back from it.
 */
export function extensionCost(pricePerPeriodAgreed: Lamports, periodSec: number, addMinutes: number): Lamports {
  return pricePerPeriodAgreed * BigInt(periodsFor(addMinutes, periodSec));
}
