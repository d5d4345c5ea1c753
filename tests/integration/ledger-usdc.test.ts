// USDC on the real local ledger: the USDC-like mint exists at start, the token faucet mints to a
// wallet (its token account created, rent paid by the faucet), a payment in USDC is a
// TransferChecked into the seller's token account (created by the first payment, the rent shown
// first) that the seller verifies (mint and amount), and a payment in another mint or in SOL is
// refused as 'wrong-mint'. Balances are exact, in base units, for both assets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { generateKeyPairSigner, type Address } from '@solana/kit';
import { getCreateAccountInstruction, getTransferSolInstruction } from '@solana-program/system';
import {
  getInitializeMint2Instruction,
  getMintSize,
  getMintToCheckedInstruction,
  getCreateAssociatedTokenIdempotentInstruction,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from '@solana-program/token';
import { Identity } from '../../src-main/core/identity/identity';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { encodeEnvelope } from '../../src-main/core/ledger/envelope';
import { memoInstruction } from '../../src-main/core/ledger/transactions';
import {
  ataOf,
  LOCAL_USDC_MINT,
  SOL,
  TOKEN_2022_PROGRAM_ADDRESS,
  type Asset,
  type TokenAsset,
} from '../../src-main/core/ledger/assets';
import type { PaymentExpectation } from '../../src-main/core/ledger/types';
import { getPayment } from '../../src-main/core/store/payments';
import { inProcessLedger, payment, sendInstructions, tempDir, testClient, type TestClient } from './ledger-helpers';

let tmp: ReturnType<typeof tempDir>;
let ledger: LocalLedger;
const buyer = Identity.generate();
const seller = Identity.generate();
let b: TestClient;
let s: TestClient;
let usdc: TokenAsset;
let sellerStdin: Address;

const PRICE = 250_000n; // 0.25 USDC
const exp = (over: Partial<PaymentExpectation> = {}): PaymentExpectation => ({
  payer: buyer.address,
  recipient: seller.address,
  lamports: PRICE,
  requestId: 'req-usdc',
  period: 0,
  asset: usdc,
  ...over,
});

beforeAll(async () => {
  tmp = tempDir('axon-ledger-usdc-');
  ledger = await inProcessLedger(tmp.dir);
  b = testClient(buyer, ledger, join(tmp.dir, 'buyer.db'));
  s = testClient(seller, ledger, join(tmp.dir, 'seller.db'));
  await Promise.all([b.client.airdrop(2_000_000_000n), s.client.airdrop(1_000_000_000n)]);
  sellerStdin = await s.client.stdinTopic(seller.address);
  usdc = (await b.client.usdc()) as TokenAsset;
});
afterAll(async () => {
  await Promise.all([b?.close(), s?.close()]);
  await ledger?.close();
  tmp?.cleanup();
});

describe('USDC on the local ledger', () => {
  it('has a USDC-like mint (6 decimals) at the known local address', async () => {
    expect(usdc).toEqual({ kind: 'spl', symbol: 'USDC', decimals: 6, mint: LOCAL_USDC_MINT });
    expect(await b.client.assetByName('usdc')).toEqual(usdc);
    expect(await b.client.assetByName('SOL')).toEqual(SOL);
    // resolved from the chain like any mint, the decimals agree
    const { value } = await b.client.rpc.getAccountInfo(LOCAL_USDC_MINT, { encoding: 'base64' }).send();
    expect(value?.owner).toBe(TOKEN_PROGRAM_ADDRESS);
  });

  it('the token faucet mints exact base units; the faucet pays the token account rent', async () => {
    const solBefore = await b.client.balance();
    expect(await b.client.balanceOf(usdc)).toBe(0n);
    expect(await b.client.tokenAccountMissing(usdc, buyer.address)).toBe(true);
    await b.client.tokenFaucet(usdc, 10_000_000n); // 10 USDC
    expect(await b.client.balanceOf(usdc)).toBe(10_000_000n);
    expect(await b.client.tokenAccountMissing(usdc, buyer.address)).toBe(false);
    expect(await b.client.balance()).toBe(solBefore);
    await b.client.tokenFaucet(usdc, 1n);
    expect(await b.client.balanceOf(usdc)).toBe(10_000_001n);
  });

  it('refuses a token airdrop over the faucet limit with a clear error', async () => {
    await expect(b.client.tokenFaucet(usdc, 10n ** 13n)).rejects.toThrow(/limit/);
  });

  it('a USDC payment creates the seller token account (rent shown first), is verified once, balances exact', async () => {
    const rent = await b.client.tokenAccountRent();
    expect(rent).toBeGreaterThan(0n);
    expect(await b.client.tokenAccountMissing(usdc, seller.address)).toBe(true);
    const fee = await b.client.estimateFee(true);
    const [solB, solS, tokB] = await Promise.all([b.client.balance(), s.client.balance(), b.client.balanceOf(usdc)]);

    const paid = await b.client.post(sellerStdin, payment('req-usdc', 0), {
      transfer: { to: seller.address, lamports: PRICE, asset: usdc, createRecipientAccount: true },
    });
    expect(await b.client.balanceOf(usdc)).toBe(tokB - PRICE);
    expect(await s.client.balanceOf(usdc)).toBe(PRICE);
    expect(await b.client.balance()).toBe(solB - fee - rent); // the fee and the shown rent, nothing else
    expect(await s.client.balance()).toBe(solS);

    const ok = await s.client.verifyPayment(paid.signature, exp());
    expect(ok).toEqual({ ok: true, slot: paid.slot, lamports: PRICE });
    expect(getPayment(s.db, paid.signature)).toMatchObject({ state: 'verified', lamports: PRICE });
    expect(await s.client.verifyPayment(paid.signature, exp({ period: 1 }))).toMatchObject({ reason: 'replayed' });

    // next period: the account exists, no rent again
    const solB2 = await b.client.balance();
    await b.client.post(sellerStdin, payment('req-usdc', 1), {
      transfer: { to: seller.address, lamports: PRICE, asset: usdc },
    });
    expect(await b.client.balance()).toBe(solB2 - fee);
    expect(await s.client.balanceOf(usdc)).toBe(2n * PRICE);
  });

  it('an underpaid USDC payment is refused with the amount in base units', async () => {
    const paid = await b.client.post(sellerStdin, payment('req-usdc', 2), {
      transfer: { to: seller.address, lamports: PRICE - 1n, asset: usdc },
    });
    const v = await s.client.verifyPayment(paid.signature, exp({ period: 2 }));
    expect(v).toMatchObject({ ok: false, reason: 'underpaid' });
    expect(v.ok ? '' : v.detail).toContain(`paid ${PRICE - 1n} base units of USDC`);
  });

  it('a payment in SOL for a USDC purchase is refused as wrong-mint', async () => {
    const paid = await b.client.post(sellerStdin, payment('req-usdc', 3), {
      transfer: { to: seller.address, lamports: PRICE },
    });
    const v = await s.client.verifyPayment(paid.signature, exp({ period: 3 }));
    expect(v).toMatchObject({ ok: false, reason: 'wrong-mint' });
    expect(v.ok ? '' : v.detail).toMatch(/paid in SOL, expected USDC/);
  });

  it('a payment in another mint is refused as wrong-mint (also for a SOL purchase)', async () => {
    // the buyer makes its own 6-decimal token, mints itself some and pays the seller with it
    const signer = await buyer.signer();
    const mint = await generateKeyPairSigner();
    const space = BigInt(getMintSize());
    const rent = BigInt(await b.client.rpc.getMinimumBalanceForRentExemption(space).send());
    const fake: Asset = { kind: 'spl', symbol: 'FAKE', decimals: 6, mint: mint.address };
    const buyerAta = await ataOf(buyer.address, mint.address);
    const created = await sendInstructions(b.client.rpc, signer, [
      getCreateAccountInstruction({
        payer: signer,
        newAccount: mint,
        lamports: rent,
        space,
        programAddress: TOKEN_PROGRAM_ADDRESS,
      }),
      getInitializeMint2Instruction({ mint: mint.address, decimals: 6, mintAuthority: buyer.address }),
      getCreateAssociatedTokenIdempotentInstruction({
        payer: signer,
        ata: buyerAta,
        owner: buyer.address,
        mint: mint.address,
      }),
      getMintToCheckedInstruction({
        mint: mint.address,
        token: buyerAta,
        mintAuthority: signer,
        amount: 1_000_000n,
        decimals: 6,
      }),
    ]);
    expect(created.err).toBeNull();

    const paid = await b.client.post(sellerStdin, payment('req-usdc', 4), {
      transfer: { to: seller.address, lamports: PRICE, asset: fake, createRecipientAccount: true },
    });
    expect(await s.client.balanceOf(fake)).toBe(PRICE);
    const v = await s.client.verifyPayment(paid.signature, exp({ period: 4 }));
    expect(v).toMatchObject({ ok: false, reason: 'wrong-mint' });
    expect(v.ok ? '' : v.detail).toContain(mint.address);
    expect(getPayment(s.db, paid.signature)).toMatchObject({ state: 'refused' });

    // the same kind of payment for a purchase priced in SOL
    const sellerAta = await ataOf(seller.address, mint.address);
    const { signature } = await sendInstructions(b.client.rpc, signer, [
      getTransferCheckedInstruction({
        source: buyerAta,
        mint: mint.address,
        destination: sellerAta,
        authority: signer,
        amount: 5_000n,
        decimals: 6,
      }),
      memoInstruction(sellerStdin, encodeEnvelope(payment('req-usdc', 5))),
    ]);
    const vs = await s.client.verifyPayment(signature, exp({ period: 5, asset: SOL, lamports: 5_000n }));
    expect(vs).toMatchObject({ ok: false, reason: 'wrong-mint' });
  });

  it('a Token-2022 mint is refused with the reason; the classic USDC mint still resolves', async () => {
    const signer = await buyer.signer();
    // an account of the Token-2022 program (what a sell --asset or a listing could name)
    const t22 = await generateKeyPairSigner();
    const space = BigInt(getMintSize());
    const rent = BigInt(await b.client.rpc.getMinimumBalanceForRentExemption(space).send());
    await sendInstructions(b.client.rpc, signer, [
      getCreateAccountInstruction({
        payer: signer,
        newAccount: t22,
        lamports: rent,
        space,
        programAddress: TOKEN_2022_PROGRAM_ADDRESS,
      }),
    ]);
    await expect(b.client.asset(t22.address)).rejects.toThrow(/Token-2022 mint.*not accepted/);
    await expect(b.client.assetByName(t22.address)).rejects.toThrow(/Token-2022/);
    // an account of another program is no mint at all
    await expect(b.client.asset(buyer.address)).rejects.toThrow(/no SPL token mint/);
    // the classic USDC mint resolves as before
    expect((await b.client.asset(LOCAL_USDC_MINT)).mint).toBe(LOCAL_USDC_MINT);
  });

  it('a SOL payment still verifies as before (default asset)', async () => {
    const signer = await buyer.signer();
    const { signature } = await sendInstructions(b.client.rpc, signer, [
      getTransferSolInstruction({ source: signer, destination: seller.address, amount: 7_000n }),
      memoInstruction(sellerStdin, encodeEnvelope(payment('req-sol', 0))),
    ]);
    const v = await s.client.verifyPayment(signature, {
      payer: buyer.address,
      recipient: seller.address,
      lamports: 7_000n,
      requestId: 'req-sol',
      period: 0,
    });
    expect(v).toMatchObject({ ok: true, lamports: 7_000n });
  });
});
