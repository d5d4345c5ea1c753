// Runs in: Node. The vouchers table (migration 009; this module alone reads and writes it): per
// purchase ('out') the buyer's nonce account and newest signed voucher, per sale ('in') the newest
// voucher the seller accepted and what it settled. Rules live in market/voucher.ts.
import type { Db } from './db';

export type VoucherDirection = 'in' | 'out';

export interface VoucherRow {
  requestId: string;
  direction: VoucherDirection;
  nonceAccount: string;
  nonceValue: string;
  period: number;
  lamports: bigint;
  tx: string | null;
  signature: string | null;
  settledThrough: number;
  settled: bigint;
  settlements: number;
  rent: bigint;
  closedAt: number | null;
  reason: string | null;
  updatedAt: number;
}

interface Row {
  request_id: string;
  direction: VoucherDirection;
  nonce_account: string;
  nonce_value: string;
  period: bigint;
  lamports: bigint;
  tx: string | null;
  signature: string | null;
  settled_through: bigint;
  settled: bigint;
  settlements: bigint;
  rent: bigint;
  closed_at: bigint | null;
  reason: string | null;
  updated_at: bigint;
}

const fromRow = (r: Row): VoucherRow => ({
  requestId: r.request_id,
  direction: r.direction,
  nonceAccount: r.nonce_account,
  nonceValue: r.nonce_value,
  period: Number(r.period),
  lamports: BigInt(r.lamports),
  tx: r.tx,
  signature: r.signature,
  settledThrough: Number(r.settled_through),
  settled: BigInt(r.settled),
  settlements: Number(r.settlements),
  rent: BigInt(r.rent),
  closedAt: r.closed_at === null ? null : Number(r.closed_at),
  reason: r.reason,
  updatedAt: Number(r.updated_at),
});

const COLS: Record<keyof Omit<VoucherRow, 'requestId' | 'direction' | 'updatedAt'>, string> = {
  nonceAccount: 'nonce_account',
  nonceValue: 'nonce_value',
  period: 'period',
  lamports: 'lamports',
  tx: 'tx',
  signature: 'signature',
  settledThrough: 'settled_through',
  settled: 'settled',
  settlements: 'settlements',
  rent: 'rent',
  closedAt: 'closed_at',
  reason: 'reason',
};

export class VoucherStore {
  constructor(private readonly db: Db) {}

  get(requestId: string, direction: VoucherDirection): VoucherRow | null {
    const r = this.db
      .prepare('SELECT * FROM vouchers WHERE request_id = ? AND direction = ?')
      .safeIntegers(true)
      .get(requestId, direction) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  all(direction: VoucherDirection): VoucherRow[] {
    return (
      this.db
        .prepare('SELECT * FROM vouchers WHERE direction = ? ORDER BY updated_at')
        .safeIntegers(true)
        .all(direction) as Row[]
    ).map(fromRow);
  }

  /** A new nonce account for a purchase or sale (no voucher yet). */
  open(
    requestId: string,
    direction: VoucherDirection,
    nonceAccount: string,
    nonceValue: string,
    rent = 0n,
  ): VoucherRow {
    this.db
      .prepare(
        `INSERT INTO vouchers (request_id, direction, nonce_account, nonce_value, rent, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(requestId, direction, nonceAccount, nonceValue, rent, Date.now());
    return this.get(requestId, direction)!;
  }

  update(
    requestId: string,
    direction: VoucherDirection,
    patch: Partial<Omit<VoucherRow, 'requestId' | 'direction' | 'updatedAt'>>,
  ): VoucherRow {
    const sets: string[] = [];
    const vals: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      const col = COLS[k as keyof typeof COLS];
      if (!col || v === undefined) continue;
      sets.push(`${col} = ?`);
      vals.push(typeof v === 'boolean' ? Number(v) : v);
    }
    sets.push('updated_at = ?');
    vals.push(Date.now());
    this.db
      .prepare(`UPDATE vouchers SET ${sets.join(', ')} WHERE request_id = ? AND direction = ?`)
      .run(...vals, requestId, direction);
    return this.get(requestId, direction)!;
  }

  /** Lamports settled on the ledger from `buyer` to us over all its sales (the credit's history). */
  settledBy(buyer: string): bigint {
    const r = this.db
      .prepare(
        `SELECT COALESCE(SUM(v.settled), 0) AS n FROM vouchers v JOIN sales s ON s.id = v.request_id
         WHERE v.direction = 'in' AND s.buyer = ?`,
      )
      .safeIntegers(true)
      .get(buyer) as { n: bigint };
    return BigInt(r.n);
  }
}
