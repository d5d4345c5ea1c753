// Runs in: Node. The relay/reflector directory in SQLite (migration 006): NodeAnnounces with their
// expiry, so a restarted node uses them at once instead of waiting for the next announcements;
// and this node's own role state, which `axon status` shows without a running node.
import type { Db } from './db';

export interface StoredAnnouncement {
  peer: string;
  roles: ('relay' | 'reflector')[];
  multiaddrs: string[];
  /** Unix seconds. */
  expiresAt: number;
  /** Lamports per minute of a relayed purchase (0 = free; migration 007). */
  relayPrice?: bigint;
  /** Health checks failed in a row and when the last one failed (unix ms; migration 016). */
  fails?: number;
  failedAt?: number;
}

/** A relay's share of a period's payment: sent by the buyer ('out') or checked by the relay ('in'). */
export interface RelayPaymentRow {
  signature: string;
  direction: 'out' | 'in';
  requestId: string;
  period: number;
  payer: string;
  relay: string;
  peer: string;
  lamports: bigint;
  state: 'confirmed' | 'verified' | 'refused';
  reason: string | null;
  createdAt: number;
}

/** What the relay role carried on one UTC day (migration 007). */
export interface RelayUseRow {
  day: number;
  bytes: bigint;
  refused: number;
  cutUnpaid: number;
  /** bytes/s at the last save */
  rate: number;
  updatedAt: number;
}

export interface StoredRoleState {
  role: 'relay' | 'reflector';
  mode: 'auto' | 'on' | 'off';
  active: boolean;
  reason: string;
  /** Unix ms. */
  updatedAt: number;
}

const strings = (json: string): string[] => {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
};

export class RoleStore {
  constructor(private readonly db: Db) {}

  /** Keep (or replace with a later one) a peer's announcement. */
  saveAnnouncement(a: StoredAnnouncement): void {
    this.db
      .prepare(
        `INSERT INTO role_announcements (peer, roles, multiaddrs, expires_at, seen_at, relay_price)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (peer) DO UPDATE SET roles = excluded.roles, multiaddrs = excluded.multiaddrs,
           expires_at = excluded.expires_at, seen_at = excluded.seen_at, relay_price = excluded.relay_price,
           fails = CASE WHEN excluded.multiaddrs = role_announcements.multiaddrs THEN fails ELSE 0 END
         WHERE excluded.expires_at >= role_announcements.expires_at`,
      )
      .run(a.peer, JSON.stringify(a.roles), JSON.stringify(a.multiaddrs), a.expiresAt, Date.now(), a.relayPrice ?? 0n);
  }

  /** Announcements still alive at `nowSec`; the expired ones are deleted. */
  liveAnnouncements(nowSec = Math.floor(Date.now() / 1000)): StoredAnnouncement[] {
    this.db.prepare('DELETE FROM role_announcements WHERE expires_at <= ?').run(nowSec);
    const rows = this.db
      .prepare(
        `SELECT peer, roles, multiaddrs, expires_at, relay_price, fails, failed_at FROM role_announcements
         ORDER BY expires_at DESC`,
      )
      .all() as {
      peer: string;
      roles: string;
      multiaddrs: string;
      expires_at: number;
      relay_price: number;
      fails: number;
      failed_at: number;
    }[];
    return rows.map((r) => ({
      peer: r.peer,
      roles: strings(r.roles).filter((x): x is 'relay' | 'reflector' => x === 'relay' || x === 'reflector'),
      multiaddrs: strings(r.multiaddrs),
      expiresAt: r.expires_at,
      ...(r.relay_price > 0 ? { relayPrice: BigInt(r.relay_price) } : {}),
      ...(r.fails > 0 ? { fails: r.fails, failedAt: r.failed_at } : {}),
    }));
  }

  /** A health check of an announced peer: failures counted in a row (0 again once it answers). */
  saveHealth(peer: string, ok: boolean, at = Date.now()): void {
    this.db
      .prepare(
        ok
          ? 'UPDATE role_announcements SET fails = 0 WHERE peer = ?'
          : 'UPDATE role_announcements SET fails = fails + 1, failed_at = ? WHERE peer = ?',
      )
      .run(...(ok ? [peer] : [at, peer]));
  }

