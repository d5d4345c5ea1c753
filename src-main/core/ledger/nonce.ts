// Runs in: Node. The buyer's durable-nonce accounts (docs/market.md "Vouchers"): a buyer keeps
// them across purchases (authority: the buyer; one purchase at a time signs its vouchers against
// each, voucher-tx.ts). Create, read and close one; its rent.
import { generateKeyPairSigner, type Address, type Instruction, type TransactionSigner } from '@solana/kit';
import {
  fetchMaybeNonce,
  getCreateAccountInstruction,
  getInitializeNonceAccountInstruction,
  getNonceSize,
  getWithdrawNonceAccountInstruction,
} from '@solana-program/system';
import type { LedgerRpc } from './rpc';
import { SYSTEM_PROGRAM } from './topics';
import { FeePlanner } from './fees';

import { sendInstructions, type SentTx } from './send';

/** Bytes of a System nonce account. */
export const NONCE_ACCOUNT_BYTES = getNonceSize();

// ---- ledger side (the buyer's nonce account, the seller's settlement) ----

export interface NonceState {
  authority: Address;
  value: string;
  lamports: bigint;
}

/** The nonce account's authority and current value (null: no such account, or not a nonce). */
export async function readNonce(rpc: LedgerRpc, account: Address): Promise<NonceState | null> {
  const a = await fetchMaybeNonce(rpc, account, { commitment: 'confirmed' }).catch(() => null);
  if (!a || !a.exists || a.data.state !== 1) return null;
  return { authority: a.data.authority, value: a.data.blockhash, lamports: a.lamports };
}

/** Rent-exempt minimum of a nonce account (what creating one locks up until it is closed). */
export async function nonceRent(rpc: LedgerRpc): Promise<bigint> {
  return BigInt(await rpc.getMinimumBalanceForRentExemption(BigInt(NONCE_ACCOUNT_BYTES)).send());
}

/**
 * Create and initialize a nonce account (authority: the buyer); ONE transaction, which also
 * carries `before` (e.g. creating the seller's token account a token purchase's vouchers pay into).
 */
export async function createNonceAccount(
  rpc: LedgerRpc,
  buyer: TransactionSigner,
  fees?: FeePlanner,
  before: Instruction[] = [],
): Promise<{ account: Address; rent: bigint; sent: SentTx; state: NonceState }> {
  const account = await generateKeyPairSigner();
  const rent = await nonceRent(rpc);
  const sent = await sendInstructions(
    rpc,
    buyer,
    [
      ...before,
      getCreateAccountInstruction({
        payer: buyer,
        newAccount: account,
        lamports: rent,
        space: BigInt(NONCE_ACCOUNT_BYTES),
        programAddress: SYSTEM_PROGRAM,
      }),
      getInitializeNonceAccountInstruction({ nonceAccount: account.address, nonceAuthority: buyer.address }),
    ],
    fees,
  );
  const state = await readNonce(rpc, account.address);
  if (!state) throw new Error(`nonce account ${account.address} not readable after its creation`);
  return { account: account.address, rent, sent, state };
}

/** Close a nonce account: all its lamports back to the buyer; ONE transaction. */
export async function closeNonceAccount(
  rpc: LedgerRpc,
  buyer: TransactionSigner,
  account: Address,
  lamports: bigint,
  fees?: FeePlanner,
): Promise<SentTx> {
  return sendInstructions(
    rpc,
    buyer,
    [
      getWithdrawNonceAccountInstruction({
        nonceAccount: account,
        recipientAccount: buyer.address,
        nonceAuthority: buyer,
        withdrawAmount: lamports,
      }),
    ],
    fees,
  );
}
