// Fees that land: the local ledger answers getRecentPrioritizationFees and simulateTransaction
// like a cluster and charges the priority fee it reports; every post carries a compute-unit limit
// from simulation and a price from recent fees, capped by the policy; a transaction that never
// landed is replaced (new blockhash, higher price, within the fee the cap leaves) only once its
// blockhash expired, and a
// transaction that landed while its answer was lost is never paid a second time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingDurableNonce,
  signTransactionMessageWithSigners,
  type Nonce,
  getBase58Decoder,
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  lamports,
  type Address,
  type Signature,
  type V0CompiledTransactionMessage,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { Identity } from '../../src-main/core/identity/identity';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import {
  COMPUTE_BUDGET_PROGRAM,
  MAX_COMPUTE_UNITS,
  setComputeUnitLimitInstruction,
  setComputeUnitPriceInstruction,
} from '../../src-main/core/ledger/transactions';
import { createNonceAccount, readNonce } from '../../src-main/core/ledger/nonce';
import { submitAndConfirm } from '../../src-main/core/ledger/send';
import { checkVoucher, signVoucher, voucherInstructions } from '../../src-main/core/ledger/voucher-tx';
import { sendInstructions, stop, tempDir, testClient, type TestClient } from './ledger-helpers';

let tmp: ReturnType<typeof tempDir>;
let ledger: LocalLedger;
const opened: TestClient[] = [];

beforeAll(async () => {
  tmp = tempDir('axon-ledger-fees-');
  // short slots: a blockhash expires (150 blocks) in ~6 s
  ledger = await startLocalLedger({ port: 0, dataDir: join(tmp.dir, 'ledger'), slotMs: 40 });
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await ledger?.close();
  tmp?.cleanup();
});

async function funded(name: string, opts: Parameters<typeof testClient>[3] = {}, rpcUrl = ledger.rpcUrl) {
  const who = Identity.generate();
  const c = testClient(who, { rpcUrl, wsUrl: ledger.wsUrl }, join(tmp.dir, `${name}.db`), opts);
  opened.push(c);
  await testClient(who, ledger, join(tmp.dir, `${name}-airdrop.db`)).client.airdrop(10_000_000_000n);
  return { who, c };
}

interface Budget {
  limit?: number;
  price?: bigint;
}
/** The compute budget a transaction asked for (from its wire bytes). */
function budgetOf(wireBase64: string): Budget & { signature: Signature } {
  const tx = getTransactionDecoder().decode(getBase64Encoder().encode(wireBase64));
  const msg = getCompiledTransactionMessageDecoder().decode(tx.messageBytes) as V0CompiledTransactionMessage;
  const out: Budget = {};
  for (const ix of msg.instructions) {
    if (msg.staticAccounts[ix.programAddressIndex] !== COMPUTE_BUDGET_PROGRAM || !ix.data) continue;
    const dv = new DataView(ix.data.buffer, ix.data.byteOffset, ix.data.byteLength);
    if (ix.data[0] === 2) out.limit = dv.getUint32(1, true);
    if (ix.data[0] === 3) out.price = dv.getBigUint64(1, true);
  }
  const sig = getBase58Decoder().decode(Object.values(tx.signatures)[0]!) as Signature;
  return { ...out, signature: sig };
}

async function landed(c: TestClient, signature: string) {
  const tx = await c.client.rpc
    .getTransaction(signature as Signature, {
      commitment: 'confirmed',
      encoding: 'base64',
      maxSupportedTransactionVersion: 0,
    })
    .send();
  expect(tx).not.toBeNull();
  return { tx: tx!, budget: budgetOf(tx!.transaction[0]) };
}

