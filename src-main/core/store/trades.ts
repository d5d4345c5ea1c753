// Runs in: Node. Store module for trades: purchases (buyer side), sales (seller side), their state
// transitions (each with reason and time), and access to the payments that paid for them (the
// payments table itself is store/payments.ts). A state change and its transitions row are written
// in one SQLite transaction. Lamports are bigint.
import type { Db } from './db';
import { now } from './db';
import { listPayments, recordPayment, recordRefusedPayment, type PaymentRecord, type PaymentRow } from './payments';

import { FINAL_STATES_SQL, type TradeState } from '../../../src-shared/contract/states';

export { FINAL_STATES, isFinal, type TradeState } from '../../../src-shared/contract/states';

/** Allowed moves; streaming → streaming records "paid through period k". */
const NEXT: Record<TradeState, TradeState[]> = {
  requested: ['accepted', 'rejected', 'failed', 'ended'],
  accepted: ['connecting', 'streaming', 'failed', 'ended'],
  connecting: ['streaming', 'connecting', 'failed', 'ended'],
  streaming: ['streaming', 'connecting', 'ended', 'failed'],
  ended: [],
  failed: [],
  rejected: [],
};

export class TransitionError extends Error {
  override name = 'TransitionError';
}

export interface PurchaseRow {
  id: string;
  listingId: string;
  seller: string;
  streamId: string;
  tier: 'direct' | 'relay';
  state: TradeState;
  reason: string | null;
  maxMinutes: number;
  maxLamports: bigint;
  pricePerPeriod: bigint | null;
  periodMs: number | null;
  graceMs: number | null;
  paidThrough: number;
  /** Lamports paid to the seller (prices). */
  spent: bigint;
  /** Lamports of transaction fees paid for this purchase (its payments); the cap covers spent + fees. */
  fees: bigint;
  lastSeq: number;
  frames: number;
  dropped: number;
  startedAt: number | null;
  peerInfo: unknown;
  /** Where the frames go: `file` NDJSON records, `serve` the local endpoint, `raw` the raw-byte
   *  outputs (market/sinks/raw.ts validates their shape; kept here as stored JSON). */
  sinks: { file?: string; serve?: boolean; raw?: Record<string, unknown> };
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Paid in this SPL token (prices, spent, cap in its base units; fees stay lamports); null = SOL. */
  mint: string | null;
  /** The raw file's checkpoint (migration 011): the last frame in it and the file's size after it. */
  rawFileSeq: number | null;
  rawFileOffset: number | null;
  /** Median latency of its data from the origin (ms, migration 018); null: not measured. */
  latencyMs?: number | null;
}

export interface SaleRow {
  id: string;
  buyer: string;
  streamId: string;
  tier: 'direct' | 'relay';
  state: TradeState;
  reason: string | null;
  pricePerPeriod: bigint;
  periodMs: number;
  graceMs: number;
  paidThrough: number;
  earned: bigint;
  frames: number;
  dropped: number;
  startedAt: number | null;
  peerInfo: { addrs: string[]; relays: string[] } | null;
  maxLamports: bigint;
  maxMinutes: number;
  createdAt: number;
  updatedAt: number;
  /** Paid in this SPL token (prices, earned in its base units); null = SOL. */
  mint: string | null;
  /** The buyer resells this stream as this rebroadcast listing (docs/mesh.md); null: a plain buyer. */
  rebroadcast?: string | null;
}

export interface TransitionRow {
  kind: 'purchase' | 'sale';
  refId: string;
  from: TradeState | null;
  to: TradeState;
  reason: string | null;
  at: number;
}

export type { PaymentRow };

type Raw = Record<string, unknown>;
const n = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));
const nOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : n(v));
const big = (v: unknown): bigint => BigInt(v as number | bigint);

