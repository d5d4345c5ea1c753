// Runs in: Node. Executes transactions in LiteSVM (real System/Memo programs, real signature
// checks). The server owns slots and blockhashes (LiteSVM's own blockhash check and history are
// off; recency and duplicates are checked here), records each landed transaction in the store and
// rebuilds LiteSVM's accounts from the store on start.
import { Account, FailedTransactionMetadata, TransactionMetadata } from 'litesvm';
import { LiteSvm } from 'litesvm/dist/internal';
import type { Logger } from 'pino';
import type { LedgerStore, StoredAccount, TxMeta } from './store';
import type { SlotClock } from './clock';
import { decodeTransaction, fromBase58, isWritable, keyToBase58, toBase58, type DecodedTransaction } from './wire';
import { describeFailure, fieldlessTxError, type TransactionErrorJson, type TxFailure } from './tx-errors';
import { extractMemos } from './tx-format';
import { computeBudgetOf, prioritizationFee, RecentFees } from './compute-budget';

export const LAMPORTS_PER_SIGNATURE = 5000n;
export const SYSTEM_PROGRAM = '11111111111111111111111111111111';
const U64_MAX = 18446744073709551615n;
/** System instruction AdvanceNonceAccount and the size of a nonce account (durable nonces). */
const ADVANCE_NONCE_ACCOUNT = 4;
const NONCE_ACCOUNT_SIZE = 80;

/** A transaction that landed (successfully or not), as subscriptions see it. */
export interface LandedTx {
  seq: number;
  signature: string;
  slot: number;
  err: TransactionErrorJson | null;
  logs: string[];
  accountKeys: string[];
  /** Post-state of the accounts the transaction could write. */
  accounts: StoredAccount[];
}

export type ProcessOutcome =
  | { kind: 'landed'; tx: LandedTx }
  /** Rejected before execution: nothing changed, nothing recorded. */
  | {
      kind: 'rejected';
      signature: string;
      failure: TxFailure;
      logs: string[];
      unitsConsumed: bigint;
      signatureFailure: boolean;
    };

export interface SimulationResult {
  err: TransactionErrorJson | null;
  logs: string[];
  unitsConsumed: bigint;
  returnData: { programId: string; data: [string, 'base64'] } | null;
  postAccounts: Map<string, StoredAccount | null>;
  fee: bigint;
}

function toStored(address: string, a: Account | null): StoredAccount {
  if (!a)
    return { address, lamports: 0n, data: new Uint8Array(0), owner: SYSTEM_PROGRAM, executable: false, rentEpoch: 0n };
  return {
    address,
    lamports: a.lamports(),
    data: a.data(),
    owner: keyToBase58(a.owner()),
    executable: a.executable(),
    rentEpoch: a.rentEpoch(),
  };
}

function returnDataOf(md: TransactionMetadata): SimulationResult['returnData'] {
  const rd = md.returnData();
  const data = rd.data();
  if (data.length === 0) return null;
  return { programId: toBase58(rd.programId()), data: [Buffer.from(data).toString('base64'), 'base64'] };
}

export class Bank {
  readonly svm: LiteSvm;
  /** Called for every landed transaction, after it is on disk. */
  onLanded: (tx: LandedTx) => void = () => {};

  constructor(
    private readonly store: LedgerStore,
    private readonly clock: SlotClock,
    private readonly log: Logger,
  ) {
    this.svm = new LiteSvm();
    this.svm.setBlockhashCheck(false);
    this.svm.setTransactionHistory(0n);
    let restored = 0;
    for (const acc of store.allAccounts()) {
      this.svm.setAccount(
        fromBase58(acc.address),
        new Account(acc.lamports, acc.data, fromBase58(acc.owner), acc.executable, acc.rentEpoch),
      );
      restored++;
    }
    this.syncClock();
    log.debug({ restored }, 'local ledger: accounts restored');
  }

  /** Moves LiteSVM's Clock sysvar to the server's slot and time. */
  syncClock(): void {
    const c = this.svm.getClock();
    c.slot = BigInt(this.clock.slot);
    c.unixTimestamp = BigInt(this.clock.blockTime(this.clock.slot));
    this.svm.setClock(c);
  }

  getAccount(address: string): StoredAccount | null {
    const a = this.svm.getAccount(fromBase58(address));
    return a ? toStored(address, a) : null;
  }

  /** Writes an account directly (genesis: the faucet). Persisted. */
  setAccount(acc: StoredAccount): void {
    this.svm.setAccount(
      fromBase58(acc.address),
      new Account(acc.lamports, acc.data, fromBase58(acc.owner), acc.executable, acc.rentEpoch),
    );
    this.store.putAccount(acc);
  }

