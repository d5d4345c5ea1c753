// A stream priced in USDC, end to end on the real local ledger between two real nodes on
// loopback: the seller lists in the ledger's USDC mint, the buyer gets USDC from the faucet, buys
// (the quote names the mint and the rent of the seller's token account), pays each period with a
// TransferChecked that the seller verifies (mint and amount), and the balances move exactly: the
// prices in USDC, the fees and that rent in SOL. A payment in SOL for the USDC sale is refused
// with the reason 'wrong-mint'.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '@solana/kit';
import type { AxonNode } from '../../src-main/core/node';
import type { Asset } from '../../src-main/core/ledger/assets';
import { expiresIn, newNonce } from '../../src-main/core/ledger/messages';
import { runCleanups, startSellerAndBuyer, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;
const PER_MIN = 600_000n; // 0.6 USDC per minute → 20 000 base units (0.02 USDC) per 2 s period
const PER_PERIOD = 20_000n;

describe('a stream priced in USDC', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let seller: AxonNode;
  let buyer: AxonNode;
  let usdc: Asset;

  beforeAll(async () => {
    ({ seller, buyer } = await startSellerAndBuyer(SOL, cleanups));
    usdc = (await buyer.ledger.usdc())!;
    await buyer.ledger.tokenFaucet(usdc, 5_000_000n); // 5 USDC
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('lists in USDC, buys, pays in USDC, the seller verifies; balances exact in both assets', async () => {
    expect(usdc.kind).toBe('spl');
    await seller.sell({
      streamId: 'wx-usdc',
      title: 'Weather in USDC',
      source: { kind: 'weather', stations: 2 },
      priceDirect: PER_MIN,
      mint: usdc.mint!,
    });
    const listingId = `${seller.identity.address}:wx-usdc`;
    const seen = await waitFor(() => buyer.listing(listingId), 15_000, 'listing on the buyer');
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

    await waitFor(() => seller.sale(p.id)?.paidThrough === 1, 30_000, 'two periods paid and verified');
    const stopped = await buyer.stop(p.id);
    expect(stopped.state).toBe('ended');
    const final = buyer.purchase(p.id)!;
    await waitFor(() => seller.sale(p.id)!.paidThrough === final.paidThrough, 10_000, 'seller saw every payment');

    const periods = BigInt(final.paidThrough + 1);
    const sale = seller.sale(p.id)!;
    expect(sale.mint).toBe(usdc.mint);
    expect(final.spent).toBe(periods * PER_PERIOD);
    expect(sale.earned).toBe(final.spent);
    expect(seller.payments(p.id).every((x) => x.state === 'verified' && x.lamports === PER_PERIOD)).toBe(true);

    // USDC: exactly the periods paid moved from buyer to seller
    expect(await buyer.ledger.balanceOf(usdc)).toBe(tokB0 - final.spent);
    expect(await seller.ledger.balanceOf(usdc)).toBe(final.spent);
    // SOL: the buyer paid the fees (request, payments, stop) and the rent of the seller's token account,
    // and the purchase books every one of them
    const fee = await buyer.ledger.estimateFee(true);
    const feeMsg = await buyer.ledger.estimateFee(false);
    expect(final.fees).toBe(periods * fee + rent);
    expect(solB0 - (await buyer.ledger.balance())).toBe(periods * fee + rent + 2n * feeMsg);
  });

  it('a payment in SOL for the USDC sale is refused by the seller as wrong-mint', async () => {
    const p = buyer.purchases({ limit: 1 })[0]!;
    const sale = seller.sale(p.id)!;
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
