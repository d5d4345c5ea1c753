// Runs in: Node. The payments table (this module alone reads and writes it): every payment this
// node sent ('out') or checked ('in'). The market records through these functions (TradeStore
// delegates here); the ledger's verifyPayment claims incoming ones.
// A signature is accepted once only: claimIncomingPayment() is the single place that turns a
// checked payment into 'verified', atomically, so a replayed signature is refused.
import type { Db } from './db';

export type PaymentDirection = 'out' | 'in';
export type PaymentState = 'sent' | 'confirmed' | 'verified' | 'refused' | 'failed';

export interface PaymentRecord {
  signature: string;
  requestId: string;
  direction: PaymentDirection;
  payer: string;
  recipient: string;
  lamports: bigint;
  period: number;
  state: PaymentState;
  reason?: string | null;
  slot?: bigint | null;
  createdAt?: number;
  updatedAt?: number;
}

/** A payment as read back: every field present. */
export interface PaymentRow extends PaymentRecord {
  reason: string | null;
  slot: bigint | null;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  signature: string;
  request_id: string;
  direction: PaymentDirection;
  payer: string;
  recipient: string;
  lamports: bigint;
  period: bigint;
  state: PaymentState;
  reason: string | null;
  slot: bigint | null;
  created_at: bigint;
  updated_at: bigint;
}

const fromRow = (r: Row): PaymentRow => ({
  signature: r.signature,
  requestId: r.request_id,
  direction: r.direction,
  payer: r.payer,
  recipient: r.recipient,
  lamports: r.lamports,
  period: Number(r.period),
  state: r.state,
  reason: r.reason,
  slot: r.slot,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

const UPSERT = `INSERT INTO payments
  (signature, request_id, direction, payer, recipient, lamports, period, state, reason, slot, created_at, updated_at)
  VALUES (@signature, @requestId, @direction, @payer, @recipient, @lamports, @period, @state, @reason, @slot, @now, @now)
  ON CONFLICT (signature) DO UPDATE SET request_id = excluded.request_id, direction = excluded.direction,
    payer = excluded.payer, recipient = excluded.recipient, lamports = excluded.lamports, period = excluded.period,
    state = excluded.state, reason = excluded.reason, slot = excluded.slot, updated_at = excluded.updated_at`;

function params(p: PaymentRecord, now: number): Record<string, unknown> {
  return {
    signature: p.signature,
    requestId: p.requestId,
    direction: p.direction,
    payer: p.payer,
    recipient: p.recipient,
    lamports: p.lamports,
    period: p.period,
    state: p.state,
    reason: p.reason ?? null,
    slot: p.slot ?? null,
    now,
  };
}

/** Insert or update a payment (the buyer side records 'sent', then 'confirmed' or 'failed'). */
export function recordPayment(db: Db, p: PaymentRecord, now = Date.now()): void {
  db.prepare(UPSERT).run(params(p, now));
}

export function getPayment(db: Db, signature: string): PaymentRow | undefined {
  const row = db.prepare('SELECT * FROM payments WHERE signature = ?').safeIntegers(true).get(signature) as
    Row | undefined;
  return row && fromRow(row);
}

export function listPayments(
  db: Db,
  filter: {
    requestId?: string;
    direction?: PaymentDirection;
    limit?: number;
    /** 'newest' first (default) or by 'period' (then time): a purchase's or sale's payments in order. */
    order?: 'newest' | 'period';
  } = {},
): PaymentRow[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (filter.requestId !== undefined) {
    where.push('request_id = ?');
    args.push(filter.requestId);
  }
  if (filter.direction !== undefined) {
    where.push('direction = ?');
    args.push(filter.direction);
  }
  const sql = `SELECT * FROM payments ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
    ORDER BY ${filter.order === 'period' ? 'period, created_at' : 'created_at DESC, signature'} LIMIT ?`;
  const rows = db
    .prepare(sql)
    .safeIntegers(true)
    .all(...args, filter.limit ?? 1000) as Row[];
  return rows.map(fromRow);
}

/**
 * Accept an incoming payment once: 'claimed' when it is now recorded as verified, 'replayed'
 * when this signature was already accepted before (for whatever request or period).
 */
export function claimIncomingPayment(
  db: Db,
  p: Omit<PaymentRecord, 'direction' | 'state' | 'reason'>,
  now = Date.now(),
): 'claimed' | 'replayed' {
  const tx = db.transaction((): 'claimed' | 'replayed' => {
    const row = db
      .prepare('SELECT state FROM payments WHERE signature = ? AND direction = ?')
      .get(p.signature, 'in') as { state: string } | undefined;
    if (row?.state === 'verified') return 'replayed';
    db.prepare(UPSERT).run(params({ ...p, direction: 'in', state: 'verified', reason: null }, now));
    return 'claimed';
  });
  return tx.immediate();
}

/** Record a refused incoming payment (never downgrades one already verified). */
export function recordRefusedPayment(
  db: Db,
  p: Omit<PaymentRecord, 'direction' | 'state'> & { reason: string },
  now = Date.now(),
): void {
  const tx = db.transaction(() => {
    const row = db.prepare('SELECT state FROM payments WHERE signature = ?').get(p.signature) as
      { state: string } | undefined;
    if (row?.state === 'verified') return;
    db.prepare(UPSERT).run(params({ ...p, direction: 'in', state: 'refused' }, now));
  });
  tx.immediate();
}

/** Lamports verified for a request (seller side) or confirmed (buyer side). */
export function totalForRequest(db: Db, requestId: string, direction: PaymentDirection): bigint {
  const state = direction === 'in' ? 'verified' : 'confirmed';
  const row = db
    .prepare(
      'SELECT COALESCE(SUM(lamports), 0) AS total FROM payments WHERE request_id = ? AND direction = ? AND state = ?',
    )
    .safeIntegers(true)
    .get(requestId, direction, state) as { total: bigint };
  return row.total;
}
