// Durable-nonce vouchers on the real local ledger: a nonce account, cumulative vouchers of which
// only one can land, local checks that refuse a wrong signer, nonce, amount, request or period,
// and a settlement that fails once the buyer advanced its nonce or emptied its account.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSigner, type Address, type KeyPairSigner } from '@solana/kit';
import { closeNonceAccount, createNonceAccount, readNonce } from '../../src-main/core/ledger/nonce';
import { submitAndConfirm, TxFailedError } from '../../src-main/core/ledger/send';
import { checkVoucher, signVoucher, type VoucherExpectation } from '../../src-main/core/ledger/voucher-tx';
import { getAdvanceNonceAccountInstruction } from '@solana-program/system';
import { SOL, airdrop, startTestLedger, type TestLedger } from './local-ledger-helpers';
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  setTransactionMessageLifetimeUsingDurableNonce,
  signTransactionMessageWithSigners,
  type Nonce,
} from '@solana/kit';
import { getTransferCheckedInstruction } from '@solana-program/token';
import type { LedgerRpc } from '../../src-main/core/ledger/rpc';

let L: TestLedger;
let buyer: KeyPairSigner;
let seller: Address;
let rpc: LedgerRpc;

beforeAll(async () => {
  L = await startTestLedger({ dirPrefix: 'axon-vouchers-', payerLamports: 10n * SOL });
  buyer = L.payer;
  seller = (await generateKeyPairSigner()).address;
  await airdrop(L.rpc, L.subs, seller, SOL); // a seller account exists (rent-exempt) before it is paid
  rpc = L.rpc as unknown as LedgerRpc;
}, 30_000);
afterAll(async () => L?.close());

const balance = async (a: Address): Promise<bigint> => BigInt((await L.rpc.getBalance(a).send()).value);

async function voucher(nonce: { account: Address; value: string }, period: number, lamports: bigint, req = 'req-1') {
  return signVoucher({
    buyer,
    nonceAccount: nonce.account,
    nonceValue: nonce.value,
    requestId: req,
    period,
    asset: { kind: 'sol' },
    transfers: [{ to: seller, lamports }],
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
  });
}

