// Runs in: Node. This node's latest NAT verdict (migration 014): written by the running node when
// the verdict changes, read by `axon status`.
import type { Db } from './db';

export interface StoredNat {
  mapping: string;
  reachability: string;
  filtering: string | null;
  publicIp: string | null;
  warnings: string[];
  at: number;
}

export class NatStore {
  constructor(private readonly db: Db) {}

  save(n: StoredNat): void {
    this.db
      .prepare(
        `INSERT INTO nat_verdict (id, mapping, reachability, filtering, public_ip, warnings, at)
         VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET mapping = excluded.mapping, reachability = excluded.reachability,
           filtering = excluded.filtering, public_ip = excluded.public_ip, warnings = excluded.warnings, at = excluded.at`,
      )
      .run(n.mapping, n.reachability, n.filtering, n.publicIp, JSON.stringify(n.warnings), n.at);
  }

  last(): StoredNat | undefined {
    const r = this.db
      .prepare('SELECT mapping, reachability, filtering, public_ip, warnings, at FROM nat_verdict WHERE id = 1')
      .get() as
      | {
          mapping: string;
          reachability: string;
          filtering: string | null;
          public_ip: string | null;
          warnings: string;
          at: number;
        }
      | undefined;
    if (!r) return undefined;
    let warnings: string[] = [];
    try {
      const w = JSON.parse(r.warnings) as unknown;
      if (Array.isArray(w)) warnings = w.filter((x): x is string => typeof x === 'string');
    } catch {
      // a damaged row still shows its verdict
    }
    return {
      mapping: r.mapping,
      reachability: r.reachability,
      filtering: r.filtering,
      publicIp: r.public_ip,
      warnings,
      at: r.at,
    };
  }
}