describe('fees that land', () => {
  it('the local ledger charges, reports and simulates priority fees like a cluster', async () => {
    const { who, c } = await funded('cluster');
    const dest = Identity.generate().address;
    const signer = await who.signer();
    const before = await c.client.balance();
    const r = await sendInstructions(c.client.rpc, signer, [
      setComputeUnitLimitInstruction(10_000),
      setComputeUnitPriceInstruction(1_000_000n), // 1 lamport per unit: 10,000 lamports of priority
      getTransferSolInstruction({ source: signer, destination: dest, amount: lamports(1_000_000n) }),
    ]);
    expect(r.err).toBeNull();
    const { tx } = await landed(c, r.signature);
    expect(tx.meta!.fee).toBe(15_000n);
    expect(before - (await c.client.balance())).toBe(1_000_000n + 15_000n); // what it said is what it took

    const fees = await c.client.rpc.getRecentPrioritizationFees([dest]).send();
    expect(fees.length).toBeGreaterThan(0);
    expect(fees.length).toBeLessThanOrEqual(150);
    expect(fees.find((f) => f.slot === r.slot)?.prioritizationFee).toBe(1_000_000n);

    // a client bidding the top of recent fees for a transfer to `dest` bids that price, with a
    // compute-unit limit from simulation (not the 1.4 M maximum)
    const { c: bidder } = await funded('bidder', { fees: { percentile: 100, maxPriorityFeeLamports: 1_000_000n } });
    const topic = await bidder.client.stdinTopic(dest);
    const bBefore = await bidder.client.balance();
    const posted = await bidder.client.post(topic, stop('with a bid'), { transfer: { to: dest, lamports: 5_000n } });
    const got = await landed(bidder, posted.signature);
    expect(got.budget.price).toBe(1_000_000n);
    expect(got.budget.limit).toBeLessThan(MAX_COMPUTE_UNITS);
    expect(got.budget.limit).toBeGreaterThanOrEqual(Number(got.tx.meta!.computeUnitsConsumed));
    const priority = (1_000_000n * BigInt(got.budget.limit!) + 999_999n) / 1_000_000n;
    expect(got.tx.meta!.fee).toBe(5_000n + priority);
    expect(bBefore - (await bidder.client.balance())).toBe(5_000n + 5_000n + priority);
  });

  it('the priority part never exceeds the cap', async () => {
    const { who, c } = await funded('capped-payer');
    const dest = Identity.generate().address;
    const signer = await who.signer();
    await sendInstructions(c.client.rpc, signer, [
      setComputeUnitPriceInstruction(50_000_000n), // a very busy account
      getTransferSolInstruction({ source: signer, destination: dest, amount: lamports(1_000_000n) }),
    ]);
    const { c: capped } = await funded('capped', { fees: { percentile: 100, maxPriorityFeeLamports: 100n } });
    const posted = await capped.client.post(await capped.client.stdinTopic(dest), stop('capped'), {
      transfer: { to: dest, lamports: 5_000n },
    });
    const got = await landed(capped, posted.signature);
    expect(got.budget.price).toBeGreaterThan(0n);
    expect(got.tx.meta!.fee).toBeLessThanOrEqual(5_100n);
  });
});