  newSystemAccount(address: string, lamports: bigint): StoredAccount {
    return { address, lamports, data: new Uint8Array(0), owner: SYSTEM_PROGRAM, executable: false, rentEpoch: U64_MAX };
  }

  minimumBalanceForRentExemption(dataLen: number): bigint {
    return this.svm.minimumBalanceForRentExemption(BigInt(dataLen));
  }

  /** Per slot, the lowest compute-unit price landed transactions paid (getRecentPrioritizationFees). */
  readonly recentFees = new RecentFees();

  /** The fee of a transaction: per signature, plus its prioritization fee (price × unit limit). */
  feeFor(tx: Pick<DecodedTransaction, 'header' | 'instructions' | 'accountKeys'>): bigint {
    return LAMPORTS_PER_SIGNATURE * BigInt(tx.header.numRequiredSignatures) + prioritizationFee(computeBudgetOf(tx));
  }

  /**
   * Executes a wire transaction. Checks done here first: duplicate signature (AlreadyProcessed) and
   * blockhash age (BlockhashNotFound). With `keepFailed` (skipPreflight), a transaction that fails
   * during execution still lands and pays its fee, as on Solana; without it (preflight), nothing of
   * a failed transaction is kept.
   */
  process(bytes: Uint8Array, tx: DecodedTransaction, keepFailed: boolean): ProcessOutcome {
    const reject = (
      failure: TxFailure,
      logs: string[] = [],
      unitsConsumed = 0n,
      signatureFailure = false,
    ): ProcessOutcome => ({
      kind: 'rejected',
      signature: tx.signature,
      failure,
      logs,
      unitsConsumed,
      signatureFailure,
    });
    if (this.store.hasSignature(tx.signature)) return reject(fieldlessTxError('AlreadyProcessed'));
    if (!this.lifetimeValid(tx)) {
      // Agave verifies signatures before looking at the blockhash.
      return reject(fieldlessTxError('BlockhashNotFound'), [], 0n, !this.verifySignatures(bytes, tx));
    }
    const pre = tx.accountKeyBytes.map((k) => this.svm.getAccount(k));
    // a nonce advanced in this transaction must get a new value, as each slot gives one on Solana
    if (this.durableNonceAccount(tx)) this.svm.expireBlockhash();
    const res =
      tx.version === 'legacy' ? this.svm.sendLegacyTransaction(bytes) : this.svm.sendVersionedTransaction(bytes);
    if (res instanceof TransactionMetadata) return { kind: 'landed', tx: this.commit(bytes, tx, pre, null, res) };
    const failure = describeFailure(res as FailedTransactionMetadata);
    const md = (res as FailedTransactionMetadata).meta();
    const payerBefore = pre[0]?.lamports();
    const payerAfter = this.svm.getBalance(tx.accountKeyBytes[0]!);
    const charged = payerBefore !== undefined && payerAfter !== payerBefore;
    if (charged && keepFailed) return { kind: 'landed', tx: this.commit(bytes, tx, pre, failure.err, md) };
    if (charged) this.svm.setAccount(tx.accountKeyBytes[0]!, pre[0]!); // preflight: undo the fee
    return reject(failure, md.logs(), md.computeUnitsConsumed(), failure.err === 'SignatureFailure');
  }

  /**
   * A transaction may be processed if its blockhash is recent, or (durable nonce, as on Solana) if
   * its first instruction is System AdvanceNonceAccount on an initialized nonce account whose stored
   * nonce is the transaction's "blockhash".
   */
  private lifetimeValid(tx: DecodedTransaction): boolean {
    if (this.clock.isBlockhashValidForProcessing(tx.recentBlockhash)) return true;
    const nonceAccount = this.durableNonceAccount(tx);
    if (!nonceAccount) return false;
    const acc = this.svm.getAccount(fromBase58(nonceAccount));
    if (!acc || keyToBase58(acc.owner()) !== SYSTEM_PROGRAM) return false;
    const data = acc.data();
    // nonce::state::Versions::Current(State::Initialized(Data { authority, durable_nonce, fee }))
    if (data.length !== NONCE_ACCOUNT_SIZE) return false;
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (dv.getUint32(4, true) !== 1) return false;
    return toBase58(data.subarray(40, 72)) === tx.recentBlockhash;
  }

