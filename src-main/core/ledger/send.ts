// Runs in: Node. Sending a transaction and waiting until it lands: a signed wire transaction
// (submitAndConfirm), instructions in one fee-budgeted transaction (sendInstructions), and a
// transaction's status read back (txStatus).
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Blockhash,
  type Instruction,
  type TransactionSigner,
} from '@solana/kit';
import type { LedgerRpc } from './rpc';
import { setComputeUnitLimitInstruction, setComputeUnitPriceInstruction } from './transactions';
import { FeePlanner } from './fees';
import { sleep } from '../sleep';

export interface SentTx {
  signature: string;
  slot: bigint;
  /** Lamports of fee it paid (base fee per signature + its priority fee). */
  fee: bigint;
}

/** Why a submitted transaction did not land. */
export class TxFailedError extends Error {
  override name = 'TxFailedError';
  constructor(
    message: string,
    readonly signature: string,
    readonly err: unknown,
  ) {
    super(message);
  }
}

/** Send a signed wire transaction and wait until it is confirmed (or failed, or timed out). */
export async function submitAndConfirm(
  rpc: LedgerRpc,
  txBase64: string,
  timeoutMs = 30_000,
): Promise<Omit<SentTx, 'fee'>> {
  const wire = txBase64 as Parameters<LedgerRpc['sendTransaction']>[0];
  const signature = await rpc
    .sendTransaction(wire, { encoding: 'base64', preflightCommitment: 'confirmed' })
    .send()
    .catch((e: unknown) => {
      const cause = (e as Error).cause as Error | undefined;
      throw new TxFailedError(
        `${(e as Error).message}${cause ? ` (${cause.message})` : ''}`,
        '',
        (e as { context?: unknown }).context ?? e,
      );
    });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { value } = await rpc.getSignatureStatuses([signature], { searchTransactionHistory: true }).send();
    const s = value[0];
    if (s?.err) throw new TxFailedError(`transaction ${signature} failed: ${json(s.err)}`, signature, s.err);
    if (s && (s.confirmationStatus === 'confirmed' || s.confirmationStatus === 'finalized'))
      return { signature, slot: BigInt(s.slot) };
    await sleep(200);
  }
  throw new TxFailedError(`transaction ${signature} not confirmed within ${timeoutMs} ms`, signature, null);
}

/** Whether a transaction landed (true), failed (the error), or is unknown (null). */
export async function txStatus(rpc: LedgerRpc, signature: string): Promise<true | { err: unknown } | null> {
  const { value } = await rpc
    .getSignatureStatuses([signature as Parameters<LedgerRpc['getSignatureStatuses']>[0][number]], {
      searchTransactionHistory: true,
    })
    .send();
  const s = value[0];
  if (!s) return null;
  return s.err ? { err: s.err } : true;
}

/**
 * Send `ixs` in ONE transaction paid by `payer` and wait for it. With `fees` it carries a
 * compute-unit limit and priority fee by the rule of every transaction (FeePlanner.budgetFor).
 */
export async function sendInstructions(
  rpc: LedgerRpc,
  payer: TransactionSigner,
  instructions: Instruction[],
  fees?: FeePlanner,
): Promise<SentTx> {
  const budget = fees ? await fees.budgetFor(payer, instructions) : undefined;
  const ixs = budget
    ? [
        setComputeUnitLimitInstruction(budget.unitLimit),
        setComputeUnitPriceInstruction(budget.microLamports),
        ...instructions,
      ]
    : instructions;
  const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  const msg = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) =>
      setTransactionMessageLifetimeUsingBlockhash(
        blockhash as { blockhash: Blockhash; lastValidBlockHeight: bigint },
        m,
      ),
    (m) => appendTransactionMessageInstructions(ixs, m),
  );
  const signed = await signTransactionMessageWithSigners(msg);
  const sent = await submitAndConfirm(rpc, getBase64EncodedWireTransaction(signed));
  return { ...sent, fee: FeePlanner.feeOf(budget, Object.keys(signed.signatures).length) };
}

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}
