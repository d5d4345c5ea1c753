// Runs in: Node. The rules of payment vouchers both sides share (docs/market.md "Vouchers"):
// the credit limit, the fees a voucher purchase adds, what each side risks.

/** The seller's credit grows to this many times what the buyer settled so far. */
export const CREDIT_GROWTH = 3n;
/** …but never beyond this many periods unsettled. */
export const MAX_CREDIT_PERIODS = 60n;
/** A finished purchase's nonce account is kept for the next purchase once the seller settled its
 *  newest voucher; without that settlement for this long, the buyer closes it (the seller then
 *  loses what it did not settle). */
export const CLOSE_NONCE_AFTER_MS = 10 * 60_000;
/** A kept nonce account unused for this long is closed (rent back). */
export const NONCE_IDLE_CLOSE_MS = 24 * 3600_000;
/** At most this many free nonce accounts are kept; more are closed. */
export const MAX_FREE_NONCE_ACCOUNTS = 2;
/** The most a seller lets a buyer owe unsettled (lamports), from what it settled so far. */
export function creditLimit(pricePerPeriod: bigint, settledHistory: bigint): bigint {
  const grown = settledHistory * CREDIT_GROWTH;
  const max = pricePerPeriod * MAX_CREDIT_PERIODS;
  return grown < pricePerPeriod ? pricePerPeriod : grown > max ? max : grown;
}

/**
 * Fees a voucher purchase pays beyond one per period, at most: creating a nonce account (two
 * signatures; none when a kept one is free) and closing it (when its seller never settled);
 * settlements are never more than the periods. The default spending
 * cap adds them to "each period's price and its fee" (pricing.ts) so that cap still covers all.
 */
export const VOUCHER_EXTRA_FEES = 3n;

/** What each side can lose at worst right now (shown for every purchase and sale). */
export interface Exposure {
  /** Seller: vouched but not settled (lost if the buyer empties its account or advances its nonce). */
  unsettled: bigint;
  /** Seller: its credit limit for this buyer now. */
  creditLimit: bigint;
  /** Buyer: what it signed in total (it can never pay more than that). */
  signed: bigint;
  settled: bigint;
  settlements: number;
}
