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
        `INSERT INTO role_announcements (peer, roles, multiaddrs, expires_at, seen_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (peer) DO UPDATE SET roles = excluded.roles, multiaddrs = excluded.multiaddrs,
           expires_at = excluded.expires_at, seen_at = excluded.seen_at
         WHERE excluded.expires_at >= role_announcements.expires_at`,
      )
      .run(a.peer, JSON.stringify(a.roles), JSON.stringify(a.multiaddrs), a.expiresAt, Date.now());
  }

  /** Announcements still alive at `nowSec`; the expired ones are deleted. */
  liveAnnouncements(nowSec = Math.floor(Date.now() / 1000)): StoredAnnouncement[] {
    this.db.prepare('DELETE FROM role_announcements WHERE expires_at <= ?').run(nowSec);
    const rows = this.db
      .prepare('SELECT peer, roles, multiaddrs, expires_at FROM role_announcements ORDER BY expires_at DESC')
      .all() as { peer: string; roles: string; multiaddrs: string; expires_at: number }[];
    return rows.map((r) => ({
      peer: r.peer,
      roles: strings(r.roles).filter((x): x is 'relay' | 'reflector' => x === 'relay' || x === 'reflector'),
      multiaddrs: strings(r.multiaddrs),
      expiresAt: r.expires_at,
    }));
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
}
