// Runs in: Node. Store module of the automatic rebroadcaster (docs/mesh.md "Automatic
// rebroadcasters", migration 019): the streams this node took on a full seller's ask.
import type { Db } from './db';

export interface AutoRebroadcastRow {
  streamId: string;
  listingId: string;
  purchaseId: string;
  askedBy: string;
  startedAt: number;
  lastBuyerAt: number;
  stoppedAt: number | null;
  reason: string | null;
}

const row = (r: Record<string, unknown>): AutoRebroadcastRow => ({
  streamId: r.stream_id as string,
  listingId: r.listing_id as string,
  purchaseId: r.purchase_id as string,
  askedBy: r.asked_by as string,
  startedAt: r.started_at as number,
  lastBuyerAt: r.last_buyer_at as number,
  stoppedAt: (r.stopped_at as number | null) ?? null,
  reason: (r.reason as string | null) ?? null,
});

export class MeshAutoStore {
  constructor(private readonly db: Db) {}

  /** A stream taken (a stream id used before is taken again: the old row is replaced). */
  start(r: Omit<AutoRebroadcastRow, 'stoppedAt' | 'reason' | 'lastBuyerAt'>): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO mesh_auto (stream_id, listing_id, purchase_id, asked_by, started_at, last_buyer_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(r.streamId, r.listingId, r.purchaseId, r.askedBy, r.startedAt, r.startedAt);
  }

  /** The automatic rebroadcasts running (not stopped). */
  active(): AutoRebroadcastRow[] {
    return (
      this.db.prepare(`SELECT * FROM mesh_auto WHERE stopped_at IS NULL ORDER BY started_at`).all() as Record<
        string,
        unknown
      >[]
    ).map(row);
  }

  /** All of them, newest first. */
  all(limit = 100): AutoRebroadcastRow[] {
    return (
      this.db.prepare(`SELECT * FROM mesh_auto ORDER BY started_at DESC LIMIT ?`).all(limit) as Record<
        string,
        unknown
      >[]
    ).map(row);
  }

  /** The latest row of a listing taken (running or stopped). */
  latestFor(listingId: string): AutoRebroadcastRow | undefined {
    const r = this.db
      .prepare(`SELECT * FROM mesh_auto WHERE listing_id = ? ORDER BY started_at DESC LIMIT 1`)
      .get(listingId) as Record<string, unknown> | undefined;
    return r ? row(r) : undefined;
  }

  sawBuyer(streamId: string, at: number): void {
    this.db.prepare(`UPDATE mesh_auto SET last_buyer_at = ? WHERE stream_id = ?`).run(at, streamId);
  }

  stop(streamId: string, at: number, reason: string): void {
    this.db
      .prepare(`UPDATE mesh_auto SET stopped_at = ?, reason = ? WHERE stream_id = ? AND stopped_at IS NULL`)
      .run(at, reason.slice(0, 300), streamId);
  }
}
