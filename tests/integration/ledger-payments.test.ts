// Pay-as-you-go payments on the real local ledger: ONE transaction with a System transfer and a
// Payment memo; the seller's check accepts it once and refuses every bad variant with its reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Identity } from '../../src-main/core/identity/identity';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { getPayment, listPayments } from '../../src-main/core/store/payments';
import type { Address } from '@solana/kit';
import type { PaymentExpectation } from '../../src-main/core/ledger/types';
import { getTransferSolInstruction } from '@solana-program/system';
import { encodeEnvelope } from '../../src-main/core/ledger/envelope';
import { memoInstruction } from '../../src-main/core/ledger/transactions';
import {
  inProcessLedger,
  payment,
  sendInstructions,
  stop,
  tempDir,
  testClient,
  type TestClient,
} from './ledger-helpers';

/** One transaction from the buyer: these transfers (to, lamports) and a Payment memo on the seller's stdin. */
async function payWithTransfers(period: number, transfers: [Address, bigint][]): Promise<string> {
  const signer = await buyer.signer();
  const { signature } = await sendInstructions(
    b.client.rpc,
    signer,
    [
      ...transfers.map(([to, amount]) => getTransferSolInstruction({ source: signer, destination: to, amount })),
      memoInstruction(sellerStdin, encodeEnvelope(payment('req-pay', period))),
    ],
    { pollMs: 50, what: 'payment' },
  );
  return signature;
}

let tmp: ReturnType<typeof tempDir>;
let ledger: LocalLedger;
const buyer = Identity.generate();
const seller = Identity.generate();
const stranger = Identity.generate();
let b: TestClient; // buyer
let s: TestClient; // seller
let x: TestClient; // stranger
let sellerStdin: Address;

const PRICE = 25_000n;
const expect0 = (over: Partial<PaymentExpectation> = {}): PaymentExpectation => ({
  payer: buyer.address,
  recipient: seller.address,
  lamports: PRICE,
  requestId: 'req-pay',
  period: 0,
  ...over,
});

beforeAll(async () => {
  tmp = tempDir('axon-ledger-pay-');
  ledger = await inProcessLedger(tmp.dir);
  b = testClient(buyer, ledger, join(tmp.dir, 'buyer.db'));
  s = testClient(seller, ledger, join(tmp.dir, 'seller.db'));
  x = testClient(stranger, ledger, join(tmp.dir, 'stranger.db'));
  // Recipients must hold the rent-exempt minimum before a small transfer can land (as on Solana).
  await Promise.all([
    b.client.airdrop(5_000_000_000n),
    s.client.airdrop(1_000_000_000n),
    x.client.airdrop(1_000_000_000n),
  ]);
  sellerStdin = await s.client.stdinTopic(seller.address);
});
afterAll(async () => {
  await Promise.all([b?.close(), s?.close(), x?.close()]);
  await ledger?.close();
  tmp?.cleanup();
});