  saveRoleState(s: Omit<StoredRoleState, 'updatedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO role_state (role, mode, active, reason, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (role) DO UPDATE SET mode = excluded.mode, active = excluded.active,
           reason = excluded.reason, updated_at = excluded.updated_at`,
      )
      .run(s.role, s.mode, s.active ? 1 : 0, s.reason, Date.now());
  }

  roleStates(): StoredRoleState[] {
    const rows = this.db
      .prepare('SELECT role, mode, active, reason, updated_at FROM role_state ORDER BY role')
      .all() as {
      role: 'relay' | 'reflector';
      mode: 'auto' | 'on' | 'off';
      active: number;
      reason: string;
      updated_at: number;
    }[];
    return rows.map((r) => ({
      role: r.role,
      mode: r.mode,
      active: r.active === 1,
      reason: r.reason,
      updatedAt: r.updated_at,
    }));
  }

  /** Keep a relay share; false when this signature was already kept in this direction (paid/counted once). */
  recordRelayPayment(p: Omit<RelayPaymentRow, 'createdAt'>): boolean {
    const r = this.db
      .prepare(
        `INSERT INTO relay_payments (signature, direction, request_id, period, payer, relay, peer, lamports, state,
           reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(
        p.signature,
        p.direction,
        p.requestId,
        p.period,
        p.payer,
        p.relay,
        p.peer,
        p.lamports,
        p.state,
        p.reason,
        Date.now(),
      );
    return r.changes === 1;
  }

  /** Relay shares, newest first (of one purchase when requestId is given). */
  relayPayments(o: { requestId?: string; limit?: number } = {}): RelayPaymentRow[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM relay_payments ${o.requestId !== undefined ? 'WHERE request_id = @requestId' : ''}
         ORDER BY created_at DESC LIMIT @limit`,
      )
      .all({ limit: o.limit ?? 1000, ...(o.requestId !== undefined ? { requestId: o.requestId } : {}) }) as {
      signature: string;
      direction: 'out' | 'in';
      request_id: string;
      period: number | bigint;
      payer: string;
      relay: string;
      peer: string;
      lamports: number | bigint;
      state: RelayPaymentRow['state'];
      reason: string | null;
      created_at: number | bigint;
    }[];
    return rows.map((r) => ({
      signature: r.signature,
      direction: r.direction,
      requestId: r.request_id,
      period: Number(r.period),
      payer: r.payer,
      relay: r.relay,
      peer: r.peer,
      lamports: BigInt(r.lamports),
      state: r.state,
      reason: r.reason,
      createdAt: Number(r.created_at),
    }));
  }

  saveRelayUse(u: Omit<RelayUseRow, 'updatedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO relay_use (day, bytes, refused, cut_unpaid, rate, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (day) DO UPDATE SET bytes = excluded.bytes, refused = excluded.refused,
           cut_unpaid = excluded.cut_unpaid, rate = excluded.rate, updated_at = excluded.updated_at`,
      )
      .run(u.day, u.bytes, u.refused, u.cutUnpaid, u.rate, Date.now());
  }

  /** The relay's use on a UTC day (default today). */
  relayUse(day = Math.floor(Date.now() / 86_400_000)): RelayUseRow | undefined {
    const r = this.db.prepare('SELECT * FROM relay_use WHERE day = ?').get(day) as
      | {
          day: number | bigint;
          bytes: number | bigint;
          refused: number | bigint;
          cut_unpaid: number | bigint;
          rate: number | bigint;
          updated_at: number | bigint;
        }
      | undefined;
    return r
      ? {
          day: Number(r.day),
          bytes: BigInt(r.bytes),
          refused: Number(r.refused),
          cutUnpaid: Number(r.cut_unpaid),
          rate: Number(r.rate),
          updatedAt: Number(r.updated_at),
        }
      : undefined;
  }
}
