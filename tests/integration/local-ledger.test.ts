// The local ledger against the unchanged @solana/kit client: airdrop, send-and-confirm of a
// transfer and of a Memo v1 post with a read-only topic account, getTransaction in every
// encoding, getSignaturesForAddress paging, and push notifications (logs, account, slot).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendTransactionMessageInstructions,
  assertIsTransactionWithBlockhashLifetime,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  pipe,
  sendAndConfirmTransactionFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Instruction,
  type KeyPairSigner,
  type Signature,
  type TransactionMessageBytesBase64,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import {
  airdrop,
  MEMO_V1,
  memoIx,
  SOL,
  startTestLedger,
  type TestLedger,
  type TestRpc,
  type TestSubs,
} from './local-ledger-helpers';

let testLedger: TestLedger | undefined;
let rpc: TestRpc;
let subs: TestSubs;
let sendAndConfirm: ReturnType<typeof sendAndConfirmTransactionFactory>;
let payer: KeyPairSigner;

async function signed(ixs: Instruction[], feePayer = payer) {
  const { value: bh } = await rpc.getLatestBlockhash().send();
  const msg = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(feePayer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(bh, m),
    (m) => appendTransactionMessageInstructions(ixs, m),
  );
  const tx = await signTransactionMessageWithSigners(msg);
  assertIsTransactionWithBlockhashLifetime(tx);
  return tx;
}

async function post(ixs: Instruction[], feePayer = payer): Promise<Signature> {
  const tx = await signed(ixs, feePayer);
  await sendAndConfirm(tx, { commitment: 'confirmed' });
  return getSignatureFromTransaction(tx);
}

beforeAll(async () => {
  testLedger = await startTestLedger({ dirPrefix: 'axon-ledger-', payerLamports: 10n * SOL });
  ({ rpc, subs, payer } = testLedger);
  sendAndConfirm = sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions: subs });
});

afterAll(async () => {
  await testLedger?.close();
});

