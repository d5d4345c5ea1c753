// Runs in: Node. The local ledger's own SQLite file (<dataDir>/ledger.sqlite): every transaction
// (wire bytes + status meta), the signature-by-address index, the account state LiteSVM is rebuilt
// from on start, recent blocks (slot → blockhash, time) and a few settings. Each committed
// from on start, recent blocks (slot → blockhash, time) and a few settings.
// Group commit: writes go into one open SQLite transaction that the slot clock commits at every
// slot boundary (`flush`), before the finished block counts as confirmed. So a SIGKILL can lose
// at most the current slot's *processed* transactions — history and state together, never one
// without the other — and nothing confirmed, like a real validator's processed-but-not-voted
// block. Each transaction's rows go in under a SAVEPOINT, so a failed insert leaves no part.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nativeBinding } from '../core/store/db';
import type { TransactionErrorJson } from './tx-errors';

export interface StoredAccount {
  address: string;
  lamports: bigint;
  data: Uint8Array;
  owner: string;
  executable: boolean;
  rentEpoch: bigint;
}

/** Status meta kept per transaction (JSON in the `meta` column; bigints as decimal strings). */
export interface TxMeta {
  fee: bigint;
  preBalances: bigint[];
  postBalances: bigint[];
  logMessages: string[];
  computeUnitsConsumed: bigint;
  innerInstructions: {
    index: number;
    instructions: { programIdIndex: number; accounts: number[]; data: string; stackHeight: number }[];
  }[];
  returnData: { programId: string; data: string } | null;
}

export interface TxRow {
  seq: number;
  signature: string;
  slot: number;
  blockTime: number;
  wire: Uint8Array;
  err: TransactionErrorJson | null;
  meta: TxMeta;
  memo: string | null;
}