function purchaseFrom(r: Raw): PurchaseRow {
  return {
    id: r.id as string,
    listingId: r.listing_id as string,
    seller: r.seller as string,
    streamId: r.stream_id as string,
    tier: r.tier as 'direct' | 'relay',
    state: r.state as TradeState,
    reason: (r.reason as string | null) ?? null,
    maxMinutes: n(r.max_minutes),
    maxLamports: big(r.max_lamports),
    pricePerPeriod: r.price_per_period === null ? null : big(r.price_per_period),
    periodMs: nOrNull(r.period_ms),
    graceMs: nOrNull(r.grace_ms),
    paidThrough: n(r.paid_through),
    spent: big(r.spent),
    fees: big(r.fees ?? 0),
    lastSeq: n(r.last_seq),
    frames: n(r.frames),
    dropped: n(r.dropped),
    startedAt: nOrNull(r.started_at),
    peerInfo: r.peer_info ? JSON.parse(r.peer_info as string) : null,
    sinks: JSON.parse((r.sinks as string) || '{}'),
    expiresAt: nOrNull(r.expires_at),
    createdAt: n(r.created_at),
    updatedAt: n(r.updated_at),
    mint: (r.mint as string | null) ?? null,
    rawFileSeq: nOrNull(r.raw_file_seq),
    rawFileOffset: nOrNull(r.raw_file_offset),
    latencyMs: nOrNull(r.latency_ms),
  };
}

function saleFrom(r: Raw): SaleRow {
  return {
    id: r.id as string,
    buyer: r.buyer as string,
    streamId: r.stream_id as string,
    tier: r.tier as 'direct' | 'relay',
    state: r.state as TradeState,
    reason: (r.reason as string | null) ?? null,
    pricePerPeriod: big(r.price_per_period),
    periodMs: n(r.period_ms),
    graceMs: n(r.grace_ms),
    paidThrough: n(r.paid_through),
    earned: big(r.earned),
    frames: n(r.frames),
    dropped: n(r.dropped),
    startedAt: nOrNull(r.started_at),
    peerInfo: r.peer_info ? JSON.parse(r.peer_info as string) : null,
    maxLamports: big(r.max_lamports),
    maxMinutes: n(r.max_minutes),
    createdAt: n(r.created_at),
    updatedAt: n(r.updated_at),
    mint: (r.mint as string | null) ?? null,
    rebroadcast: (r.rebroadcast as string | null | undefined) ?? null,
  };
}

export class TradeStore {
  constructor(readonly db: Db) {}