describe('voucher and nonce transactions', () => {
  it('carry a compute-unit limit from simulation and the priority fee of recent fees, like a post', async () => {
    // the buyer's own account is busy: recent transactions writing it paid 1 lamport per unit
    const { who, c } = await funded('voucher-fees', { fees: { percentile: 100, maxPriorityFeeLamports: 1_000_000n } });
    const buyer = await who.signer();
    const seller = Identity.generate().address;
    await sendInstructions(c.client.rpc, buyer, [
      setComputeUnitPriceInstruction(1_000_000n),
      getTransferSolInstruction({ source: buyer, destination: seller, amount: lamports(1_000_000n) }),
    ]);

    const before = await c.client.balance();
    const n = await createNonceAccount(c.client.rpc, buyer, c.client.fees);
    const created = await landed(c, n.sent.signature);
    expect(created.budget.price).toBeGreaterThanOrEqual(1_000_000n);
    expect(created.budget.limit).toBeLessThan(MAX_COMPUTE_UNITS);
    expect(created.budget.limit).toBeGreaterThanOrEqual(Number(created.tx.meta!.computeUnitsConsumed));
    // what the nonce account's creation says it cost is what the ledger charged (two signatures)
    expect(n.sent.fee).toBe(created.tx.meta!.fee);
    expect(before - (await c.client.balance())).toBe(n.rent + n.sent.fee);

    const terms = {
      buyer,
      nonceAccount: n.account,
      nonceValue: n.state.value,
      requestId: 'req-fees',
      period: 0,
      asset: { kind: 'sol' as const },
      transfers: [{ to: seller, lamports: 50_000n }],
      expiresAt: Math.floor(Date.now() / 1000) + 600,
    };
    // the rule every transaction follows, applied to the voucher's own instructions
    const budget = await c.client.fees.budgetFor(buyer, await voucherInstructions(terms));
    expect(budget.microLamports).toBeGreaterThanOrEqual(1_000_000n);
    const v = await signVoucher({ ...terms, budget });
    // the seller's local check accepts the budget instructions (the buyer pays that fee)
    const check = await checkVoucher(v.tx, {
      buyer: buyer.address,
      nonceAccount: n.account,
      nonceValue: n.state.value,
      requestId: 'req-fees',
      period: 0,
      transfers: [{ to: seller, lamports: 50_000n }],
    });
    expect(check).toMatchObject({ ok: true, lamports: 50_000n });
    const settled = await submitAndConfirm(c.client.rpc, v.tx);
    const got = await landed(c, settled.signature);
    expect(got.budget).toMatchObject({ limit: budget.unitLimit, price: budget.microLamports });
    expect(got.budget.limit).toBeGreaterThanOrEqual(Number(got.tx.meta!.computeUnitsConsumed));
    expect(got.tx.meta!.fee).toBe(5_000n + (budget.microLamports * BigInt(budget.unitLimit) + 999_999n) / 1_000_000n);
    expect((await readNonce(c.client.rpc, n.account))?.value).not.toBe(n.state.value);
  });

  it('a voucher with two compute-unit prices is refused as malformed', async () => {
    const { who, c } = await funded('voucher-two-prices');
    const buyer = await who.signer();
    const n = await createNonceAccount(c.client.rpc, buyer);
    const seller = Identity.generate().address;
    const ixs = await voucherInstructions({
      buyer,
      requestId: 'req-two',
      period: 0,
      asset: { kind: 'sol' },
      transfers: [{ to: seller, lamports: 1_000n }],
      expiresAt: Math.floor(Date.now() / 1000) + 600,
      budget: { unitLimit: 10_000, microLamports: 1n },
    });
    ixs.splice(2, 0, setComputeUnitPriceInstruction(5n));
    const msg = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(buyer, m),
      (m) =>
        setTransactionMessageLifetimeUsingDurableNonce(
          { nonce: n.state.value as Nonce, nonceAccountAddress: n.account, nonceAuthorityAddress: buyer.address },
          m,
        ),
      (m) => appendTransactionMessageInstructions(ixs, m),
    );
    const tx = getBase64EncodedWireTransaction(await signTransactionMessageWithSigners(msg));
    const check = await checkVoucher(tx, {
      buyer: buyer.address,
      nonceAccount: n.account,
      nonceValue: n.state.value,
      requestId: 'req-two',
      period: 0,
      transfers: [{ to: seller, lamports: 1_000n }],
    });
    expect(check).toMatchObject({ ok: false, reason: 'malformed' });
    expect(!check.ok && check.detail).toMatch(/compute-budget/);
  });
});

