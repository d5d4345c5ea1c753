// Runs in: Node. The rpc_health row: the running node's view of its RPC endpoint (requests, 429s),
// written when it changes and read by `axon status` (which may run in another process).
import type { Db } from './db';

/** The ledger layer's RpcHealth, as stored (declared here: store sits below ledger). */
export interface RpcHealthRow {
  rateLimited: boolean;
  pausedUntil: number | null;
  limitedCount: number;
  lastLimitedAt: number | null;
  requests: number;
  byMethod: Record<string, number>;
}

export interface StoredRpcHealth extends RpcHealthRow {
  updatedAt: number;
}

interface Row {
  rate_limited: number;
  paused_until: number | null;
  limited_count: number;
  last_limited_at: number | null;
  requests: number;
  by_method: string;
  updated_at: number;
}

export function saveRpcHealth(db: Db, h: RpcHealthRow, now = Date.now()): void {
  db.prepare(
    `INSERT INTO rpc_health (id, rate_limited, paused_until, limited_count, last_limited_at, requests, by_method, updated_at)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET rate_limited = excluded.rate_limited, paused_until = excluded.paused_until,
       limited_count = excluded.limited_count, last_limited_at = excluded.last_limited_at,
       requests = excluded.requests, by_method = excluded.by_method, updated_at = excluded.updated_at`,
  ).run(
    h.rateLimited ? 1 : 0,
    h.pausedUntil,
    h.limitedCount,
    h.lastLimitedAt,
    h.requests,
    JSON.stringify(h.byMethod),
    now,
  );
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
  };
}
