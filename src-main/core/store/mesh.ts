// Runs in: Node. Store module of the mesh (docs/mesh.md, migration 015): which sales went to a
// rebroadcaster (sales.rebroadcast: the buyer resells the stream as that listing), and what this
// node earned through each rebroadcaster.
import type { Db } from './db';

export interface RebroadcasterEarnings {
  /** The rebroadcaster's address (the buyer of the sales). */
  rebroadcaster: string;
  /** Its rebroadcast listing id. */
  listingId: string;
  /** Our stream it rebroadcasts. */
  streamId: string;
  sales: number;
  /** Lamports (or token base units with `mint`) it paid us. */
  earned: bigint;
  mint: string | null;
}

/**
 * Mark the sales of `streamId` to `buyer` as sales to a rebroadcaster reselling it as
 * `listingId` (its derived listing names our stream as its upstream). Returns the rows marked.
 */
export function markRebroadcastSales(db: Db, buyer: string, streamId: string, listingId: string): number {
  return db
    .prepare(
      `UPDATE sales SET rebroadcast = ? WHERE buyer = ? AND stream_id = ? AND (rebroadcast IS NULL OR rebroadcast <> ?)`,
    )
    .run(listingId, buyer, streamId, listingId).changes;
}

/** What this node earned through each rebroadcaster (biggest first). */
export function earningsPerRebroadcaster(db: Db): RebroadcasterEarnings[] {
  const rows = db
    .prepare(
      `SELECT buyer, rebroadcast, stream_id, mint, COUNT(*) AS n, SUM(earned) AS earned FROM sales
       WHERE rebroadcast IS NOT NULL GROUP BY buyer, rebroadcast, stream_id, mint ORDER BY SUM(earned) DESC`,
    )
    .safeIntegers(true)
    .all() as Record<string, unknown>[];
  return rows.map((r) => ({
    rebroadcaster: r.buyer as string,
    listingId: r.rebroadcast as string,
    streamId: r.stream_id as string,
    sales: Number(r.n),
    earned: BigInt(r.earned as bigint),
    mint: (r.mint as string | null) ?? null,
  }));
}
