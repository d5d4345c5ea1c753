// A stream priced in USDC, end to end on the real local ledger between two real nodes on
// loopback: the seller lists in the ledger's USDC mint, the buyer gets USDC from the faucet, buys
// (the quote names the mint; the seller's token account is created with the rent shown), pays with
// TransferChecked — in vouchers the seller checks and settles, or one transaction per period the
// seller verifies (mint and amount) — and the balances move exactly: the prices in USDC, the fees
// and that rent in SOL. A payment in SOL for the USDC sale is refused
// with the reason 'wrong-mint'.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSigner, type Address } from '@solana/kit';
import { transferInstructions } from '../../src-main/core/ledger/assets';
import { sendInstructions } from '../../src-main/core/ledger/send';
import type { AxonNode } from '../../src-main/core/node';
import type { Asset } from '../../src-main/core/ledger/assets';
import { expiresIn, newNonce } from '../../src-main/core/ledger/messages';
import type { MarketTiming } from '../../src-main/core/market/types';
import type { ListingRow } from '../../src-main/core/store/listings';
import { runCleanups, startSellerAndBuyer, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;
const PER_MIN = 600_000n; // 0.6 USDC per minute → 20 000 base units (0.02 USDC) per 2 s period
const PER_PERIOD = 20_000n;

/** A ledger, a seller and a buyer with 1 SOL each; the buyer gets 5 USDC from the faucet. */
async function usdcMarket(
  cleanups: (() => Promise<void> | void)[],
  timing: Partial<MarketTiming> = {},
): Promise<{ seller: AxonNode; buyer: AxonNode; usdc: Asset }> {
  const { seller, buyer } = await startSellerAndBuyer(SOL, cleanups, { timing });
  const usdc = (await buyer.ledger.usdc())!;
  await buyer.ledger.tokenFaucet(usdc, 5_000_000n); // 5 USDC
  return { seller, buyer, usdc };
}

/** The seller lists a weather stream at PER_MIN in `usdc`; resolves when the buyer sees it. */
async function sellInUsdc(
  m: { seller: AxonNode; buyer: AxonNode; usdc: Asset },
  streamId: string,
  title: string,
  source: { kind: 'weather'; stations?: number } = { kind: 'weather' },
): Promise<ListingRow> {
  await m.seller.sell({ streamId, title, source, priceDirect: PER_MIN, mint: m.usdc.mint! });
  const listingId = `${m.seller.identity.address}:${streamId}`;
  return waitFor(() => m.buyer.listing(listingId), 15_000, 'listing on the buyer');
}

// both payment paths of the product: vouchers (the default) and one transaction per period
describe.each<MarketTiming['payments']>(['voucher', 'per-period'])('a stream priced in USDC, paid by %s', (mode) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let seller: AxonNode;
  let buyer: AxonNode;
  let usdc: Asset;

  beforeAll(async () => {
    ({ seller, buyer, usdc } = await usdcMarket(cleanups, { payments: mode }));
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('lists in USDC, buys, pays in USDC, the seller verifies; balances exact in both assets', async () => {
    expect(usdc.kind).toBe('spl');
    const seen = await sellInUsdc({ seller, buyer, usdc }, 'wx-usdc', 'Weather in USDC', {
      kind: 'weather',
      stations: 2,
    });
    const listingId = seen.id;
    expect(seen.mint).toBe(usdc.mint);
    expect(seen.priceDirect).toBe(PER_MIN);

    // what the user sees before buying: the price per period in USDC, a cap in USDC (no fees in it)
    const { terms } = buyer.quote(listingId, { minutes: 1, feePerPeriod: 5000n });
    expect(terms).toMatchObject({ mint: usdc.mint, pricePerPeriod: PER_PERIOD, periods: 30, cap: 30n * PER_PERIOD });
    // the seller has no USDC account yet: the first payment creates it, at this rent
    expect(await buyer.ledger.tokenAccountMissing(usdc, seller.identity.address)).toBe(true);
    const rent = await buyer.ledger.tokenAccountRent();

    const [solB0, solS0, tokB0] = await Promise.all([
      buyer.ledger.balance(),
      seller.ledger.balanceOf(usdc),
      buyer.ledger.balanceOf(usdc),
    ]);
    expect(solS0).toBe(0n);
    const p = await buyer.buy(listingId, { minutes: 10 });
    expect(p.mint).toBe(usdc.mint);
    expect(p.maxLamports).toBe(300n * PER_PERIOD); // the cap, in USDC base units

    await waitFor(() => (seller.sale(p.id)?.paidThrough ?? -1) >= 1, 30_000, 'two periods paid and verified');
    const stopped = await buyer.stop(p.id);
    expect(stopped.state).toBe('ended');
    // vouchers: the seller settles the rest at the end; the buyer books it and keeps its nonce
    // account for the next purchase — closed here by the user (rent back, the fee on this purchase)
    if (mode === 'voucher') {
      await waitFor(() => buyer.voucher(p.id, 'out')?.closedAt, 60_000, 'nonce account kept');
      expect(await buyer.closeNonceAccounts()).toBe(1);
    }
    const final = buyer.purchase(p.id)!;
    await waitFor(() => seller.sale(p.id)!.paidThrough === final.paidThrough, 10_000, 'seller saw every payment');

    const periods = BigInt(final.paidThrough + 1);
    const sale = seller.sale(p.id)!;
    expect(sale.mint).toBe(usdc.mint);
    expect(final.spent).toBe(periods * PER_PERIOD);
    expect(sale.earned).toBe(final.spent);
    const paid = buyer.payments(p.id);
    expect(paid.reduce((a, x) => a + x.lamports, 0n)).toBe(final.spent);
    if (mode === 'per-period') expect(paid).toHaveLength(Number(periods));
    else expect(paid.length).toBeLessThanOrEqual(Number(periods)); // settlements, not one per period

    // USDC: exactly the periods paid moved from buyer to seller
    expect(await buyer.ledger.balanceOf(usdc)).toBe(tokB0 - final.spent);
    expect(await seller.ledger.balanceOf(usdc)).toBe(final.spent);
    // SOL: the buyer paid only fees (request, payments or nonce account + settlements + its close;
    // the stop went on the stream) and the rent of the seller's token account, and the purchase
    // books every one of them
    const fee = await buyer.ledger.estimateFee(true);
    const feeMsg = await buyer.ledger.estimateFee(false);
    if (mode === 'per-period') expect(final.fees).toBe(periods * fee + rent);
    else expect(final.fees).toBeGreaterThanOrEqual(rent + fee);
    expect(solB0 - (await buyer.ledger.balance())).toBe(final.fees + feeMsg);
    expect(await seller.ledger.tokenAccountMissing(usdc, seller.identity.address)).toBe(false);
  });

  it('a payment in SOL for the USDC sale is refused by the seller as wrong-mint', async () => {
    const p = buyer.purchases({ limit: 1 })[0]!;
    const sale = seller.sale(p.id)!;
    // (a ledger Payment on the seller's stdin is checked on either payment path)
    const period = sale.paidThrough + 1;
    const { signature } = await buyer.ledger.post(
      await buyer.ledger.stdinTopic(seller.identity.address),
      { type: 'Payment', nonce: newNonce(), expiresAt: expiresIn(300), requestId: p.id, period },
      { transfer: { to: seller.identity.address as Address, lamports: PER_PERIOD } },
    );
    const refused = await waitFor(
      () => seller.payments(p.id).find((x) => x.signature === signature),
      15_000,
      'the seller checked the SOL payment',
    );
    expect(refused.state).toBe('refused');
    expect(refused.reason).toMatch(/^wrong-mint: paid in SOL, expected USDC/);
    expect(seller.sale(p.id)!.paidThrough).toBe(sale.paidThrough);
    expect(seller.sale(p.id)!.earned).toBe(sale.earned);
  });
});

// a token purchase's cap is in the token: the lamports of fees (and the seller's token account
// rent, 2 039 280 lamports) are shown beside it and never count against it
describe('a small USDC purchase by voucher', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it("goes on past its first period although the seller's token account rent exceeds its cap", async () => {
    const m = await usdcMarket(cleanups);
    const { buyer } = m;
    const listingId = (await sellInUsdc(m, 'wx', 'Weather')).id;
    const p = await buyer.buy(listingId, { minutes: 1 });
    expect(p.maxLamports).toBe(30n * PER_PERIOD); // 600 000 base units < the rent in lamports
    await waitFor(() => (buyer.purchase(p.id)?.paidThrough ?? -1) >= 2, 30_000, 'three periods vouched');
    expect(buyer.purchase(p.id)!.state).toBe('streaming');
    expect(buyer.purchase(p.id)!.fees).toBeGreaterThan(p.maxLamports); // the rent, booked beside the cap
    await buyer.stop(p.id);
  }, 90_000);
});

// the seller watches a USDC buyer's token account as it watches a SOL buyer's lamports
describe('a USDC buyer that empties its token account', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('the seller settles at once (token balance watch), the failure is recorded, the stream cut', async () => {
    const m = await usdcMarket(cleanups);
    const { seller, buyer, usdc } = m;
    const listingId = (await sellInUsdc(m, 'wx-usdc', 'Weather in USDC')).id;
    const p = await buyer.buy(listingId, { minutes: 10 });
    // after the first settlement (period 0), vouchers for 1.. stay unsettled up to the credit
    await waitFor(
      () => (seller.sale(p.id)?.paidThrough ?? -1) >= 1 && seller.exposure('sale', p.id)!.unsettled > 0n,
      30_000,
      'an unsettled voucher',
    );
    // every USDC goes elsewhere; the buyer keeps its SOL (fees are not the problem)
    const signer = await buyer.identity.signer();
    const sink = (await generateKeyPairSigner()).address;
    const all = await buyer.ledger.balanceOf(usdc);
    await sendInstructions(
      buyer.ledger.rpc,
      signer,
      await transferInstructions(signer, { to: sink, lamports: all, asset: usdc, createRecipientAccount: true }),
    );
    await waitFor(() => seller.sale(p.id)!.state === 'failed', 15_000, 'sale cut');
    expect(seller.sale(p.id)!.reason).toMatch(/settlement failed: the buyer emptied its USDC account/);
    expect(
      seller.payments(p.id).some((x) => x.state === 'refused' && /emptied its USDC account/.test(x.reason ?? '')),
    ).toBe(true);
    await buyer.stop(p.id);
  }, 90_000);
});
