// Payment vouchers between two real nodes on loopback and the real local ledger (default
// settings): a purchase pays with vouchers over the stream, the seller settles a handful of times
// (credit limit: one period, then 3 × what was settled), every lamport is accounted for, and the
// nonce account's rent comes back. Bad input: a voucher with a wrong amount cuts the stream with a
// recorded reason; a buyer that empties its account or advances its nonce makes the settlement
// fail with a specific reason, and nothing is paid twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
  type Instruction,
  type TransactionSigner,
} from '@solana/kit';
import { getAdvanceNonceAccountInstruction, getTransferSolInstruction } from '@solana-program/system';
import type { AxonNode } from '../../src-main/core/node';
import { isFinal } from '../../src-main/core/store/trades';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { openStream } from '../../src-main/core/market/stream-client';
import { submitAndConfirm } from '../../src-main/core/ledger/send';
import { signVoucher } from '../../src-main/core/ledger/voucher-tx';
import { addressToPeerId } from '../../src-main/core/identity/identity';
import { runCleanups, startLedger, startNode, waitFor } from './market-helpers';
import type { VoucherAck } from '../../src-main/core/market/frames';

const SOL = 1_000_000_000n;
const PER_MIN = 60_000n; // 2 000 lamports per 2 s period

let ledger: LocalLedger;
const cleanups: (() => Promise<void> | void)[] = [];
let seller: AxonNode;

async function buyerNode(airdrop = SOL): Promise<AxonNode> {
  const b = await startNode(ledger, { airdrop });
  cleanups.unshift(b.cleanup);
  return b.node;
}

/** Ledger transactions an address signed (fee payer) from `since` on. */
async function signedBy(node: AxonNode, addr: Address): Promise<string[]> {
  const sigs = await node.ledger.rpc.getSignaturesForAddress(addr, { commitment: 'confirmed', limit: 1000 }).send();
  const out: string[] = [];
  for (const s of sigs) {
    const tx = await node.ledger.rpc
      .getTransaction(s.signature, { commitment: 'confirmed', encoding: 'json', maxSupportedTransactionVersion: 0 })
      .send();
    if (tx && tx.transaction.message.accountKeys[0] === addr) out.push(s.signature);
  }
  return out;
}

async function send(node: AxonNode, ixs: (signer: TransactionSigner) => Instruction[]): Promise<void> {
  const signer = await node.identity.signer();
  const { value: bh } = await node.ledger.rpc.getLatestBlockhash().send();
  const tx = await signTransactionMessageWithSigners(
    pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(signer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(bh, m),
      (m) => appendTransactionMessageInstructions(ixs(signer), m),
    ),
  );
  await submitAndConfirm(node.ledger.rpc, getBase64EncodedWireTransaction(tx));
}

let listingId: string;

beforeAll(async () => {
  const l = await startLedger();
  ledger = l.ledger;
  cleanups.push(l.cleanup);
  const s = await startNode(ledger, { airdrop: SOL });
  cleanups.unshift(s.cleanup);
  seller = s.node;
  await seller.sell({ streamId: 'wx', title: 'Weather', source: { kind: 'weather' }, priceDirect: PER_MIN });
  listingId = `${seller.identity.address}:wx`;
}, 60_000);
afterAll(async () => runCleanups(cleanups), 60_000);

