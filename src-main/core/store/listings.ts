// Runs in: Node. Store module for the market catalog (table `listings`: every Listing seen on
// the market topic, ours included, with expiry) and the seller's own streams (table `offers`).
// Lamports are bigint (read with safeIntegers). Times are unix ms.
import type { Db } from './db';
import { now } from './db';

export interface ListingRow {
  id: string; // seller:streamId
  seller: string;
  streamId: string;
  title: string;
  description: string;
  tags: string[];
  format: string;
  rateMilliHz: number;
  priceDirect: bigint;
  priceRelay: bigint | null;
  periodSec: number;
  region: string | null;
  origin: string | null;
  healthy: boolean;
  own: boolean;
  publishedAt: number;
  expiresAt: number;
  delistedAt: number | null;
  signature: string | null;
  /** Priced in this SPL token (prices in its base units); null = SOL (lamports). */
  mint: string | null;
  /** The Listing's schema hint (src-shared/stream-schema.ts), null when it has none. */
  schemaHint: string | null;
  /** A rebroadcast of a rebroadcast: the listing id it is bought from (null: from its origin). */
  upstream: string | null;
  /** 0 = an origin; k = k rebroadcasters between the origin and a buyer of this listing. */
  hops: number;
  /** A rebroadcast: the latency of its data from the origin when it leaves the rebroadcaster (ms). */
  hopMs: number | null;
  /** Where the seller answers a preview (multiaddrs without /p2p/<seller>); empty: none given. */
  addrs: string[];
  /** Its seller said it takes no further buyer now (docs/mesh.md "Full is not the end"). */
  full: boolean;
}

export interface ListingFilter {
  /** Free text over title, description, tags, stream id. */
  text?: string;
  tag?: string;
  format?: string;
  /** Max price per minute on the chosen tier (default direct). */
  maxPrice?: bigint;
  tier?: 'direct' | 'relay';
  /** Only listings published (refreshed) within this many ms. */
  freshWithinMs?: number;
  seller?: string;
  includeOwn?: boolean;
  healthyOnly?: boolean;
  limit?: number;
}

export interface OfferRow {
  streamId: string;
  title: string;
  description: string;
  tags: string[];
  format: string;
  source: unknown;
  priceDirect: bigint;
  priceRelay: bigint | null;
  periodSec: number;
  graceSec: number;
  capacity: number;
  region: string | null;
  origin: string | null;
  ttlSec: number;
  /** Priced in this SPL token; null = SOL. */
  mint: string | null;
  /** What the frames hold: given by the seller, or inferred from the first frames; null = not yet. */
  schemaHint: string | null;
  /** 'recent': buyers may preview a few recent frames for free; 'off': no preview. */
  preview: 'recent' | 'off';
  /** A rebroadcast of a rebroadcast: the listing id it is bought from. */
  upstream: string | null;
  /** A rebroadcast: its hop count (0 = an origin). */
  hops: number;
  /** Upload budget of the stream (bytes/s; null = none): past it buyers are redirected (docs/mesh.md). */
  uploadBps: number | null;
  paused: boolean;
  nextSeq: number;
  createdAt: number;
  updatedAt: number;
}

type Raw = Record<string, unknown>;
const n = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));
const big = (v: unknown): bigint => BigInt(v as number | bigint);
const bigOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(v as number | bigint));

function listingFromRow(r: Raw): ListingRow {
  return {
    id: r.id as string,
    seller: r.seller as string,
    streamId: r.stream_id as string,
    title: r.title as string,
    description: r.description as string,
    tags: JSON.parse(r.tags as string) as string[],
    format: r.format as string,
    rateMilliHz: n(r.rate_millihz),
    priceDirect: big(r.price_direct),
    priceRelay: bigOrNull(r.price_relay),
    periodSec: n(r.period_sec),
    region: (r.region as string | null) ?? null,
    origin: (r.origin as string | null) ?? null,
    healthy: n(r.healthy) === 1,
    own: n(r.own) === 1,
    publishedAt: n(r.published_at),
    expiresAt: n(r.expires_at),
    delistedAt: r.delisted_at === null ? null : n(r.delisted_at),
    signature: (r.signature as string | null) ?? null,
    mint: (r.mint as string | null) ?? null,
    schemaHint: (r.schema_hint as string | null) ?? null,
    upstream: (r.upstream as string | null) ?? null,
    hops: n(r.hops ?? 0),
    hopMs: r.hop_ms === null || r.hop_ms === undefined ? null : n(r.hop_ms),
    addrs: r.addrs ? (JSON.parse(r.addrs as string) as string[]) : [],
    full: n(r.full ?? 0) === 1,
  };
}

