// Runs in: Node. The ledger_cursors table: per topic (or named cursor), the last transaction a
// watcher has delivered. getSignaturesForAddress(topic, { until: lastSignature }) resumes there.
import type { Db } from './db';

export interface LedgerCursor {
  name: string;
  lastSignature: string | null;
  lastSlot: bigint | null;
  updatedAt: number;
}

interface Row {
  topic: string;
  last_signature: string | null;
  last_slot: bigint | null;
  updated_at: bigint;
}

export function getCursor(db: Db, name: string): LedgerCursor | undefined {
  const row = db
    .prepare('SELECT topic, last_signature, last_slot, updated_at FROM ledger_cursors WHERE topic = ?')
    .safeIntegers(true)
    .get(name) as Row | undefined;
  if (!row) return undefined;
  return {
    name: row.topic,
    lastSignature: row.last_signature,
    lastSlot: row.last_slot,
    updatedAt: Number(row.updated_at),
  };
}

export function setCursor(
  db: Db,
  name: string,
  lastSignature: string | null,
  lastSlot: bigint | null,
  at = Date.now(),
): void {
  db.prepare(
    `INSERT INTO ledger_cursors (topic, last_signature, last_slot, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (topic) DO UPDATE SET last_signature = excluded.last_signature,
       last_slot = excluded.last_slot, updated_at = excluded.updated_at`,
  ).run(name, lastSignature, lastSlot, at);
}

export function deleteCursor(db: Db, name: string): void {
  db.prepare('DELETE FROM ledger_cursors WHERE topic = ?').run(name);
}

export function listCursors(db: Db): LedgerCursor[] {
  const rows = db
    .prepare('SELECT topic, last_signature, last_slot, updated_at FROM ledger_cursors ORDER BY topic')
    .safeIntegers(true)
    .all() as Row[];
  return rows.map((r) => ({
    name: r.topic,
    lastSignature: r.last_signature,
    lastSlot: r.last_slot,
    updatedAt: Number(r.updated_at),
  }));
}