describe('payment vouchers', () => {
  it('a purchase pays by voucher in a handful of ledger transactions; the next one reuses the nonce account; every lamport accounted for', async () => {
    const buyer = await buyerNode();
    await waitFor(() => buyer.listing(listingId), 15_000, 'listing on the buyer');
    const sellerBefore = await seller.balance();
    const buyerBefore = await buyer.balance();
    const me = buyer.identity.address;
    const p = await buyer.buy(listingId, { minutes: 10 });
    // 10 periods of 2 s: vouched one by one
    await waitFor(() => (seller.sale(p.id)?.paidThrough ?? -1) >= 9, 40_000, 'ten periods vouched');
    const mid = seller.exposure('sale', p.id)!;
    expect(mid.settlements).toBeGreaterThanOrEqual(2); // at period 0 (credit: one period), at 3 (3 × 1)
    expect(mid.unsettled).toBeLessThanOrEqual(mid.creditLimit);
    await buyer.stop(p.id);
    // the stop travels on the stream: the seller ends the sale and settles at once; the buyer
    // keeps its nonce account for the next purchase once it sees that settlement
    await waitFor(
      () => seller.exposure('sale', p.id)!.unsettled === 0n && seller.sale(p.id)!.state === 'ended',
      15_000,
      'settled at the end',
    );
    expect(seller.sale(p.id)!.reason).toMatch(/buyer ended: stopped by the buyer/);
    await waitFor(() => released(buyer, p.id), 60_000, 'nonce account kept for the next purchase');
    const account = vouchers(buyer, p.id)!.nonceAccount;
    expect(buyer.nonceAccounts()).toMatchObject([{ address: account, inUseBy: null, closedAt: null }]);

    const sale = seller.sale(p.id)!;
    const purchase = buyer.purchase(p.id)!;
    const periods = BigInt(sale.paidThrough + 1);
    expect(purchase.spent).toBe(periods * 2000n);
    expect(sale.earned).toBe(purchase.spent);
    const ex = seller.exposure('sale', p.id)!;
    expect(ex.settled).toBe(purchase.spent);
    // settlements: 0, 3, then the end (credit 12 periods > the rest)
    expect(ex.settlements).toBe(3);
    // ledger transactions the buyer paid for, read from the ledger: the request, the nonce
    // account, 3 settlements — no stop (it went on the stream) and no close (the account is kept)
    const first = await signedBy(buyer, me);
    expect(first.length).toBe(5);

    // the second purchase: no new nonce account, and the seller's credit grew with what this buyer
    // settled (3 × 10 periods): one settlement, at the end — 2 transactions
    const q = await buyer.buy(listingId, { minutes: 10 });
    await waitFor(() => (seller.sale(q.id)?.paidThrough ?? -1) >= 4, 30_000, 'five periods vouched');
    expect(vouchers(buyer, q.id)!.nonceAccount).toBe(account);
    expect(seller.exposure('sale', q.id)!.settlements).toBe(0);
    await buyer.stop(q.id);
    await waitFor(() => released(buyer, q.id), 60_000, 'nonce account kept again');
    const second = (await signedBy(buyer, me)).length - first.length;
    expect(second).toBe(2);
    // the seller books its settlement once its confirmation comes back (the buyer may see the nonce move first)
    await waitFor(() => seller.exposure('sale', q.id)!.settlements >= 1, 15_000, 'the seller booked its settlement');
    expect(seller.exposure('sale', q.id)!.settlements).toBe(1);

    // the user closes the kept account: its rent comes back (one transaction, booked on the last purchase)
    expect(await buyer.closeNonceAccounts()).toBe(1);
    expect(buyer.nonceAccounts()).toEqual([]);
    expect(await buyer.ledger.rpc.getBalance(account as Address).send()).toMatchObject({ value: 0n });

    // money: the seller got exactly what was vouched; the buyer paid that plus the fees it booked
    // plus the two requests; the nonce account's rent came back
    const q1 = buyer.purchase(q.id)!;
    const sellerAfter = await seller.balance();
    const buyerAfter = await buyer.balance();
    const feeMsg = await buyer.estimateFee(false);
    const spent = purchase.spent + q1.spent;
    expect(sellerAfter - sellerBefore + 10n * feeMsg >= spent).toBe(true); // its accepts (and a listing re-post)
    expect(sellerAfter - sellerBefore <= spent).toBe(true);
    expect(buyerBefore - buyerAfter).toBe(spent + purchase.fees + q1.fees + 2n * feeMsg);
    // one settlement recorded per landed voucher on each side, none twice
    for (const id of [p.id, q.id]) {
      const ins = seller.payments(id).filter((x) => x.state === 'verified');
      expect(ins.map((x) => x.lamports).reduce((a, b) => a + b, 0n)).toBe(buyer.purchase(id)!.spent);
      expect(new Set(ins.map((x) => x.signature)).size).toBe(ins.length);
    }
  }, 200_000);

  it('a replayed voucher is refused; one with a wrong amount is refused with its reason and cuts the stream', async () => {
    const buyer = await buyerNode();
    await waitFor(() => buyer.listing(listingId), 15_000, 'listing on the buyer');
    const p = await buyer.buy(listingId, { minutes: 10 });
    await waitFor(() => (seller.sale(p.id)?.paidThrough ?? -1) >= 1, 30_000, 'two periods vouched');
    const v = await waitFor(() => vouchers(buyer, p.id), 5000, 'voucher row');
    // a second stream of the same buyer (same PeerId, so the ticket is its own) sends a voucher
    // for the next period that pays one lamport less than owed
    const session = await openStream(buyer.net.libp2p, addressToPeerId(seller.identity.address), {
      requestId: p.id,
      streamId: 'wx',
    });
    const acks: VoucherAck[] = [];
    session.on('voucher-ack', (a) => acks.push(a));
    const signer = await buyer.identity.signer();
    const voucherFor = async (period: number, lamports: bigint) => {
      const row = vouchers(buyer, p.id)!;
      return signVoucher({
        buyer: signer,
        nonceAccount: row.nonceAccount as Address,
        nonceValue: row.nonceValue,
        requestId: p.id,
        period,
        asset: { kind: 'sol' },
        transfers: [{ to: seller.identity.address, lamports }],
        expiresAt: Math.floor(Date.now() / 1000) + 600,
      });
    };
    // a replayed (superseded) period is refused with its reason, and the stream goes on
    const done = seller.sale(p.id)!.paidThrough;
    const old = await voucherFor(done, 2000n * BigInt(done - v.settledThrough));
    session.sendVoucher({ t: 'voucher', period: done, nonceAccount: v.nonceAccount, tx: old.tx });
    await waitFor(() => acks.length === 1, 5000, 'the answer to the replay');
    expect(acks[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/^superseded: /) });
    expect(isFinal(seller.sale(p.id)!.state)).toBe(false);
    // the next period, one lamport short (signed and sent at once, before the buyer's own)
    const next = seller.sale(p.id)!.paidThrough + 1;
    const owed = 2000n * BigInt(next - vouchers(buyer, p.id)!.settledThrough);
    const bad = await voucherFor(next, owed - 1n);
    session.sendVoucher({ t: 'voucher', period: next, nonceAccount: v.nonceAccount, tx: bad.tx });
    await waitFor(() => acks.length === 2, 5000, 'the answer to the bad voucher');
    const a = acks[1]!;
    expect(a.ok).toBe(false);
    expect(a.reason).toMatch(/^wrong-amount: pays \d+ lamports/);
    await waitFor(() => seller.sale(p.id)!.state === 'failed', 10_000, 'sale cut');
    expect(seller.sale(p.id)!.reason).toMatch(/voucher refused: wrong-amount/);
    expect(
      seller.payments(p.id).some((x) => x.state === 'refused' && /voucher wrong-amount/.test(x.reason ?? '')),
    ).toBe(true);
    // what was vouched before is still settled (at the end), once
    await waitFor(() => seller.exposure('sale', p.id)!.unsettled === 0n, 15_000, 'settled');
    expect(seller.exposure('sale', p.id)!.settled).toBe(2000n * BigInt(seller.sale(p.id)!.paidThrough + 1));
    await buyer.stop(p.id);
  }, 90_000);

  it('a buyer that empties its account: the seller settles at once, the failure is recorded, the stream cut', async () => {
    const buyer = await buyerNode(SOL / 10n);
    await waitFor(() => buyer.listing(listingId), 15_000, 'listing on the buyer');
    const p = await buyer.buy(listingId, { minutes: 10 });
    // after the first settlement (period 0), vouchers for 1.. stay unsettled up to the credit
    await waitFor(
      () => (seller.sale(p.id)?.paidThrough ?? -1) >= 1 && seller.exposure('sale', p.id)!.unsettled > 0n,
      30_000,
      'an unsettled voucher',
    );
    const sink = (await (await import('@solana/kit')).generateKeyPairSigner()).address;
    const bal = await buyer.balance();
    // everything but the fee of this transfer goes away (the System account is emptied)
    await send(buyer, (signer) => [
      getTransferSolInstruction({ source: signer, destination: sink, amount: bal - 5000n }),
    ]);
    await waitFor(() => seller.sale(p.id)!.state === 'failed', 15_000, 'sale cut');
    expect(seller.sale(p.id)!.reason).toMatch(/settlement failed: the buyer emptied its account/);
    expect(seller.payments(p.id).some((x) => x.state === 'refused' && /emptied its account/.test(x.reason ?? ''))).toBe(
      true,
    );
    await buyer.stop(p.id);
  }, 90_000);

  it('a nonce advanced by the buyer behind the seller’s back: the settlement fails with that reason', async () => {
    const buyer = await buyerNode();
    await waitFor(() => buyer.listing(listingId), 15_000, 'listing on the buyer');
    const p = await buyer.buy(listingId, { minutes: 10 });
    await waitFor(
      () => (seller.sale(p.id)?.paidThrough ?? -1) >= 1 && seller.exposure('sale', p.id)!.unsettled > 0n,
      30_000,
      'an unsettled voucher',
    );
    const v = vouchers(buyer, p.id)!;
    await send(buyer, (signer) => [
      getAdvanceNonceAccountInstruction({ nonceAccount: v.nonceAccount as Address, nonceAuthority: signer }),
    ]);
    const earnedBefore = seller.exposure('sale', p.id)!.settled;
    await buyer.stop(p.id); // the end triggers the settlement, which cannot land now
    await waitFor(
      () => seller.payments(p.id).find((x) => x.state === 'refused' && /settlement failed/.test(x.reason ?? '')),
      15_000,
      'settlement failed',
    );
    expect(seller.voucher(p.id, 'in')!.reason).toBe('settlement failed: the buyer advanced its nonce behind our back');
    expect(isFinal(seller.sale(p.id)!.state)).toBe(true);
    expect(seller.exposure('sale', p.id)!.settled).toBe(earnedBefore);
  }, 90_000);
});

function vouchers(node: AxonNode, id: string) {
  return node.voucher(id, 'out');
}

/** The purchase is done with its nonce account (kept for the next purchase, or closed). */
function released(node: AxonNode, id: string): boolean {
  return vouchers(node, id)?.closedAt != null;
}
