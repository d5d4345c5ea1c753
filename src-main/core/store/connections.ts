// Runs in: Node. Store module for the net layer's history: connections (one row per libp2p
// connection the ladder or a peer opened), connection_attempts (every ladder step) and peers
// (nodes seen on the market: roles, multiaddrs). Times are unix ms.
import type { Db } from './db';
import { now } from './db';

export interface ConnectionRow {
  id: number;
  peer_id: string;
  request_id: string | null;
  path: string;
  relay: string | null;
  remote_addr: string | null;
  opened_at: number;
  closed_at: number | null;
  close_reason: string | null;
  rtt_ms: number | null;
  bytes_in: number;
  bytes_out: number;
}

export interface AttemptRow {
  id: number;
  connection_id: number | null;
  peer_id: string;
  request_id: string | null;
  method: string;
  addresses: string;
  started_at: number;
  duration_ms: number | null;
  outcome: string;
  error: string | null;
}

export interface PeerRow {
  peer_id: string;
  address: string;
  roles: string;
  multiaddrs: string;
  first_seen: number;
  last_seen: number;
}

export class ConnectionStore {
  constructor(private readonly db: Db) {}

  openConnection(c: {
    peerId: string;
    requestId?: string;
    path: string;
    relay?: string;
    remoteAddr?: string;
    openedAt?: number;
  }): number {
    const r = this.db
      .prepare(
        `INSERT INTO connections (peer_id, request_id, path, relay, remote_addr, opened_at) VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(c.peerId, c.requestId ?? null, c.path, c.relay ?? null, c.remoteAddr ?? null, c.openedAt ?? now());
    return Number(r.lastInsertRowid);
  }

  updateConnection(id: number, u: { rttMs?: number; bytesIn?: number; bytesOut?: number; path?: string }): void {
    this.db
      .prepare(
        `UPDATE connections SET rtt_ms = COALESCE(?, rtt_ms), bytes_in = COALESCE(?, bytes_in),
           bytes_out = COALESCE(?, bytes_out), path = COALESCE(?, path) WHERE id = ?`,
      )
      .run(
        u.rttMs === undefined ? null : Math.round(u.rttMs),
        u.bytesIn ?? null,
        u.bytesOut ?? null,
        u.path ?? null,
        id,
      );
  }

  closeConnection(id: number, reason: string, at = now()): void {
    this.db
      .prepare(`UPDATE connections SET closed_at = ?, close_reason = ? WHERE id = ? AND closed_at IS NULL`)
      .run(at, reason, id);
  }

  /** Connections left open by a crash are closed at startup. */
  closeDangling(reason = 'node restarted'): number {
    return this.db
      .prepare(`UPDATE connections SET closed_at = ?, close_reason = ? WHERE closed_at IS NULL`)
      .run(now(), reason).changes;
  }

  connections(peerId?: string, limit = 100): ConnectionRow[] {
    return (
      peerId
        ? this.db.prepare(`SELECT * FROM connections WHERE peer_id = ? ORDER BY id DESC LIMIT ?`).all(peerId, limit)
        : this.db.prepare(`SELECT * FROM connections ORDER BY id DESC LIMIT ?`).all(limit)
    ) as ConnectionRow[];
  }

  recordAttempt(a: {
    peerId: string;
    requestId?: string;
    method: string;
    addresses: string[];
    startedAt: number;
    durationMs?: number;
    outcome: string;
    error?: string;
    connectionId?: number;
  }): number {
    const r = this.db
      .prepare(
        `INSERT INTO connection_attempts (connection_id, peer_id, request_id, method, addresses, started_at, duration_ms, outcome, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.connectionId ?? null,
        a.peerId,
        a.requestId ?? null,
        a.method,
        JSON.stringify(a.addresses),
        a.startedAt,
        a.durationMs === undefined ? null : Math.round(a.durationMs),
        a.outcome,
        a.error ?? null,
      );
    return Number(r.lastInsertRowid);
  }

  finishAttempt(id: number, u: { durationMs: number; outcome: string; error?: string; connectionId?: number }): void {
    this.db
      .prepare(
        `UPDATE connection_attempts SET duration_ms = ?, outcome = ?, error = ?, connection_id = COALESCE(?, connection_id) WHERE id = ?`,
      )
      .run(Math.round(u.durationMs), u.outcome, u.error ?? null, u.connectionId ?? null, id);
  }

  attempts(peerId?: string, limit = 200): AttemptRow[] {
    return (
      peerId
        ? this.db
            .prepare(`SELECT * FROM connection_attempts WHERE peer_id = ? ORDER BY id DESC LIMIT ?`)
            .all(peerId, limit)
        : this.db.prepare(`SELECT * FROM connection_attempts ORDER BY id DESC LIMIT ?`).all(limit)
    ) as AttemptRow[];
  }

  upsertPeer(p: { peerId: string; address: string; roles: string[]; multiaddrs: string[]; seenAt?: number }): void {
    const t = p.seenAt ?? now();
    this.db
      .prepare(
        `INSERT INTO peers (peer_id, address, roles, multiaddrs, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (peer_id) DO UPDATE SET roles = excluded.roles, multiaddrs = excluded.multiaddrs, last_seen = excluded.last_seen`,
      )
      .run(p.peerId, p.address, JSON.stringify(p.roles), JSON.stringify(p.multiaddrs), t, t);
  }

  peers(role?: string): PeerRow[] {
    const rows = this.db.prepare(`SELECT * FROM peers ORDER BY last_seen DESC`).all() as PeerRow[];
    return role ? rows.filter((r) => (JSON.parse(r.roles) as string[]).includes(role)) : rows;
  }
}