describe('local ledger with @solana/kit', () => {
  it('airdrops through kit and reports the balance', async () => {
    const { value } = await rpc.getBalance(payer.address).send();
    expect(value).toBe(10n * SOL);
    const who = await generateKeyPairSigner();
    await airdrop(rpc, subs, who.address, SOL);
    expect((await rpc.getBalance(who.address, { commitment: 'confirmed' }).send()).value).toBe(SOL);
  });

  it('sends and confirms a transfer; balances and fee follow', async () => {
    const to = (await generateKeyPairSigner()).address;
    const before = (await rpc.getBalance(payer.address).send()).value;
    const sig = await post([getTransferSolInstruction({ source: payer, destination: to, amount: 2n * SOL })]);
    expect((await rpc.getBalance(to).send()).value).toBe(2n * SOL);
    expect((await rpc.getBalance(payer.address).send()).value).toBe(before - 2n * SOL - 5000n);
    const tx = await rpc
      .getTransaction(sig, { maxSupportedTransactionVersion: 0, encoding: 'jsonParsed', commitment: 'confirmed' })
      .send();
    expect(tx?.meta?.err).toBeNull();
    expect(tx?.meta?.fee).toBe(5000n);
    const ix = tx!.transaction.message.instructions[0] as {
      program: string;
      parsed: { type: string; info: Record<string, unknown> };
    };
    expect(ix.program).toBe('system');
    expect(ix.parsed).toEqual({
      type: 'transfer',
      info: { source: payer.address, destination: to, lamports: 2n * SOL },
    });
  });

  it('posts a Memo v1 with a read-only topic account and serves it back in every encoding', async () => {
    const topic = (await generateKeyPairSigner()).address;
    const sig = await post([memoIx(topic, 'axon1:hello')]);
    const json = await rpc
      .getTransaction(sig, { maxSupportedTransactionVersion: 0, encoding: 'json', commitment: 'confirmed' })
      .send();
    expect(json?.version).toBe(0);
    expect(json?.transaction.message.accountKeys).toContain(topic);
    expect(json?.meta?.logMessages?.some((l) => l.includes(MEMO_V1))).toBe(true);
    expect(json?.meta?.status).toEqual({ Ok: null });
    const parsed = await rpc
      .getTransaction(sig, { maxSupportedTransactionVersion: 0, encoding: 'jsonParsed', commitment: 'confirmed' })
      .send();
    expect(parsed?.transaction.message.instructions[0]).toMatchObject({
      program: 'spl-memo',
      parsed: 'axon1:hello',
      programId: MEMO_V1,
    });
    const b64 = await rpc
      .getTransaction(sig, { maxSupportedTransactionVersion: 0, encoding: 'base64', commitment: 'confirmed' })
      .send();
    expect(typeof b64?.transaction[0]).toBe('string');
    expect(b64?.transaction[1]).toBe('base64');
    const list = await rpc.getSignaturesForAddress(topic, { commitment: 'confirmed' }).send();
    expect(list.map((s) => s.signature)).toEqual([sig]);
    expect(list[0]!.memo).toBe('[11] axon1:hello');
    // The topic is never created or charged: it stays an empty, non-existent account.
    expect((await rpc.getAccountInfo(topic).send()).value).toBeNull();
  });

  it('pages getSignaturesForAddress newest first with limit, before and until', async () => {
    const topic = (await generateKeyPairSigner()).address;
    const sigs: Signature[] = [];
    for (let i = 0; i < 5; i++) sigs.push(await post([memoIx(topic, `msg ${i}`)]));
    const newestFirst = [...sigs].reverse();
    const all = await rpc.getSignaturesForAddress(topic, { commitment: 'confirmed' }).send();
    expect(all.map((s) => s.signature)).toEqual(newestFirst);
    const page1 = await rpc.getSignaturesForAddress(topic, { limit: 2, commitment: 'confirmed' }).send();
    expect(page1.map((s) => s.signature)).toEqual(newestFirst.slice(0, 2));
    const page2 = await rpc
      .getSignaturesForAddress(topic, { limit: 2, before: page1[1]!.signature, commitment: 'confirmed' })
      .send();
    expect(page2.map((s) => s.signature)).toEqual(newestFirst.slice(2, 4));
    const since = await rpc.getSignaturesForAddress(topic, { until: sigs[2]!, commitment: 'confirmed' }).send();
    expect(since.map((s) => s.signature)).toEqual([sigs[4], sigs[3]]);
    const between = await rpc
      .getSignaturesForAddress(topic, { before: sigs[4]!, until: sigs[1]!, commitment: 'confirmed' })
      .send();
    expect(between.map((s) => s.signature)).toEqual([sigs[3], sigs[2]]);
  });

  it('pushes logsNotifications for transactions mentioning a topic, and account and slot notifications', async () => {
    const topic = (await generateKeyPairSigner()).address;
    const other = (await generateKeyPairSigner()).address;
    const abort = new AbortController();
    const logs = await subs
      .logsNotifications({ mentions: [topic] }, { commitment: 'confirmed' })
      .subscribe({ abortSignal: abort.signal });
    const accounts = await subs
      .accountNotifications(other, { commitment: 'confirmed', encoding: 'base64' })
      .subscribe({ abortSignal: abort.signal });
    const slots = await subs.slotNotifications().subscribe({ abortSignal: abort.signal });
    // kit's iterables deliver what arrives after the first next(): start listening first.
    const logIt = logs[Symbol.asyncIterator]();
    const accIt = accounts[Symbol.asyncIterator]();
    const slotIt = slots[Symbol.asyncIterator]();
    const firstLog = logIt.next();
    const firstAcc = accIt.next();
    try {
      await post([memoIx(other, 'not for the topic')]);
      const sig = await post([memoIx(topic, 'for the topic')]);
      const first = await firstLog;
      expect(first.value?.value.signature).toBe(sig);
      expect(first.value?.value.err).toBeNull();
      await post([getTransferSolInstruction({ source: payer, destination: other, amount: SOL })]);
      const acc = await firstAcc;
      expect(acc.value?.value.lamports).toBe(SOL);
      const s1 = await slotIt.next();
      const s2 = await slotIt.next();
      expect(s2.value!.slot).toBeGreaterThan(s1.value!.slot);
    } finally {
      abort.abort();
    }
  });

  it('simulates, prices a message and reads several accounts', async () => {
    const to = (await generateKeyPairSigner()).address;
    const tx = await signed([getTransferSolInstruction({ source: payer, destination: to, amount: SOL })]);
    const wire = getBase64EncodedWireTransaction(tx);
    const sim = await rpc
      .simulateTransaction(wire, { encoding: 'base64', accounts: { addresses: [to], encoding: 'base64' } })
      .send();
    expect(sim.value.err).toBeNull();
    expect(sim.value.logs?.length).toBeGreaterThan(0);
    expect(sim.value.accounts?.[0]?.lamports).toBe(SOL);
    // Simulation changes nothing.
    expect((await rpc.getBalance(to, { commitment: 'processed' }).send()).value).toBe(0n);
    const fee = await rpc
      .getFeeForMessage(Buffer.from(tx.messageBytes).toString('base64') as TransactionMessageBytesBase64)
      .send();
    expect(fee.value).toBe(5000n);
    const many = await rpc.getMultipleAccounts([payer.address, to], { encoding: 'base64' }).send();
    expect(many.value[0]?.lamports).toBeGreaterThan(0n);
    expect(many.value[1]).toBeNull();
  });

  it('reports statuses, epoch info and blockhash validity as kit expects', async () => {
    const sig = await post([memoIx((await generateKeyPairSigner()).address, 'status')]);
    const { value } = await rpc.getSignatureStatuses([sig]).send();
    expect(value[0]?.err).toBeNull();
    expect(['confirmed', 'finalized']).toContain(value[0]?.confirmationStatus);
    const info = await rpc.getEpochInfo().send();
    expect(info.absoluteSlot).toBe(info.blockHeight);
    const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'processed' }).send();
    expect(bh.lastValidBlockHeight - info.blockHeight).toBeGreaterThanOrEqual(149n);
    expect((await rpc.isBlockhashValid(bh.blockhash, { commitment: 'processed' }).send()).value).toBe(true);
    expect(await rpc.getHealth().send()).toBe('ok');
    expect(await rpc.getMinimumBalanceForRentExemption(0n).send()).toBeGreaterThan(0n);
  });
});
