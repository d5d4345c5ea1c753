// USDC through the app API (as the UI calls it, over the real bridge of two real headless nodes on
// the real local ledger): the wallet shows the USDC balance, a stream is sold in USDC, Browse shows
// its asset, and the quote before Buy states the price and cap in USDC with the rent of the
// seller's token account and the fees in SOL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Serving } from '../../src-main/cli/commands/serve';
import { apiCall, bridgePair, until } from '../helpers/serve';
import type { BuyQuote, ListingView, WalletView } from '../../src-shared/contract/api';

describe('USDC over the app API', () => {
  let seller: Serving;
  let buyer: Serving;
  let pair: Awaited<ReturnType<typeof bridgePair>> | undefined;

  beforeAll(async () => {
    pair = await bridgePair('axon-api-usdc', { timing: { listingTtlSec: 30, requestTimeoutMs: 15_000 } });
    ({ seller, buyer } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  it('wallet shows USDC, a stream sells in USDC, the quote is in USDC with rent and fees in SOL', async () => {
    const w0 = await apiCall<WalletView>(buyer, 'wallet');
    const usdc = w0.tokens?.[0]?.asset;
    expect(usdc).toMatchObject({ symbol: 'USDC', decimals: 6 });
    expect(w0.tokens?.[0]?.balance).toBe('0');
    const node = buyer.host.node;
    // the faucet beside the airdrop, as the Wallet screen calls it
    const minted = await apiCall<{ signature: string; balance: string; asset: unknown }>(
      buyer,
      'tokenFaucet',
      '3000000',
    );
    expect(minted).toMatchObject({ balance: '3000000', asset: usdc });
    expect((await apiCall<WalletView>(buyer, 'wallet')).tokens?.[0]?.balance).toBe('3000000');

    const stream = await apiCall<{ listingId: string; asset?: { symbol: string } }>(seller, 'sell', {
      title: 'USDC weather',
      description: '',
      tags: [],
      format: 'application/x-ndjson',
      source: { kind: 'synthetic', feed: 'weather' },
      priceDirect: '60000', // 0.06 USDC per minute
      periodSec: 10,
      mint: usdc!.mint,
    });
    expect(stream.asset?.symbol).toBe('USDC');
    const listing = await until(
      async () => (await apiCall<ListingView[]>(buyer, 'listings', { text: 'USDC' }))[0],
      'listing',
    );
    expect(listing).toMatchObject({ id: stream.listingId, priceDirect: '60000', asset: usdc });

    const q = await apiCall<BuyQuote>(buyer, 'quote', { listingId: listing.id, tier: 'direct', maxMinutes: 2 });
    const rent = await node.ledger.tokenAccountRent();
    expect(q).toMatchObject({
      asset: usdc,
      pricePerPeriod: '10000',
      periods: 12,
      cap: '120000', // in USDC base units: prices only
      totalAtMost: '120000',
      balance: '3000000',
      tokenBalance: '3000000',
      balanceAfter: '2880000',
      tokenAccountRent: rent.toString(), // the seller has no USDC account yet
    });
    expect(BigInt(q.feePerPeriod)).toBeGreaterThan(0n);
    expect(q.problem).toBeUndefined();
  });
});