export interface NewTx extends Omit<TxRow, 'seq'> {
  addresses: string[];
  accounts: StoredAccount[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (slot INTEGER PRIMARY KEY, blockhash TEXT NOT NULL, time_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
  seq INTEGER PRIMARY KEY,
  signature TEXT NOT NULL UNIQUE,
  slot INTEGER NOT NULL,
  block_time INTEGER NOT NULL,
  wire BLOB NOT NULL,
  err TEXT,
  meta TEXT NOT NULL,
  memo TEXT
);
CREATE INDEX IF NOT EXISTS txs_slot ON txs(slot);
CREATE TABLE IF NOT EXISTS address_signatures (address TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (address, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accounts (
  address TEXT PRIMARY KEY,
  lamports INTEGER NOT NULL,
  data BLOB NOT NULL,
  owner TEXT NOT NULL,
  executable INTEGER NOT NULL,
  rent_epoch TEXT NOT NULL
);
`;

const metaToJson = (m: TxMeta): string =>
  JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
function metaFromJson(text: string): TxMeta {
  const m = JSON.parse(text) as Record<string, unknown>;
  return {
    fee: BigInt(m.fee as string),
    preBalances: (m.preBalances as string[]).map(BigInt),
    postBalances: (m.postBalances as string[]).map(BigInt),
    logMessages: m.logMessages as string[],
    computeUnitsConsumed: BigInt(m.computeUnitsConsumed as string),
    innerInstructions: m.innerInstructions as TxMeta['innerInstructions'],
    returnData: (m.returnData as TxMeta['returnData']) ?? null,
  };
}

export type SignatureRow = Pick<TxRow, 'seq' | 'signature' | 'slot' | 'blockTime' | 'err' | 'memo'>;
type RawSigRow = Pick<RawTxRow, 'seq' | 'signature' | 'slot' | 'block_time' | 'err' | 'memo'>;

interface RawTxRow {
  seq: number | bigint;
  signature: string;
  slot: number | bigint;
  block_time: number | bigint;
  wire: Buffer;
  err: string | null;
  meta: string;
  memo: string | null;
}
const toTxRow = (r: RawTxRow): TxRow => ({
  seq: Number(r.seq),
  signature: r.signature,
  slot: Number(r.slot),
  blockTime: Number(r.block_time),
  wire: new Uint8Array(r.wire),
  err: r.err === null ? null : (JSON.parse(r.err) as TransactionErrorJson),
  meta: metaFromJson(r.meta),
  memo: r.memo,
});

export class LedgerStore {
  readonly db: Database.Database;
  private readonly stmts;
  private readonly insertTxTxn: (tx: NewTx) => number;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'ledger.sqlite'), { nativeBinding: nativeBinding() });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmts = {
      getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      setSetting: db.prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      insertBlock: db.prepare('INSERT OR REPLACE INTO blocks (slot, blockhash, time_ms) VALUES (?, ?, ?)'),
      recentBlocks: db.prepare<[number], { slot: number; blockhash: string; time_ms: number }>(
        'SELECT slot, blockhash, time_ms FROM blocks ORDER BY slot DESC LIMIT ?',
      ),
      pruneBlocks: db.prepare('DELETE FROM blocks WHERE slot < ?'),
      insertTx: db.prepare(
        'INSERT INTO txs (signature, slot, block_time, wire, err, meta, memo) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertAddr: db.prepare('INSERT OR IGNORE INTO address_signatures (address, seq) VALUES (?, ?)'),
      upsertAccount: db.prepare(
        `INSERT INTO accounts (address, lamports, data, owner, executable, rent_epoch) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(address) DO UPDATE SET lamports = excluded.lamports, data = excluded.data, owner = excluded.owner,
         executable = excluded.executable, rent_epoch = excluded.rent_epoch`,
      ),
      deleteAccount: db.prepare('DELETE FROM accounts WHERE address = ?'),
      allAccounts: db
        .prepare('SELECT address, lamports, data, owner, executable, rent_epoch FROM accounts')
        .safeIntegers(true),
      txBySig: db.prepare<[string], RawTxRow>('SELECT * FROM txs WHERE signature = ?'),
      statusBySig: db.prepare<[string], { slot: number; err: string | null }>(
        'SELECT slot, err FROM txs WHERE signature = ?',
      ),
      hasSig: db.prepare<[string], { seq: number }>('SELECT seq FROM txs WHERE signature = ?'),
      seqOf: db.prepare<[string], { seq: number }>('SELECT seq FROM txs WHERE signature = ?'),
      sigsForAddress: db.prepare<[string, number, number, number, number], RawSigRow>(
        `SELECT t.seq, t.signature, t.slot, t.block_time, t.err, t.memo FROM address_signatures a JOIN txs t ON t.seq = a.seq
         WHERE a.address = ? AND a.seq < ? AND a.seq > ? AND t.slot <= ? ORDER BY a.seq DESC LIMIT ?`,
      ),
      txCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM txs'),
      maxTxSlot: db.prepare<[], { s: number | null }>('SELECT MAX(slot) AS s FROM txs'),
    };
    this.insertTxTxn = this.db.transaction((tx: NewTx): number => {
      const info = this.stmts.insertTx.run(
        tx.signature,
        tx.slot,
        tx.blockTime,
        Buffer.from(tx.wire),
        tx.err === null ? null : JSON.stringify(tx.err),
        metaToJson(tx.meta),
        tx.memo,
      );
      const seq = Number(info.lastInsertRowid);
      for (const a of tx.addresses) this.stmts.insertAddr.run(a, seq);
      for (const acc of tx.accounts) this.putAccountRow(acc);
      return seq;
    });
  }

  private inBatch = false;

  /** Opens the group-commit transaction if none is open. */
  private batch(): void {
    if (!this.inBatch) {
      this.db.exec('BEGIN');
      this.inBatch = true;
    }
  }

  /** Commits everything written since the last flush (called at each slot boundary). */
  flush(): void {
    if (this.inBatch) {
      this.db.exec('COMMIT');
      this.inBatch = false;
    }
  }

  private putAccountRow(acc: StoredAccount): void {
    if (acc.lamports === 0n) {
      this.stmts.deleteAccount.run(acc.address);
      return;
    }
    this.stmts.upsertAccount.run(
      acc.address,
      acc.lamports,
      Buffer.from(acc.data),
      acc.owner,
      acc.executable ? 1 : 0,
      acc.rentEpoch.toString(),
    );
  }

  getSetting(key: string): string | undefined {
    return this.stmts.getSetting.get(key)?.value;
  }
  setSetting(key: string, value: string): void {
    this.batch();
    this.stmts.setSetting.run(key, value);
  }

  putBlock(slot: number, blockhash: string, timeMs: number): void {
    this.batch();
    this.stmts.insertBlock.run(slot, blockhash, timeMs);
  }
  /** Newest first. */
  recentBlocks(limit: number): { slot: number; blockhash: string; timeMs: number }[] {
    return this.stmts.recentBlocks
      .all(limit)
      .map((r) => ({ slot: Number(r.slot), blockhash: r.blockhash, timeMs: Number(r.time_ms) }));
  }
  pruneBlocksBefore(slot: number): void {
    this.batch();
    this.stmts.pruneBlocks.run(slot);
  }

  /** Records a transaction, its address index rows and the accounts it changed (one savepoint). */
  insertTransaction(tx: NewTx): number {
    this.batch();
    return this.insertTxTxn(tx);
  }
  putAccount(acc: StoredAccount): void {
    this.batch();
    this.putAccountRow(acc);
  }
  allAccounts(): StoredAccount[] {
    return (
      this.stmts.allAccounts.all() as {
        address: string;
        lamports: bigint;
        data: Buffer;
        owner: string;
        executable: bigint;
        rent_epoch: string;
      }[]
    ).map((r) => ({
      address: r.address,
      lamports: r.lamports,
      data: new Uint8Array(r.data),
      owner: r.owner,
      executable: r.executable !== 0n,
      rentEpoch: BigInt(r.rent_epoch),
    }));
  }

  hasSignature(sig: string): boolean {
    return this.stmts.hasSig.get(sig) !== undefined;
  }
  status(sig: string): { slot: number; err: TransactionErrorJson | null } | undefined {
    const r = this.stmts.statusBySig.get(sig);
    return r
      ? { slot: Number(r.slot), err: r.err === null ? null : (JSON.parse(r.err) as TransactionErrorJson) }
      : undefined;
  }
  getTransaction(sig: string): TxRow | undefined {
    const r = this.stmts.txBySig.get(sig);
    return r ? toTxRow(r) : undefined;
  }
  seqOf(sig: string): number | undefined {
    const r = this.stmts.seqOf.get(sig);
    return r ? Number(r.seq) : undefined;
  }
  /** Newest first: seq in (afterSeq, beforeSeq), slot ≤ maxSlot. */
  signaturesForAddress(
    address: string,
    beforeSeq: number,
    afterSeq: number,
    maxSlot: number,
    limit: number,
  ): SignatureRow[] {
    return this.stmts.sigsForAddress.all(address, beforeSeq, afterSeq, maxSlot, limit).map((r) => ({
      seq: Number(r.seq),
      signature: r.signature,
      slot: Number(r.slot),
      blockTime: Number(r.block_time),
      err: r.err === null ? null : (JSON.parse(r.err) as TransactionErrorJson),
      memo: r.memo,
    }));
  }
  transactionCount(): number {
    return Number(this.stmts.txCount.get()!.n);
  }
  maxTransactionSlot(): number | null {
    const s = this.stmts.maxTxSlot.get()!.s;
    return s === null ? null : Number(s);
  }

  close(): void {
    if (!this.db.open) return;
    this.flush();
    this.db.close();
  }
}
