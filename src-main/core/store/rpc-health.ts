// Runs in: Node. The rpc_health row: the running node's view of its RPC endpoint (requests, 429s,
// what the pacer held back), written when it changes and read by `axon status` (which may run in
// another process). The 429s and the pacer's waits are also kept summed over every run (migration
// 017), so a restart does not make them vanish.
import type { Db } from './db';

/** The ledger layer's RpcHealth, as stored (declared here: store sits below ledger). */
export interface RpcHealthRow {
  rateLimited: boolean;
  pausedUntil: number | null;
  limitedCount: number;
  lastLimitedAt: number | null;
  requests: number;
  byMethod: Record<string, number>;
  /** What the pacer held back this run (null or absent: not paced). */
  pacing?: { paced: number; waitedMs: number } | null;
}

export interface StoredRpcHealth extends RpcHealthRow {
  updatedAt: number;
  /** Requests the pacer held back this run, and how long they waited (ms). */
  paced: number;
  waitedMs: number;
  /** Summed over every run of this data dir: 429 answers, requests held back, ms waited. */
  limitedTotal: number;
  pacedTotal: number;
  waitedTotalMs: number;
}

interface Row {
  rate_limited: number;
  paused_until: number | null;
  limited_count: number;
  last_limited_at: number | null;
  requests: number;
  by_method: string;
  updated_at: number;
  paced: number;
  waited_ms: number;
  limited_total: number;
  paced_total: number;
  waited_total_ms: number;
}

/** Totals of the runs before this one (what the row held when the node started). */
interface Totals {
  limited: number;
  paced: number;
  waitedMs: number;
  lastLimitedAt: number | null;
}

export function saveRpcHealth(db: Db, h: RpcHealthRow, now = Date.now(), before: Totals = NO_TOTALS): void {
  const paced = h.pacing?.paced ?? 0;
  const waited = Math.round(h.pacing?.waitedMs ?? 0);
  db.prepare(
    `INSERT INTO rpc_health (id, rate_limited, paused_until, limited_count, last_limited_at, requests, by_method, updated_at,
       paced, waited_ms, limited_total, paced_total, waited_total_ms)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET rate_limited = excluded.rate_limited, paused_until = excluded.paused_until,
       limited_count = excluded.limited_count, last_limited_at = excluded.last_limited_at,
       requests = excluded.requests, by_method = excluded.by_method, updated_at = excluded.updated_at,
       paced = excluded.paced, waited_ms = excluded.waited_ms, limited_total = excluded.limited_total,
       paced_total = excluded.paced_total, waited_total_ms = excluded.waited_total_ms`,
  ).run(
    h.rateLimited ? 1 : 0,
    h.pausedUntil,
    h.limitedCount,
    h.lastLimitedAt ?? before.lastLimitedAt,
    h.requests,
    JSON.stringify(h.byMethod),
    now,
    paced,
    waited,
    before.limited + h.limitedCount,
    before.paced + paced,
    before.waitedMs + waited,
  );
}

const NO_TOTALS: Totals = { limited: 0, paced: 0, waitedMs: 0, lastLimitedAt: null };

/**
 * A saver for this run: the totals of the runs before it are read once, at start, and this run's
 * counts are added to them on every save.
 */
export function rpcHealthSaver(db: Db): (h: RpcHealthRow) => void {
  const prior = loadRpcHealth(db);
  const before: Totals = prior
    ? {
        limited: prior.limitedTotal,
        paced: prior.pacedTotal,
        waitedMs: prior.waitedTotalMs,
        lastLimitedAt: prior.lastLimitedAt,
      }
    : NO_TOTALS;
  return (h) => saveRpcHealth(db, h, Date.now(), before);
}

export function loadRpcHealth(db: Db): StoredRpcHealth | null {
  const r = db.prepare('SELECT * FROM rpc_health WHERE id = 1').get() as Row | undefined;
  if (!r) return null;
  let byMethod: Record<string, number> = {};
  try {
    byMethod = JSON.parse(r.by_method) as Record<string, number>;
  } catch {
    /* written by us; unreadable only if edited by hand */
  }
  return {
    rateLimited: r.rate_limited === 1,
    pausedUntil: r.paused_until,
    limitedCount: r.limited_count,
    lastLimitedAt: r.last_limited_at,
    requests: r.requests,
    byMethod,
    updatedAt: r.updated_at,
    paced: r.paced,
    waitedMs: r.waited_ms,
    limitedTotal: r.limited_total,
    pacedTotal: r.paced_total,
    waitedTotalMs: r.waited_total_ms,
  };
}