function offerFromRow(r: Raw): OfferRow {
  return {
    streamId: r.stream_id as string,
    title: r.title as string,
    description: r.description as string,
    tags: JSON.parse(r.tags as string) as string[],
    format: r.format as string,
    source: JSON.parse(r.source as string),
    priceDirect: big(r.price_direct),
    priceRelay: bigOrNull(r.price_relay),
    periodSec: n(r.period_sec),
    graceSec: n(r.grace_sec),
    capacity: n(r.capacity),
    region: (r.region as string | null) ?? null,
    origin: (r.origin as string | null) ?? null,
    ttlSec: n(r.ttl_sec),
    mint: (r.mint as string | null) ?? null,
    schemaHint: (r.schema_hint as string | null) ?? null,
    preview: r.preview === 'off' ? 'off' : 'recent',
    upstream: (r.upstream as string | null) ?? null,
    hops: n(r.hops ?? 0),
    uploadBps: r.upload_bps === null || r.upload_bps === undefined ? null : n(r.upload_bps),
    paused: n(r.paused) === 1,
    nextSeq: n(r.next_seq),
    createdAt: n(r.created_at),
    updatedAt: n(r.updated_at),
  };
}

export const listingId = (seller: string, streamId: string): string => `${seller}:${streamId}`;

/** An offer as the seller writes it: the row without its timestamps, the optional fields optional. */
type NewOffer = Omit<
  OfferRow,
  'createdAt' | 'updatedAt' | 'nextSeq' | 'mint' | 'schemaHint' | 'preview' | 'upstream' | 'hops' | 'uploadBps'
> & {
  nextSeq?: number;
  mint?: string | null;
  upstream?: string | null;
  hops?: number;
  uploadBps?: number | null;
};

export class ListingStore {
  constructor(private readonly db: Db) {}

  /** Insert or refresh a listing seen on the market topic (newer publishedAt wins). */
  upsert(
    l: Omit<
      ListingRow,
      'id' | 'delistedAt' | 'mint' | 'schemaHint' | 'upstream' | 'hops' | 'hopMs' | 'addrs' | 'full'
    > & {
      mint?: string | null;
      full?: boolean;
      schemaHint?: string | null;
      upstream?: string | null;
      hops?: number;
      hopMs?: number | null;
      addrs?: string[];
    },
  ): void {
    const id = listingId(l.seller, l.streamId);
    const { schemaHint, addrs, full, ...rest } = l;
    this.#upsert(id, rest);
    this.db
      .prepare(`UPDATE listings SET schema_hint = ?, addrs = ?, full = ? WHERE id = ? AND published_at = ?`)
      .run(schemaHint ?? null, addrs?.length ? JSON.stringify(addrs) : null, full ? 1 : 0, id, l.publishedAt);
  }