  // ---- purchases ----
  insertPurchase(p: {
    id: string;
    listingId: string;
    seller: string;
    streamId: string;
    tier: 'direct' | 'relay';
    maxMinutes: number;
    maxLamports: bigint;
    sinks: PurchaseRow['sinks'];
    expiresAt: number;
    mint?: string | null;
    /** Reason of the first transition (default 'buy'). */
    reason?: string;
  }): PurchaseRow {
    const t = now();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO purchases (id, listing_id, seller, stream_id, tier, state, max_minutes, max_lamports, sinks, expires_at, created_at, updated_at, mint)
           VALUES (?, ?, ?, ?, ?, 'requested', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          p.id,
          p.listingId,
          p.seller,
          p.streamId,
          p.tier,
          p.maxMinutes,
          p.maxLamports,
          JSON.stringify(p.sinks),
          p.expiresAt,
          t,
          t,
          p.mint ?? null,
        );
      this.#transition('purchase', p.id, null, 'requested', p.reason ?? 'buy', t);
    })();
    return this.purchase(p.id)!;
  }

  purchase(id: string): PurchaseRow | undefined {
    const r = this.db.prepare(`SELECT * FROM purchases WHERE id = ?`).safeIntegers(true).get(id) as Raw | undefined;
    return r ? purchaseFrom(r) : undefined;
  }

  purchases(opts: { active?: boolean; limit?: number } = {}): PurchaseRow[] {
    const where = opts.active ? `WHERE state NOT IN ${FINAL_STATES_SQL}` : '';
    return (
      this.db
        .prepare(`SELECT * FROM purchases ${where} ORDER BY created_at DESC LIMIT ?`)
        .safeIntegers(true)
        .all(opts.limit ?? 1000) as Raw[]
    ).map(purchaseFrom);
  }

  updatePurchase(
    id: string,
    u: Partial<
      Pick<
        PurchaseRow,
        | 'pricePerPeriod'
        | 'periodMs'
        | 'graceMs'
        | 'paidThrough'
        | 'spent'
        | 'fees'
        | 'lastSeq'
        | 'frames'
        | 'dropped'
        | 'startedAt'
        | 'peerInfo'
        | 'rawFileSeq'
        | 'rawFileOffset'
        | 'latencyMs'
      >
    >,
  ): void {
    const cols: string[] = [];
    const vals: unknown[] = [];
    const map: Record<string, string> = {
      pricePerPeriod: 'price_per_period',
      periodMs: 'period_ms',
      graceMs: 'grace_ms',
      paidThrough: 'paid_through',
      spent: 'spent',
      fees: 'fees',
      lastSeq: 'last_seq',
      frames: 'frames',
      dropped: 'dropped',
      startedAt: 'started_at',
      peerInfo: 'peer_info',
      rawFileSeq: 'raw_file_seq',
      rawFileOffset: 'raw_file_offset',
      latencyMs: 'latency_ms',
    };
    for (const [k, v] of Object.entries(u)) {
      if (v === undefined) continue;
      cols.push(`${map[k]} = ?`);
      vals.push(k === 'peerInfo' ? JSON.stringify(v) : v);
    }
    if (!cols.length) return;
    this.db.prepare(`UPDATE purchases SET ${cols.join(', ')}, updated_at = ? WHERE id = ?`).run(...vals, now(), id);
  }

  /** Raise a purchase's minutes and spending cap (the buyer reads both before each period). */
  extendPurchase(id: string, addMinutes: number, addLamports: bigint): void {
    this.db
      .prepare(
        `UPDATE purchases SET max_minutes = max_minutes + ?, max_lamports = max_lamports + ?, updated_at = ? WHERE id = ?`,
      )
      .run(addMinutes, addLamports, now(), id);
  }

  /**
   * A full seller redirected a request (docs/mesh.md): the purchase, still 'requested', now goes
   * to another listing of the same stream (a rebroadcast); recorded as a requested → requested
   * transition with the reason. Nothing was paid to the first seller.
   */
  redirectPurchase(
    id: string,
    to: { listingId: string; seller: string; streamId: string; tier: 'direct' | 'relay'; expiresAt: number },
    reason: string,
  ): PurchaseRow {
    const t = now();
    this.db.transaction(() => {
      const r = this.db
        .prepare(
          `UPDATE purchases SET listing_id = ?, seller = ?, stream_id = ?, tier = ?, expires_at = ?, updated_at = ?
           WHERE id = ? AND state = 'requested'`,
        )
        .run(to.listingId, to.seller, to.streamId, to.tier, to.expiresAt, t, id);
      if (r.changes !== 1) throw new TransitionError(`purchase ${id} is not waiting for an answer: not redirected`);
      this.#transition('purchase', id, 'requested', 'requested', reason, t);
    })();
    return this.purchase(id)!;
  }

  /** Move a purchase to `to` (checked against the state machine), recording the transition. */
  movePurchase(id: string, to: TradeState, reason: string): PurchaseRow {
    return this.#move('purchase', 'purchases', id, to, reason) as PurchaseRow;
  }

  // ---- sales ----
  insertSale(s: {
    id: string;
    buyer: string;
    streamId: string;
    tier: 'direct' | 'relay';
    pricePerPeriod: bigint;
    periodMs: number;
    graceMs: number;
    maxLamports: bigint;
    maxMinutes: number;
    mint?: string | null;
  }): SaleRow {
    const t = now();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO sales (id, buyer, stream_id, tier, state, price_per_period, period_ms, grace_ms, max_lamports, max_minutes, created_at, updated_at, mint)
           VALUES (?, ?, ?, ?, 'requested', ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          s.id,
          s.buyer,
          s.streamId,
          s.tier,
          s.pricePerPeriod,
          s.periodMs,
          s.graceMs,
          s.maxLamports,
          s.maxMinutes,
          t,
          t,
          s.mint ?? null,
        );
      this.#transition('sale', s.id, null, 'requested', 'service request', t);
    })();
    return this.sale(s.id)!;
  }

  sale(id: string): SaleRow | undefined {
    const r = this.db.prepare(`SELECT * FROM sales WHERE id = ?`).safeIntegers(true).get(id) as Raw | undefined;
    return r ? saleFrom(r) : undefined;
  }

  sales(opts: { active?: boolean; streamId?: string; limit?: number } = {}): SaleRow[] {
    const where: string[] = [];
    const p: unknown[] = [];
    if (opts.active) where.push(`state NOT IN ${FINAL_STATES_SQL}`);
    if (opts.streamId) {
      where.push('stream_id = ?');
      p.push(opts.streamId);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return (
      this.db
        .prepare(`SELECT * FROM sales ${w} ORDER BY created_at DESC LIMIT ?`)
        .safeIntegers(true)
        .all(...p, opts.limit ?? 1000) as Raw[]
    ).map(saleFrom);
  }

  /** The sales of one buyer for one stream created at or after `since` (unix ms), newest first. */
  salesOf(buyer: string, streamId: string, since: number): SaleRow[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM sales WHERE buyer = ? AND stream_id = ? AND created_at >= ? ORDER BY created_at DESC LIMIT 100`,
        )
        .safeIntegers(true)
        .all(buyer, streamId, since) as Raw[]
    ).map(saleFrom);
  }

  updateSale(
    id: string,
    u: Partial<Pick<SaleRow, 'paidThrough' | 'earned' | 'frames' | 'dropped' | 'startedAt' | 'peerInfo'>>,
  ): void {
    const map: Record<string, string> = {
      paidThrough: 'paid_through',
      earned: 'earned',
      frames: 'frames',
      dropped: 'dropped',
      startedAt: 'started_at',
      peerInfo: 'peer_info',
    };
    const cols: string[] = [];
    const vals: unknown[] = [];
    for (const [k, v] of Object.entries(u)) {
      if (v === undefined) continue;
      cols.push(`${map[k]} = ?`);
      vals.push(k === 'peerInfo' ? JSON.stringify(v) : v);
    }
    if (!cols.length) return;
    this.db.prepare(`UPDATE sales SET ${cols.join(', ')}, updated_at = ? WHERE id = ?`).run(...vals, now(), id);
  }

  moveSale(id: string, to: TradeState, reason: string): SaleRow {
    return this.#move('sale', 'sales', id, to, reason) as SaleRow;
  }

  // ---- transitions ----
  transitions(kind: 'purchase' | 'sale', refId: string): TransitionRow[] {
    return (
      this.db.prepare(`SELECT * FROM transitions WHERE kind = ? AND ref_id = ? ORDER BY id`).all(kind, refId) as Raw[]
    ).map((r) => ({
      kind: r.kind as 'purchase' | 'sale',
      refId: r.ref_id as string,
      from: (r.from_state as TradeState | null) ?? null,
      to: r.to_state as TradeState,
      reason: (r.reason as string | null) ?? null,
      at: n(r.at),
    }));
  }

  // ---- payments (the table belongs to store/payments.ts) ----
  recordPayment(p: Omit<PaymentRecord, 'createdAt' | 'updatedAt'>): void {
    recordPayment(this.db, p);
  }

  /** Refused incoming payment; never downgrades one already verified (e.g. a replayed signature). */
  recordRefusedPayment(p: Omit<PaymentRecord, 'direction' | 'state'> & { reason: string }): void {
    recordRefusedPayment(this.db, p);
  }

  /** A request's payments by period, or the newest 1000. */
  payments(requestId?: string): PaymentRow[] {
    return requestId !== undefined ? listPayments(this.db, { requestId, order: 'period' }) : listPayments(this.db);
  }

  #transition(
    kind: 'purchase' | 'sale',
    id: string,
    from: TradeState | null,
    to: TradeState,
    reason: string,
    at: number,
  ): void {
    this.db
      .prepare(`INSERT INTO transitions (kind, ref_id, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(kind, id, from, to, reason, at);
  }

  #move(
    kind: 'purchase' | 'sale',
    table: 'purchases' | 'sales',
    id: string,
    to: TradeState,
    reason: string,
  ): PurchaseRow | SaleRow {
    return this.db.transaction(() => {
      const cur = this.db.prepare(`SELECT state FROM ${table} WHERE id = ?`).get(id) as
        { state: TradeState } | undefined;
      if (!cur) throw new TransitionError(`no ${kind} ${id}`);
      if (!NEXT[cur.state].includes(to))
        throw new TransitionError(`${kind} ${id}: ${cur.state} → ${to} is not allowed (${reason})`);
      const t = now();
      this.db.prepare(`UPDATE ${table} SET state = ?, reason = ?, updated_at = ? WHERE id = ?`).run(to, reason, t, id);
      this.#transition(kind, id, cur.state, to, reason, t);
      return kind === 'purchase' ? this.purchase(id)! : this.sale(id)!;
    })();
  }
}