describe('durable-nonce vouchers', () => {
  it('only one voucher of a nonce value lands; it pays exactly what it says, once', async () => {
    const n = await createNonceAccount(rpc, buyer);
    expect(n.state.authority).toBe(buyer.address);
    const nonce = { account: n.account, value: n.state.value };
    const v0 = await voucher(nonce, 0, 1000n);
    const v1 = await voucher(nonce, 1, 2000n);
    const exp: VoucherExpectation = {
      buyer: buyer.address,
      nonceAccount: n.account,
      nonceValue: n.state.value,
      requestId: 'req-1',
      period: 1,
      transfers: [{ to: seller, lamports: 2000n }],
    };
    expect(await checkVoucher(v1.tx, exp)).toMatchObject({ ok: true, lamports: 2000n, signature: v1.signature });
    // the seller's local checks
    expect(await checkVoucher(v0.tx, exp)).toMatchObject({ ok: false, reason: 'wrong-period' });
    expect(await checkVoucher(v1.tx, { ...exp, transfers: [{ to: seller, lamports: 3000n }] })).toMatchObject({
      ok: false,
      reason: 'wrong-amount',
    });
    expect(await checkVoucher(v1.tx, { ...exp, nonceValue: '11111111111111111111111111111111' })).toMatchObject({
      ok: false,
      reason: 'wrong-nonce',
    });
    expect(await checkVoucher(v1.tx, { ...exp, requestId: 'req-2' })).toMatchObject({
      ok: false,
      reason: 'wrong-request',
    });
    const other = await generateKeyPairSigner();
    expect(await checkVoucher(v1.tx, { ...exp, buyer: other.address })).toMatchObject({
      ok: false,
      reason: 'wrong-signer',
    });
    // a tampered amount breaks the buyer's signature
    const bytes = Buffer.from(v1.tx, 'base64');
    const at = bytes.indexOf(Buffer.from(new BigUint64Array([2000n]).buffer));
    bytes.writeBigUInt64LE(9_000_000n, at);
    expect(await checkVoucher(bytes.toString('base64'), exp)).toMatchObject({ ok: false, reason: 'bad-signature' });

    const before = await balance(seller).catch(() => 0n);
    await submitAndConfirm(rpc, v1.tx);
    expect((await balance(seller)) - before).toBe(2000n);
    // the superseded voucher of the same nonce can never land now
    await expect(submitAndConfirm(rpc, v0.tx)).rejects.toBeInstanceOf(TxFailedError);
    expect((await balance(seller)) - before).toBe(2000n);
    const after = await readNonce(rpc, n.account);
    expect(after?.value).not.toBe(n.state.value);
    // the next voucher against the new value lands too
    const v2 = await voucher({ account: n.account, value: after!.value }, 2, 1000n);
    await submitAndConfirm(rpc, v2.tx);
    expect((await balance(seller)) - before).toBe(3000n);
    // close: the rent comes back to the buyer
    const b0 = await balance(buyer.address);
    await closeNonceAccount(rpc, buyer, n.account, n.rent);
    expect((await balance(buyer.address)) - b0).toBe(n.rent - 5000n);
    expect(await readNonce(rpc, n.account)).toBeNull();
  }, 60_000);

  it('a voucher paying in a token (another mint) is refused locally as wrong-mint', async () => {
    const n = await createNonceAccount(rpc, buyer);
    const [src, dst, mint] = await Promise.all([1, 2, 3].map(() => generateKeyPairSigner()));
    const tx = await signTransactionMessageWithSigners(
      pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(buyer, m),
        (m) =>
          setTransactionMessageLifetimeUsingDurableNonce(
            { nonce: n.state.value as Nonce, nonceAccountAddress: n.account, nonceAuthorityAddress: buyer.address },
            m,
          ),
        (m) =>
          appendTransactionMessageInstructions(
            [
              getTransferCheckedInstruction({
                source: src!.address,
                mint: mint!.address,
                destination: dst!.address,
                authority: buyer,
                amount: 1000n,
                decimals: 6,
              }),
            ],
            m,
          ),
      ),
    );
    const r = await checkVoucher(getBase64EncodedWireTransaction(tx), {
      buyer: buyer.address,
      nonceAccount: n.account,
      nonceValue: n.state.value,
      requestId: 'req-1',
      period: 0,
      transfers: [{ to: seller, lamports: 1000n }],
    });
    expect(r).toMatchObject({ ok: false, reason: 'wrong-mint' });
  }, 30_000);

  it('a nonce advanced by the buyer, or an emptied account, makes the settlement fail (nothing paid)', async () => {
    const n = await createNonceAccount(rpc, buyer);
    const v = await voucher({ account: n.account, value: n.state.value }, 0, 1000n);
    // the buyer advances its nonce behind the seller's back
    const { value: bh } = await L.rpc.getLatestBlockhash().send();
    const adv = await signTransactionMessageWithSigners(
      pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(buyer, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(bh, m),
        (m) =>
          appendTransactionMessageInstructions(
            [getAdvanceNonceAccountInstruction({ nonceAccount: n.account, nonceAuthority: buyer })],
            m,
          ),
      ),
    );
    await submitAndConfirm(rpc, getBase64EncodedWireTransaction(adv));
    const before = await balance(seller).catch(() => 0n);
    await expect(submitAndConfirm(rpc, v.tx)).rejects.toBeInstanceOf(TxFailedError);
    expect(await balance(seller).catch(() => 0n)).toBe(before);

    // a poor buyer: a voucher for more than it holds fails at settlement
    const poor = await generateKeyPairSigner();
    await airdrop(L.rpc, L.subs, poor.address, SOL / 100n);
    const m = await createNonceAccount(rpc, poor);
    const big = await signVoucher({
      buyer: poor,
      nonceAccount: m.account,
      nonceValue: m.state.value,
      requestId: 'req-9',
      period: 0,
      asset: { kind: 'sol' },
      transfers: [{ to: seller, lamports: SOL }],
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    });
    await expect(submitAndConfirm(rpc, big.tx)).rejects.toBeInstanceOf(TxFailedError);
    expect(await balance(seller).catch(() => 0n)).toBe(before);
  }, 60_000);
});
