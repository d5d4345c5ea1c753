// Runs in: Node. The wallet_activity table (migration 010): every transaction that moved this
// wallet's lamports, as the ledger reported it (exact balance change and fee), classified and linked
// to its purchase, sale or stream. Filled by market/activity.ts; read by the API's History.
import type { Db } from './db';

export type { ActivityKind } from '../../../src-shared/contract/activity';
import type { ActivityKind } from '../../../src-shared/contract/activity';

export interface ActivityRow {
  signature: string;
  wallet: string;
  slot: bigint;
  seq: number;
  /** unix ms */
  blockTime: number | null;
  /** post − pre balance of the wallet, lamports (signed) */
  delta: bigint;
  /** network fee paid by this wallet */
  fee: bigint;
  kind: ActivityKind;
  message: string | null;
  requestId: string | null;
  streamId: string | null;
  counterparty: string | null;
  err: string | null;
}

export type NewActivity = Omit<ActivityRow, 'seq'>;

interface Raw {
  signature: string;
  wallet: string;
  slot: bigint;
  seq: bigint;
  block_time: bigint | null;
  delta: bigint;
  fee: bigint;
  kind: string;
  message: string | null;
  request_id: string | null;
  stream_id: string | null;
  counterparty: string | null;
  err: string | null;
}

const fromRaw = (r: Raw): ActivityRow => ({
  signature: r.signature,
  wallet: r.wallet,
  slot: r.slot,
  seq: Number(r.seq),
  blockTime: r.block_time === null ? null : Number(r.block_time),
  delta: r.delta,
  fee: r.fee,
  kind: r.kind as ActivityKind,
  message: r.message,
  requestId: r.request_id,
  streamId: r.stream_id,
  counterparty: r.counterparty,
  err: r.err,
});

export class ActivityStore {
  constructor(private readonly db: Db) {}

  has(signature: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM wallet_activity WHERE signature = ?').get(signature);
  }

  /** Add rows oldest first; a signature already stored is left as it is. */
  add(rows: NewActivity[]): void {
    const next = this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM wallet_activity');
    const ins = this.db.prepare(
      `INSERT INTO wallet_activity (signature, wallet, slot, seq, block_time, delta, fee, kind, message,
         request_id, stream_id, counterparty, err)
       VALUES (@signature, @wallet, @slot, @seq, @blockTime, @delta, @fee, @kind, @message, @requestId,
         @streamId, @counterparty, @err)
       ON CONFLICT (signature) DO NOTHING`,
    );
    this.db.transaction(() => {
      for (const r of rows) {
        const seq = (next.get() as { n: number }).n;
        ins.run({ ...r, seq });
      }
    })();
  }

  /** Has this stream had a Listing posted before (the next one is a refresh)? */
  listedBefore(wallet: string, streamId: string): boolean {
    return !!this.db
      .prepare("SELECT 1 FROM wallet_activity WHERE wallet = ? AND stream_id = ? AND message = 'Listing' LIMIT 1")
      .get(wallet, streamId);
  }

  /** The purchase whose voucher nonce account is one of `accounts` (its rent is a refundable deposit). */
  purchaseOfNonceAccount(accounts: string[]): string | null {
    if (!accounts.length) return null;
    const row = this.db
      .prepare(
        `SELECT request_id FROM vouchers WHERE direction = 'out' AND nonce_account IN (${accounts.map(() => '?').join(',')}) LIMIT 1`,
      )
      .get(...accounts) as { request_id: string } | undefined;
    return row?.request_id ?? null;
  }

  /** Newest first. */
  list(wallet: string, o: { limit?: number; requestId?: string; streamId?: string } = {}): ActivityRow[] {
    const where = ['wallet = @wallet'];
    if (o.requestId !== undefined) where.push('request_id = @requestId');
    if (o.streamId !== undefined) where.push('stream_id = @streamId');
    const rows = this.db
      .prepare(`SELECT * FROM wallet_activity WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`)
      .safeIntegers(true)
      .all({ wallet, limit: o.limit ?? 1_000_000, requestId: o.requestId, streamId: o.streamId }) as Raw[];
    return rows.map(fromRaw);
  }

  /** Sum of every balance change and fee recorded for the wallet. */
  totals(wallet: string): { delta: bigint; fees: bigint; count: number } {
    const r = this.db
      .prepare(
        'SELECT COALESCE(SUM(delta), 0) AS d, COALESCE(SUM(fee), 0) AS f, COUNT(*) AS n FROM wallet_activity WHERE wallet = ?',
      )
      .safeIntegers(true)
      .get(wallet) as { d: bigint; f: bigint; n: bigint };
    return { delta: r.d, fees: r.f, count: Number(r.n) };
  }
}
