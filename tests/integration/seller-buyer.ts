// A seller and a buyer node on one real local ledger for a whole test file (or describe): the
// setup the stream tests share. Not a test file itself.
import { afterAll, beforeAll } from 'vitest';
import type { AxonNode } from '../../src-main/core/node';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import type { ListingRow } from '../../src-main/core/store/listings';
import { runCleanups, startSellerAndBuyer, waitFor } from './market-helpers';

export interface SellerAndBuyer {
  ledger: LocalLedger;
  seller: AxonNode;
  buyer: AxonNode;
  /** Run in order by the afterAll (the nodes', then the ledger's, are there already). */
  cleanups: (() => Promise<void> | void)[];
}

/**
 * Starts both nodes (each given `airdrop` lamports) in a beforeAll, hands them to `started`, and
 * stops them in an afterAll. The returned pair's fields are set once the beforeAll has run.
 */
export function useSellerAndBuyer(airdrop: bigint, started: (pair: SellerAndBuyer) => void = () => {}): SellerAndBuyer {
  const pair = { cleanups: [] as SellerAndBuyer['cleanups'] } as SellerAndBuyer;
  beforeAll(async () => {
    Object.assign(pair, await startSellerAndBuyer(airdrop, pair.cleanups));
    started(pair);
  });
  afterAll(async () => {
    await runCleanups(pair.cleanups);
  });
  return pair;
}

/** The seller's listing of `streamId` in the buyer's catalog, once it has come through the ledger. */
export function listingOnBuyer({ seller, buyer }: SellerAndBuyer, streamId: string): Promise<ListingRow> {
  const id = `${seller.identity.address}:${streamId}`;
  return waitFor(() => buyer.listings({}).find((l) => l.id === id), 15_000, `listing ${streamId} on the buyer`);
}
