// The local ledger as a real child process (`main.ts`), killed with SIGKILL and restarted on the
// same data dir: history, balances, the signature index and duplicate detection survive, and
// the chain continues from where it stopped.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendTransactionMessageInstruction,
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
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { airdrop, memoIx, rpcFor, SOL, subsFor } from './local-ledger-helpers';
const ROOT = join(__dirname, '..', '..');

const dir = mkdtempSync(join(tmpdir(), 'axon-ledger-restart-'));
const children: ChildProcess[] = [];

async function startChild(): Promise<{ child: ChildProcess; rpcUrl: string; wsUrl: string }> {
  // One process (node with tsx's loader), so SIGKILL hits the ledger itself, not a wrapper.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src-main/local-ledger/main.ts', '--port', '0', '--data-dir', dir],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`ledger exited early (${code})`)));
  });
  const { rpcUrl, wsUrl } = JSON.parse(line) as { rpcUrl: string; wsUrl: string };
  return { child, rpcUrl, wsUrl };
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) await kill(c);
  rmSync(dir, { recursive: true, force: true });
});

describe('local ledger restart', () => {
  it('keeps history, balances and the address index across a SIGKILL', async () => {
    const first = await startChild();
    let rpc = rpcFor(first.rpcUrl);
    let subs = subsFor(first.wsUrl);
    const payer = await generateKeyPairSigner();
    const topic = (await generateKeyPairSigner()).address;
    const to = (await generateKeyPairSigner()).address;
    await airdrop(rpc, subs, payer.address, 5n * SOL);

    const { value: bh } = await rpc.getLatestBlockhash().send();
    const msg = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(payer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(bh, m),
      (m) =>
        appendTransactionMessageInstruction(
          getTransferSolInstruction({ source: payer, destination: to, amount: SOL }),
          m,
        ),
      (m) => appendTransactionMessageInstruction(memoIx(topic, 'paid'), m),
    );
    const tx = await signTransactionMessageWithSigners(msg);
    assertIsTransactionWithBlockhashLifetime(tx);
    await sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions: subs })(tx, { commitment: 'confirmed' });
    const sig = getSignatureFromTransaction(tx);
    const payerBalance = (await rpc.getBalance(payer.address, { commitment: 'confirmed' }).send()).value;
    const confirmedSlotBefore = await rpc.getSlot({ commitment: 'confirmed' }).send();

    await kill(first.child);

    const second = await startChild();
    rpc = rpcFor(second.rpcUrl);
    subs = subsFor(second.wsUrl);
    // The chain continues after the last block on disk (every confirmed block is on disk).
    expect(await rpc.getSlot({ commitment: 'processed' }).send()).toBeGreaterThan(confirmedSlotBefore);
    expect((await rpc.getBalance(payer.address).send()).value).toBe(payerBalance);
    expect((await rpc.getBalance(to).send()).value).toBe(SOL);
    const history = await rpc.getSignaturesForAddress(topic).send();
    expect(history.map((h) => h.signature)).toEqual([sig]);
    expect(history[0]!.memo).toBe('[4] paid');
    const got = await rpc.getTransaction(sig, { maxSupportedTransactionVersion: 0, encoding: 'jsonParsed' }).send();
    expect(got?.meta?.err).toBeNull();
    // The same transaction again (its blockhash is still recent) is a duplicate, not a second payment.
    const dup = await rpc
      .sendTransaction(getBase64EncodedWireTransaction(tx), { encoding: 'base64' })
      .send()
      .catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(Error);
    expect((await rpc.getBalance(to).send()).value).toBe(SOL);
    // And the ledger keeps working: the faucet survived too.
    await airdrop(rpc, subs, to, SOL);
    expect((await rpc.getBalance(to).send()).value).toBe(2n * SOL);
  });
});