describe('re-sending a payment', () => {
  let front: Server;
  let frontUrl: string;
  let mode: 'swallow' | 'lose-answer' | 'pass' = 'pass';
  const sent: string[] = [];
  beforeAll(async () => {
    const target = new URL(ledger.rpcUrl);
    front = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const msg = JSON.parse(body.toString()) as { id: unknown; method: string; params: unknown[] };
        const forward = (answer: (status: number, data: Buffer) => void): void => {
          const up = request(
            { host: target.hostname, port: target.port, method: 'POST', path: '/', headers: req.headers },
            (u) => {
              const out: Buffer[] = [];
              u.on('data', (d: Buffer) => out.push(d));
              u.on('end', () => answer(u.statusCode ?? 502, Buffer.concat(out)));
            },
          );
          up.end(body);
        };
        if (msg.method === 'sendTransaction') {
          sent.push(msg.params[0] as string);
          if (mode === 'swallow') {
            // as a congested cluster does: accepted, never lands
            mode = 'pass';
            const sig = budgetOf(msg.params[0] as string).signature;
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', result: sig, id: msg.id }));
            return;
          }
          if (mode === 'lose-answer') {
            // it lands, but the answer is lost on the way back
            mode = 'pass';
            forward(() => res.writeHead(503).end('upstream timed out'));
            return;
          }
        }
        forward((status, data) => res.writeHead(status, { 'content-type': 'application/json' }).end(data));
      });
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => front?.close(r)));

  it('a payment that never landed is re-signed only after its blockhash expired, bidding higher, and paid once', async () => {
    const { c } = await funded('resend', { retry: { attempts: 3, baseMs: 20, maxMs: 100 } }, frontUrl);
    const dest: Address = Identity.generate().address;
    sent.length = 0;
    mode = 'swallow';
    const posted = await c.client.post(await c.client.stdinTopic(dest), stop('pay once'), {
      transfer: { to: dest, lamports: 1_000_000n },
    });
    expect(sent.length).toBeGreaterThanOrEqual(2);
    const first = budgetOf(sent[0]!);
    expect(posted.signature).not.toBe(first.signature);
    // the swallowed one never exists on the ledger; the replacement bid more
    const { value } = await c.client.rpc
      .getSignatureStatuses([first.signature], { searchTransactionHistory: true })
      .send();
    expect(value[0]).toBeNull();
    const got = await landed(c, posted.signature);
    expect(got.budget.price!).toBeGreaterThan(first.price ?? 0n);
    expect(await c.client.balance(dest)).toBe(1_000_000n);
  }, 60_000);

  it("a re-send bids higher only within the fee the user's cap leaves for it", async () => {
    const { who, c } = await funded(
      'resend-capped',
      { retry: { attempts: 3, baseMs: 20, maxMs: 100 }, fees: { percentile: 100, maxPriorityFeeLamports: 1_000_000n } },
      frontUrl,
    );
    const dest: Address = Identity.generate().address;
    const signer = await who.signer();
    // recent transactions writing our account paid a priority: the first bid is above zero
    await sendInstructions(c.client.rpc, signer, [
      setComputeUnitPriceInstruction(100_000n),
      getTransferSolInstruction({ source: signer, destination: dest, amount: lamports(1_000_000n) }),
    ]);
    const topic = await c.client.stdinTopic(dest);
    // what such a payment costs now (the same shape: same units, the same price within 20 s)
    const fee = (await c.client.post(topic, stop('learn the fee'), { transfer: { to: dest, lamports: 1_000n } })).fee;
    expect(fee).toBeGreaterThan(5_000n);
    sent.length = 0;
    mode = 'swallow';
    const posted = await c.client.post(topic, stop('within the cap'), {
      transfer: { to: dest, lamports: 1_000_000n },
      maxFeeLamports: fee,
    });
    expect(sent.length).toBeGreaterThanOrEqual(2);
    const first = budgetOf(sent[0]!);
    expect(posted.signature).not.toBe(first.signature);
    const got = await landed(c, posted.signature);
    // not doubled: the first bid already used nearly all the room the cap left
    expect(got.budget.price!).toBeGreaterThanOrEqual(first.price!);
    expect(got.budget.price!).toBeLessThan(2n * first.price!);
    expect(got.tx.meta!.fee).toBeLessThanOrEqual(fee);
    expect(posted.fee).toBe(got.tx.meta!.fee);
  }, 60_000);

  it('a payment that landed while its answer was lost is not paid again', async () => {
    const { c } = await funded('lost', { retry: { attempts: 3, baseMs: 20, maxMs: 100 } }, frontUrl);
    const dest: Address = Identity.generate().address;
    sent.length = 0;
    mode = 'lose-answer';
    const posted = await c.client.post(await c.client.stdinTopic(dest), stop('answer lost'), {
      transfer: { to: dest, lamports: 1_000_000n },
    });
    // every send carried the same signed transaction
    expect(new Set(sent.map((w) => budgetOf(w).signature))).toEqual(new Set([posted.signature]));
    expect(await c.client.balance(dest)).toBe(1_000_000n);
  }, 60_000);
});
