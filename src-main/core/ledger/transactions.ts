// Runs in: Node. Building a post (ONE transaction: compute-unit limit and price, optional System
// transfer + Memo v1 naming the topic) and reading one back from its wire bytes (sender, memos on a topic, transfers).
import {
  AccountRole,
  address,
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  getTransactionMessageSize,
  getTransactionMessageSizeLimit,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  type Address,
  type Blockhash,
  type Instruction,
  type LegacyCompiledTransactionMessage,
  type TransactionSigner,
  type V0CompiledTransactionMessage,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { MessageTooLargeError } from './envelope';
import { MEMO_V1_PROGRAM, SYSTEM_PROGRAM } from './topics';
import { parseTokenTransfer, TOKEN_PROGRAM_ADDRESS, type ParsedTokenTransfer } from './assets';

/** Memo v1 instruction with the topic as a read-only, non-signer account. */
export function memoInstruction(topic: Address, memo: string): Instruction {
  return {
    programAddress: MEMO_V1_PROGRAM,
    accounts: [{ address: topic, role: AccountRole.READONLY }],
    data: new TextEncoder().encode(memo),
  };
}

export interface PostShape {
  signer: TransactionSigner;
  topic: Address;
  memo: string;
  transfer?: { to: Address; lamports: bigint };
  /** A second transfer in the same transaction: a relay's share (docs/market.md "Priced relays"). */
  relayShare?: { to: Address; lamports: bigint };
  /** Payment instructions built by the asset layer (assets.ts transferInstructions), before the memo. */
  instructions?: Instruction[];
  blockhash: { blockhash: Blockhash; lastValidBlockHeight: bigint };
  /** Compute-unit limit and price (micro-lamports per unit): two ComputeBudget instructions first. */
  budget?: { unitLimit: number; microLamports: bigint };
}

export const COMPUTE_BUDGET_PROGRAM = address('ComputeBudget111111111111111111111111111111');
/** The most compute units a transaction may ask for. */
export const MAX_COMPUTE_UNITS = 1_400_000;

/** ComputeBudget SetComputeUnitLimit (discriminator 2, u32 units). */
export function setComputeUnitLimitInstruction(units: number): Instruction {
  const data = new Uint8Array(5);
  data[0] = 2;
  new DataView(data.buffer).setUint32(1, units, true);
  return { programAddress: COMPUTE_BUDGET_PROGRAM, data };
}

/** ComputeBudget SetComputeUnitPrice (discriminator 3, u64 micro-lamports per unit). */
export function setComputeUnitPriceInstruction(microLamports: bigint): Instruction {
  const data = new Uint8Array(9);
  data[0] = 3;
  new DataView(data.buffer).setBigUint64(1, microLamports, true);
  return { programAddress: COMPUTE_BUDGET_PROGRAM, data };
}

/** Lamports a compute budget adds to the fee: ceil(price × limit / 1,000,000). */
export function priorityFeeLamports(b: { unitLimit: number; microLamports: bigint }): bigint {
  return (b.microLamports * BigInt(b.unitLimit) + 999_999n) / 1_000_000n;
}

/** The transaction message of a post; throws MessageTooLargeError when it does not fit. */
export function buildPostMessage(p: PostShape, type = 'memo') {
  const instructions: Instruction[] = [];
  if (p.budget) {
    instructions.push(setComputeUnitLimitInstruction(p.budget.unitLimit));
    instructions.push(setComputeUnitPriceInstruction(p.budget.microLamports));
  }
  if (p.transfer) {
    instructions.push(
      getTransferSolInstruction({ source: p.signer, destination: p.transfer.to, amount: p.transfer.lamports }),
    );
  }
  if (p.relayShare && p.relayShare.lamports > 0n) {
    instructions.push(
      getTransferSolInstruction({ source: p.signer, destination: p.relayShare.to, amount: p.relayShare.lamports }),
    );
  }
  if (p.instructions) instructions.push(...p.instructions);
  instructions.push(memoInstruction(p.topic, p.memo));
  const msg = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(p.signer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(p.blockhash, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const size = getTransactionMessageSize(msg);
  const limit = getTransactionMessageSizeLimit(msg);
  if (size > limit) throw new MessageTooLargeError(type, size, limit, 'the transaction');
  return msg;
}

export interface ParsedTransfer {
  from: Address;
  to: Address;
  lamports: bigint;
}
export interface ParsedTopicTx {
  /** Fee payer = first signer. */
  sender: Address;
  signers: Address[];
  /** Data of every Memo v1 instruction that lists `topic` among its accounts, in order. */
  memos: Uint8Array[];
  /** Data of every Memo v1 instruction, whatever its accounts (payment check). */
  allMemos: { data: Uint8Array; accounts: Address[] }[];
  transfers: ParsedTransfer[];
  /** SPL Token Program transfers (TransferChecked; a plain Transfer with mint null). */
  tokenTransfers: ParsedTokenTransfer[];
}

export interface LoadedAddresses {
  writable?: readonly string[];
  readonly?: readonly string[];
}

const b64 = getBase64Encoder();
const txDecoder = getTransactionDecoder();
const msgDecoder = getCompiledTransactionMessageDecoder();

/** Parse a transaction from its base64 wire form. Throws on bytes that are no transaction. */
export function parseTransaction(base64: string, loaded?: LoadedAddresses | null, topic?: Address): ParsedTopicTx {
  const tx = txDecoder.decode(b64.encode(base64));
  const msg = msgDecoder.decode(tx.messageBytes) as LegacyCompiledTransactionMessage | V0CompiledTransactionMessage;
  if (!Array.isArray(msg.instructions)) throw new Error(`unsupported transaction version ${String(msg.version)}`);
  const keys: Address[] = [
    ...msg.staticAccounts,
    ...((loaded?.writable ?? []) as Address[]),
    ...((loaded?.readonly ?? []) as Address[]),
  ];
  const signers = msg.staticAccounts.slice(0, msg.header.numSignerAccounts);
  const out: ParsedTopicTx = {
    sender: signers[0]!,
    signers,
    memos: [],
    allMemos: [],
    transfers: [],
    tokenTransfers: [],
  };
  for (const ix of msg.instructions) {
    const program = keys[ix.programAddressIndex];
    const accounts = (ix.accountIndices ?? []).map((i) => keys[i]!).filter(Boolean);
    const data = ix.data ? Uint8Array.from(ix.data) : new Uint8Array(0);
    if (program === MEMO_V1_PROGRAM) {
      out.allMemos.push({ data, accounts });
      if (topic && accounts.includes(topic)) out.memos.push(data);
    } else if (program === TOKEN_PROGRAM_ADDRESS) {
      const t = parseTokenTransfer(data, accounts);
      if (t) out.tokenTransfers.push(t);
    } else if (program === SYSTEM_PROGRAM && data.length === 12 && accounts.length >= 2) {
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      if (dv.getUint32(0, true) === 2) {
        out.transfers.push({ from: accounts[0]!, to: accounts[1]!, lamports: dv.getBigUint64(4, true) });
      }
    }
  }
  return out;
}