  #upsert(
    id: string,
    l: Omit<
      ListingRow,
      'id' | 'delistedAt' | 'mint' | 'schemaHint' | 'upstream' | 'hops' | 'hopMs' | 'addrs' | 'full'
    > & {
      mint?: string | null;
      upstream?: string | null;
      hops?: number;
      hopMs?: number | null;
    },
  ): void {
    this.db
      .prepare(
        `INSERT INTO listings (id, seller, stream_id, title, description, tags, format, rate_millihz, price_direct,
           price_relay, region, origin, healthy, own, published_at, expires_at, delisted_at, signature, period_sec, mint,
           upstream, hops, hop_ms)
         VALUES (@id, @seller, @streamId, @title, @description, @tags, @format, @rate, @priceDirect, @priceRelay,
           @region, @origin, @healthy, @own, @publishedAt, @expiresAt, NULL, @signature, @periodSec, @mint,
           @upstream, @hops, @hopMs)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
           tags = excluded.tags, format = excluded.format, rate_millihz = excluded.rate_millihz,
           price_direct = excluded.price_direct, price_relay = excluded.price_relay, region = excluded.region,
           origin = excluded.origin, healthy = excluded.healthy, own = MAX(own, excluded.own),
           published_at = excluded.published_at, expires_at = excluded.expires_at, delisted_at = NULL,
           signature = excluded.signature, period_sec = excluded.period_sec, mint = excluded.mint,
           upstream = excluded.upstream, hops = excluded.hops, hop_ms = excluded.hop_ms
         WHERE excluded.published_at >= listings.published_at`,
      )
      .run({
        id,
        seller: l.seller,
        streamId: l.streamId,
        title: l.title,
        description: l.description,
        tags: JSON.stringify(l.tags),
        format: l.format,
        rate: l.rateMilliHz,
        priceDirect: l.priceDirect,
        priceRelay: l.priceRelay,
        region: l.region,
        origin: l.origin,
        healthy: l.healthy ? 1 : 0,
        own: l.own ? 1 : 0,
        publishedAt: l.publishedAt,
        expiresAt: l.expiresAt,
        signature: l.signature,
        periodSec: l.periodSec,
        mint: l.mint ?? null,
        upstream: l.upstream ?? null,
        hops: l.hops ?? 0,
        hopMs: l.hopMs ?? null,
      });
  }

  delist(seller: string, streamId: string, at = now()): boolean {
    const r = this.db
      .prepare(`UPDATE listings SET delisted_at = ? WHERE id = ? AND published_at <= ?`)
      .run(at, listingId(seller, streamId), at);
    return r.changes > 0;
  }

  get(id: string): ListingRow | undefined {
    const r = this.db.prepare(`SELECT * FROM listings WHERE id = ?`).safeIntegers(true).get(id) as Raw | undefined;
    return r ? listingFromRow(r) : undefined;
  }

  /** Live listings (not expired, not delisted) matching the filter, freshest first. */
  search(f: ListingFilter = {}, at = now()): ListingRow[] {
    const where = ['l.expires_at > @at', 'l.delisted_at IS NULL'];
    const p: Record<string, unknown> = { at };
    if (!f.includeOwn) where.push('l.own = 0');
    if (f.text) {
      where.push(
        `(l.title LIKE @text ESCAPE '\\' OR l.description LIKE @text ESCAPE '\\' OR l.tags LIKE @text ESCAPE '\\' OR l.stream_id LIKE @text ESCAPE '\\')`,
      );
      p.text = `%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    if (f.tag) {
      where.push(`EXISTS (SELECT 1 FROM json_each(l.tags) WHERE lower(json_each.value) = lower(@tag))`);
      p.tag = f.tag;
    }
    if (f.format) {
      where.push('l.format = @format');
      p.format = f.format;
    }
    if (f.maxPrice !== undefined) {
      where.push(
        f.tier === 'relay' ? 'l.price_relay IS NOT NULL AND l.price_relay <= @maxPrice' : 'l.price_direct <= @maxPrice',
      );
      p.maxPrice = f.maxPrice;
    } else if (f.tier === 'relay') where.push('l.price_relay IS NOT NULL');
    if (f.freshWithinMs !== undefined) {
      where.push('l.published_at >= @fresh');
      p.fresh = at - f.freshWithinMs;
    }
    if (f.seller) {
      where.push('l.seller = @seller');
      p.seller = f.seller;
    }
    if (f.healthyOnly) where.push('l.healthy = 1');
    p.limit = f.limit ?? 500;
    const rows = this.db
      .prepare(
        `SELECT l.* FROM listings l
         WHERE ${where.join(' AND ')} ORDER BY l.published_at DESC LIMIT @limit`,
      )
      .safeIntegers(true)
      .all(p) as Raw[];
    return rows.map(listingFromRow);
  }

  /** Forget listings expired (or delisted) for longer than `keepMs`. */
  purge(keepMs = 24 * 3600_000, at = now()): number {
    return this.db
      .prepare(`DELETE FROM listings WHERE own = 0 AND (expires_at < ? OR delisted_at < ?)`)
      .run(at - keepMs, at - keepMs).changes;
  }

  // ---- offers (the seller's own streams) ----

  putOffer(o: NewOffer & { schemaHint?: string | null; preview?: 'recent' | 'off' }): void {
    const { schemaHint, preview, ...rest } = o;
    this.#putOffer(rest);
    this.db
      .prepare(`UPDATE offers SET schema_hint = ?, preview = ? WHERE stream_id = ?`)
      .run(schemaHint ?? null, preview ?? 'recent', o.streamId);
  }

  /** The schema hint inferred from a stream's first frames (kept: the listing stays stable). */
  /** A rebroadcast fed by another purchase (its upstream failed over): its source and chain. */
  setOfferFeed(streamId: string, f: { purchaseId: string; upstream: string | null; hops: number }): void {
    this.db
      .prepare(`UPDATE offers SET source = ?, upstream = ?, hops = ?, updated_at = ? WHERE stream_id = ?`)
      .run(JSON.stringify({ kind: 'purchase', purchaseId: f.purchaseId }), f.upstream, f.hops, now(), streamId);
  }

  setOfferSchema(streamId: string, hint: string): void {
    this.db.prepare(`UPDATE offers SET schema_hint = ? WHERE stream_id = ?`).run(hint, streamId);
  }

  #putOffer(o: NewOffer): void {
    const t = now();
    this.db
      .prepare(
        `INSERT INTO offers (stream_id, title, description, tags, format, source, price_direct, price_relay, period_sec,
           grace_sec, capacity, region, origin, ttl_sec, paused, next_seq, created_at, updated_at, mint, upstream, hops, upload_bps)
         VALUES (@streamId, @title, @description, @tags, @format, @source, @priceDirect, @priceRelay, @periodSec,
           @graceSec, @capacity, @region, @origin, @ttlSec, @paused, @nextSeq, @t, @t, @mint, @upstream, @hops, @uploadBps)
         ON CONFLICT (stream_id) DO UPDATE SET title = excluded.title, description = excluded.description,
           tags = excluded.tags, format = excluded.format, source = excluded.source, price_direct = excluded.price_direct,
           price_relay = excluded.price_relay, period_sec = excluded.period_sec, grace_sec = excluded.grace_sec,
           capacity = excluded.capacity, region = excluded.region, origin = excluded.origin, ttl_sec = excluded.ttl_sec,
           paused = excluded.paused, updated_at = excluded.updated_at, mint = excluded.mint,
           upstream = excluded.upstream, hops = excluded.hops, upload_bps = excluded.upload_bps`,
      )
      .run({
        ...o,
        tags: JSON.stringify(o.tags),
        source: JSON.stringify(o.source),
        paused: o.paused ? 1 : 0,
        nextSeq: o.nextSeq ?? 0,
        mint: o.mint ?? null,
        upstream: o.upstream ?? null,
        hops: o.hops ?? 0,
        uploadBps: o.uploadBps ?? null,
        t,
      });
  }

  offers(): OfferRow[] {
    return (this.db.prepare(`SELECT * FROM offers ORDER BY created_at`).safeIntegers(true).all() as Raw[]).map(
      offerFromRow,
    );
  }

  offer(streamId: string): OfferRow | undefined {
    const r = this.db.prepare(`SELECT * FROM offers WHERE stream_id = ?`).safeIntegers(true).get(streamId) as
      Raw | undefined;
    return r ? offerFromRow(r) : undefined;
  }

  setPaused(streamId: string, paused: boolean): boolean {
    return (
      this.db
        .prepare(`UPDATE offers SET paused = ?, updated_at = ? WHERE stream_id = ?`)
        .run(paused ? 1 : 0, now(), streamId).changes > 0
    );
  }

  setNextSeq(streamId: string, seq: number): void {
    this.db.prepare(`UPDATE offers SET next_seq = MAX(next_seq, ?) WHERE stream_id = ?`).run(seq, streamId);
  }

  deleteOffer(streamId: string): boolean {
    return this.db.prepare(`DELETE FROM offers WHERE stream_id = ?`).run(streamId).changes > 0;
  }
}