describe('payments', () => {
  it('a transfer+memo transaction pays the seller and is verified once; its replay is refused', async () => {
    const sellerBefore = await s.client.balance();
    const paid = await b.client.post(sellerStdin, payment('req-pay', 0), {
      transfer: { to: seller.address, lamports: PRICE },
    });
    expect(await s.client.balance()).toBe(sellerBefore + PRICE);

    const ok = await s.client.verifyPayment(paid.signature, expect0());
    expect(ok).toEqual({ ok: true, slot: paid.slot, lamports: PRICE });
    expect(getPayment(s.db, paid.signature)).toMatchObject({
      state: 'verified',
      lamports: PRICE,
      period: 0,
      direction: 'in',
    });

    // The same signature again, even presented as the payment of the next period: refused.
    const again = await s.client.verifyPayment(paid.signature, expect0({ period: 1 }));
    expect(again).toMatchObject({ ok: false, reason: 'replayed' });
    const twice = await s.client.verifyPayment(paid.signature, expect0());
    expect(twice).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('the watcher sees the payment memo (its money is for verifyPayment alone)', async () => {
    const seen: unknown[] = [];
    const signal = AbortSignal.timeout(20_000); // fails the test instead of hanging
    const iter = s.client.watch(sellerStdin, { signal, cursor: 'pay-watch', fromNow: true });
    const paid = await b.client.post(sellerStdin, payment('req-pay', 7), {
      transfer: { to: seller.address, lamports: 1_234n },
    });
    for await (const r of iter) {
      seen.push(r);
      if (r.signature === paid.signature) {
        expect(r.message).toMatchObject({ type: 'Payment', requestId: 'req-pay', period: 7 });
        break;
      }
    }
    expect(signal.aborted).toBe(false);
    expect(seen.length).toBeGreaterThan(0);
  });

  it('several transfers in one payment: only those payer → seller count, booked exactly', async () => {
    // a big transfer to the payer itself and one to a stranger never count; two halves to the seller do
    const split = await payWithTransfers(5, [
      [buyer.address, 1_000_000_000n],
      [seller.address, PRICE / 2n],
      [stranger.address, 2_000_000n],
      [seller.address, PRICE - PRICE / 2n],
    ]);
    const v = await s.client.verifyPayment(split, expect0({ period: 5 }));
    expect(v).toMatchObject({ ok: true, lamports: PRICE });
    expect(getPayment(s.db, split)).toMatchObject({ state: 'verified', lamports: PRICE });
    // money to others does not make up for too little to the seller
    const short = await payWithTransfers(6, [
      [buyer.address, 1_000_000_000n],
      [seller.address, PRICE - 1n],
      [stranger.address, PRICE],
    ]);
    expect(await s.client.verifyPayment(short, expect0({ period: 6 }))).toMatchObject({
      ok: false,
      reason: 'underpaid',
    });
  });

  it('an underpaid payment is refused', async () => {
    const paid = await b.client.post(sellerStdin, payment('req-pay', 1), {
      transfer: { to: seller.address, lamports: PRICE - 1n },
    });
    const v = await s.client.verifyPayment(paid.signature, expect0({ period: 1 }));
    expect(v).toMatchObject({ ok: false, reason: 'underpaid' });
    expect(getPayment(s.db, paid.signature)).toMatchObject({ state: 'refused' });
  });

  it('an expired payment is refused', async () => {
    const past = Math.floor(Date.now() / 1000) - 30;
    const paid = await b.client.post(sellerStdin, payment('req-pay', 2, past), {
      transfer: { to: seller.address, lamports: PRICE },
    });
    const v = await s.client.verifyPayment(paid.signature, expect0({ period: 2 }));
    expect(v).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('a payment to the wrong recipient is refused', async () => {
    // Memo on the seller's stdin, money to someone else.
    const paid = await b.client.post(sellerStdin, payment('req-pay', 3), {
      transfer: { to: stranger.address, lamports: PRICE },
    });
    const v = await s.client.verifyPayment(paid.signature, expect0({ period: 3 }));
    expect(v).toMatchObject({ ok: false, reason: 'wrong-recipient' });
  });

  it('a payment from someone else, for another request or period, or without a Payment memo is refused', async () => {
    const byStranger = await x.client.post(sellerStdin, payment('req-pay', 4), {
      transfer: { to: seller.address, lamports: PRICE },
    });
    expect(await s.client.verifyPayment(byStranger.signature, expect0({ period: 4 }))).toMatchObject({
      ok: false,
      reason: 'wrong-payer',
    });

    const otherReq = await b.client.post(sellerStdin, payment('req-other', 4), {
      transfer: { to: seller.address, lamports: PRICE },
    });
    expect(await s.client.verifyPayment(otherReq.signature, expect0({ period: 4 }))).toMatchObject({
      ok: false,
      reason: 'wrong-request',
    });

    const otherPeriod = await b.client.post(sellerStdin, payment('req-pay', 9), {
      transfer: { to: seller.address, lamports: PRICE },
    });
    expect(await s.client.verifyPayment(otherPeriod.signature, expect0({ period: 4 }))).toMatchObject({
      ok: false,
      reason: 'wrong-period',
    });

    const noMemo = await b.client.post(sellerStdin, stop('not a payment'), {
      transfer: { to: seller.address, lamports: PRICE },
    });
    expect(await s.client.verifyPayment(noMemo.signature, expect0({ period: 4 }))).toMatchObject({
      ok: false,
      reason: 'malformed',
    });

    // A signature that never landed, and garbage.
    const unknownSig = '5'.repeat(88);
    expect(await s.client.verifyPayment(unknownSig, expect0())).toMatchObject({ ok: false, reason: 'not-found' });
    expect(await s.client.verifyPayment('not-a-signature', expect0())).toMatchObject({
      ok: false,
      reason: 'malformed',
    });

    // A refused payment for the wrong period is still good for the right one (once).
    expect(await s.client.verifyPayment(otherPeriod.signature, expect0({ period: 9 }))).toMatchObject({ ok: true });
    const verified = listPayments(s.db, { direction: 'in' }).filter((p) => p.state === 'verified');
    expect(verified.map((p) => p.period).sort()).toEqual([0, 5, 9]);
  });
});