  /** The nonce account a durable-nonce transaction advances first (null: not such a transaction). */
  private durableNonceAccount(tx: DecodedTransaction): string | null {
    const ix = tx.instructions[0];
    if (!ix || tx.accountKeys[ix.programIdIndex] !== SYSTEM_PROGRAM || ix.data.length < 4) return null;
    const dv = new DataView(ix.data.buffer, ix.data.byteOffset, ix.data.byteLength);
    if (dv.getUint32(0, true) !== ADVANCE_NONCE_ACCOUNT || ix.accounts.length < 3) return null;
    return tx.accountKeys[ix.accounts[0]!] ?? null;
  }

  private verifySignatures(bytes: Uint8Array, tx: DecodedTransaction): boolean {
    const res =
      tx.version === 'legacy'
        ? this.svm.simulateLegacyTransaction(bytes)
        : this.svm.simulateVersionedTransaction(bytes);
    return !(res instanceof FailedTransactionMetadata && describeFailure(res).err === 'SignatureFailure');
  }

  private commit(
    bytes: Uint8Array,
    tx: DecodedTransaction,
    pre: (Account | null)[],
    err: TransactionErrorJson | null,
    md: TransactionMetadata,
  ): LandedTx {
    const slot = this.clock.slot;
    const post = tx.accountKeyBytes.map((k) => this.svm.getAccount(k));
    const changed: StoredAccount[] = [];
    tx.accountKeys.forEach((addr, i) => {
      if (isWritable(tx, i)) changed.push(toStored(addr, post[i] ?? null));
    });
    const rd = returnDataOf(md);
    const meta: TxMeta = {
      fee: this.feeFor(tx),
      preBalances: pre.map((a) => a?.lamports() ?? 0n),
      postBalances: post.map((a) => a?.lamports() ?? 0n),
      logMessages: md.logs(),
      computeUnitsConsumed: md.computeUnitsConsumed(),
      innerInstructions: md
        .innerInstructions()
        .map((list, index) => ({
          index,
          instructions: list.map((ii) => {
            const ci = ii.instruction();
            return {
              programIdIndex: ci.programIdIndex(),
              accounts: Array.from(ci.accounts()),
              data: toBase58(ci.data()),
              stackHeight: ii.stackHeight(),
            };
          }),
        }))
        .filter((x) => x.instructions.length > 0),
      returnData: rd ? { programId: rd.programId, data: rd.data[0] } : null,
    };
    this.recentFees.landed(slot, tx, computeBudgetOf(tx).unitPrice);
    const memos = extractMemos(tx);
    const seq = this.store.insertTransaction({
      signature: tx.signature,
      slot,
      blockTime: this.clock.blockTime(slot),
      wire: bytes,
      err,
      meta,
      memo: memos,
      addresses: tx.accountKeys,
      accounts: changed,
    });
    const landed: LandedTx = {
      seq,
      signature: tx.signature,
      slot,
      err,
      logs: meta.logMessages,
      accountKeys: tx.accountKeys,
      accounts: changed,
    };
    try {
      this.onLanded(landed);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'local ledger: notification failed');
    }
    return landed;
  }

  simulate(
    bytes: Uint8Array,
    tx: DecodedTransaction,
    opts: { sigVerify: boolean; checkBlockhash: boolean; accounts: string[] },
  ): SimulationResult {
    const base = {
      postAccounts: new Map<string, StoredAccount | null>(),
      fee: this.feeFor(tx),
    };
    if (opts.checkBlockhash && !this.lifetimeValid(tx)) {
      return { ...base, err: 'BlockhashNotFound', logs: [], unitsConsumed: 0n, returnData: null };
    }
    this.svm.setSigverify(opts.sigVerify);
    let res;
    try {
      res =
        tx.version === 'legacy'
          ? this.svm.simulateLegacyTransaction(bytes)
          : this.svm.simulateVersionedTransaction(bytes);
    } finally {
      this.svm.setSigverify(true);
    }
    if (res instanceof FailedTransactionMetadata) {
      const md = res.meta();
      return {
        ...base,
        err: describeFailure(res).err,
        logs: md.logs(),
        unitsConsumed: md.computeUnitsConsumed(),
        returnData: null,
      };
    }
    const md = res.meta();
    const postByAddr = new Map<string, StoredAccount>();
    for (const aa of res.postAccounts()) {
      const addr = toBase58(aa.address);
      postByAddr.set(addr, toStored(addr, aa.account()));
    }
    for (const a of opts.accounts) base.postAccounts.set(a, postByAddr.get(a) ?? this.getAccount(a));
    return {
      ...base,
      err: null,
      logs: md.logs(),
      unitsConsumed: md.computeUnitsConsumed(),
      returnData: returnDataOf(md),
    };
  }

  decode(bytes: Uint8Array): DecodedTransaction {
    return decodeTransaction(bytes);
  }
}
