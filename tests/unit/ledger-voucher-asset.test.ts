// A voucher's asset (ledger/nonce.ts with ledger/assets.ts): a purchase priced in USDC is vouched
// for with TransferChecked of that mint into the seller's token account; the seller's local check
// accepts exactly that, and refuses a voucher in SOL or in another mint as 'wrong-mint'.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSigner } from '@solana/kit';
import { checkVoucher, signVoucher, type VoucherTerms } from '../../src-main/core/ledger/voucher-tx';
import { SOL, usdcFor, type Asset } from '../../src-main/core/ledger/assets';

const usdc = usdcFor('devnet')!;

describe('vouchers in a token', async () => {
  const buyer = await generateKeyPairSigner();
  const seller = (await generateKeyPairSigner()).address;
  const nonceAccount = (await generateKeyPairSigner()).address;
  const nonceValue = (await generateKeyPairSigner()).address; // any 32-byte base58 value
  const other: Asset = { kind: 'spl', symbol: 'OTHER', decimals: 6, mint: (await generateKeyPairSigner()).address };
  const terms = (asset: VoucherTerms['asset'], lamports = 40_000n): VoucherTerms => ({
    buyer,
    nonceAccount,
    nonceValue,
    requestId: 'req-usdc',
    period: 1,
    asset,
    transfers: [{ to: seller, lamports }],
    expiresAt: Math.floor(Date.now() / 1000) + 600,
  });
  const expect1 = (asset: Asset, lamports = 40_000n) => ({
    buyer: buyer.address,
    nonceAccount,
    nonceValue,
    requestId: 'req-usdc',
    period: 1,
    transfers: [{ to: seller, lamports }],
    asset,
  });

  it('a USDC voucher pays the seller the exact amount of that mint', async () => {
    const v = await signVoucher(terms(usdc));
    expect(await checkVoucher(v.tx, expect1(usdc))).toEqual({ ok: true, signature: v.signature, lamports: 40_000n });
    expect(await checkVoucher(v.tx, expect1(usdc, 40_001n))).toMatchObject({ ok: false, reason: 'wrong-amount' });
  });

  it('refuses a voucher in SOL, or in another mint, for a USDC purchase — and a USDC one for a SOL purchase', async () => {
    const inSol = await signVoucher(terms(SOL));
    const r1 = await checkVoucher(inSol.tx, expect1(usdc));
    expect(r1).toMatchObject({ ok: false, reason: 'wrong-mint' });
    expect(r1.ok ? '' : r1.detail).toMatch(/pays in SOL, expected USDC/);
    const inOther = await signVoucher(terms(other));
    const r2 = await checkVoucher(inOther.tx, expect1(usdc));
    expect(r2).toMatchObject({ ok: false, reason: 'wrong-mint' });
    expect(r2.ok ? '' : r2.detail).toContain(other.mint!);
    const inUsdc = await signVoucher(terms(usdc));
    expect(await checkVoucher(inUsdc.tx, expect1(SOL))).toMatchObject({ ok: false, reason: 'wrong-mint' });
    // and a SOL voucher still checks as before
    expect(await checkVoucher(inSol.tx, expect1(SOL))).toMatchObject({ ok: true, lamports: 40_000n });
  });
});
