// Runs in: Node. The nonce_accounts table (migration 017; this module alone reads and writes it):
// the buyer's durable-nonce accounts kept across purchases. Rules live in market/voucher-buyer.ts.
import type { Db } from './db';

export interface NonceAccountRow {
  address: string;
  rent: bigint;
  createdAt: number;
  createdBy: string;
  inUseBy: string | null;
  lastUsedBy: string;
  releasedAt: number | null;
  closedAt: number | null;
}

interface Row {
  address: string;
  rent: bigint;
  created_at: bigint;
  created_by: string;
  in_use_by: string | null;
  last_used_by: string | null;
  released_at: bigint | null;
  closed_at: bigint | null;
}

const fromRow = (r: Row): NonceAccountRow => ({
  address: r.address,
  rent: BigInt(r.rent),
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
  inUseBy: r.in_use_by,
  lastUsedBy: r.last_used_by ?? r.created_by,
  releasedAt: r.released_at === null ? null : Number(r.released_at),
  closedAt: r.closed_at === null ? null : Number(r.closed_at),
});

export class NonceAccountStore {
  constructor(private readonly db: Db) {}

  get(address: string): NonceAccountRow | null {
    const r = this.db.prepare('SELECT * FROM nonce_accounts WHERE address = ?').safeIntegers(true).get(address) as
      Row | undefined;
    return r ? fromRow(r) : null;
  }

  /** Open accounts (not closed), in use or free. */
  open(): NonceAccountRow[] {
    return (
      this.db
        .prepare('SELECT * FROM nonce_accounts WHERE closed_at IS NULL ORDER BY created_at')
        .safeIntegers(true)
        .all() as Row[]
    ).map(fromRow);
  }

  /** Free accounts (open, used by no purchase), the most recently released first. */
  free(): NonceAccountRow[] {
    return this.open()
      .filter((r) => r.inUseBy === null)
      .sort((a, b) => (b.releasedAt ?? 0) - (a.releasedAt ?? 0));
  }

  /** The account `requestId` uses now, or null. */
  usedBy(requestId: string): NonceAccountRow | null {
    const r = this.db
      .prepare('SELECT * FROM nonce_accounts WHERE in_use_by = ? AND closed_at IS NULL')
      .safeIntegers(true)
      .get(requestId) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  /**
   * Take a free account for `requestId` (the one it holds already, if any), in one SQLite
   * transaction: two purchases never get the same account. Null: none free.
   */
  take(requestId: string): NonceAccountRow | null {
    return this.db.transaction((): NonceAccountRow | null => {
      const held = this.usedBy(requestId);
      if (held) return held;
      const free = this.free()[0];
      if (!free) return null;
      this.db
        .prepare('UPDATE nonce_accounts SET in_use_by = ?, last_used_by = ? WHERE address = ? AND in_use_by IS NULL')
        .run(requestId, requestId, free.address);
      return this.get(free.address);
    })();
  }

  /** A new account, created by `requestId`'s first voucher and in use by it. */
  add(address: string, rent: bigint, requestId: string): NonceAccountRow {
    this.db
      .prepare(
        `INSERT INTO nonce_accounts (address, rent, created_at, created_by, in_use_by, last_used_by)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(address, rent, Date.now(), requestId, requestId, requestId);
    return this.get(address)!;
  }

  /** The purchase is done with it: free for the next one. */
  release(address: string): void {
    this.db
      .prepare('UPDATE nonce_accounts SET in_use_by = NULL, released_at = ? WHERE address = ?')
      .run(Date.now(), address);
  }

  /** Closed on the ledger (rent back), or found gone. */
  closed(address: string): void {
    this.db
      .prepare('UPDATE nonce_accounts SET in_use_by = NULL, closed_at = ? WHERE address = ?')
      .run(Date.now(), address);
  }
}
