// Runs in: Node. The seller's streams for sale ("offers"): each is a source → fan-out hub,
// restored after a restart, published as a Listing on the market topic, refreshed before its TTL,
// republished when the source's health changes, and delisted on pause or removal.
import { z } from 'zod';
import { address as toAddress, isAddress } from '@solana/kit';
import type { Listing } from '../ledger/types';
import { newNonce, expiresIn, MAX_LAMPORTS, MAX_MESH_HOPS } from '../ledger/messages';
import { listingId, type OfferRow } from '../store/listings';
import { StreamHub } from './hub';
import { SourceConfigSchema, SourceSupervisor, createSource, type SourceConfig } from './sources/index';
import type { MarketContext } from './context';
import { MarketError } from './types';
import { MAX_LISTING_TTL_SEC } from './catalog';
import { frameChainer } from './frame-chain';
import { publicAddrs } from './preview';
import { encodePayload, MAX_PAYLOAD_BYTES, MessageTooLargeError } from '../ledger/envelope';
import {
  formatSchemaHint,
  inferSchema,
  parseSchemaHint,
  SCHEMA_HINT_MAX_BYTES,
} from '../../../src-shared/stream-schema';

const lamports = z.bigint().min(0n).max(MAX_LAMPORTS, `at most ${MAX_LAMPORTS} lamports`);

export const SellOptionsSchema = z
  .object({
    streamId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,48}$/, 'stream id: letters, digits, . _ - (1..48)')
      .optional(),
    title: z.string().min(1).max(80),
    description: z.string().max(280).default(''),
    tags: z.array(z.string().min(1).max(24)).max(8).default([]),
    format: z.string().min(1).max(64).optional(),
    source: SourceConfigSchema,
    /** Lamports per minute, direct tier. */
    priceDirect: lamports,
    /** Lamports per minute, rebroadcast tier (a relay may resell at this price). */
    priceRelay: lamports.optional(),
    periodSec: z.number().int().min(1).max(86_400).optional(),
    graceSec: z.number().int().min(1).max(3_600).optional(),
    capacity: z.number().int().min(1).max(10_000).default(50),
    region: z.string().max(32).optional(),
    origin: z.object({ seller: z.string(), streamId: z.string() }).optional(),
    /** A rebroadcast of a rebroadcast: the listing it is bought from (docs/mesh.md). */
    upstream: z.object({ seller: z.string(), streamId: z.string() }).optional(),
    /** A rebroadcast: rebroadcasters between the origin and its buyers (1 = bought from the origin). */
    hops: z.number().int().min(1).max(MAX_MESH_HOPS).optional(),
    /**
     * Upload budget (bytes/s) of the stream: a buyer whose share would take the stream's upload
     * past it is redirected to its rebroadcasts, as one past `capacity` is (docs/mesh.md).
     */
    uploadBps: z.number().int().min(1).max(10_000_000_000).optional(),
    /** Priced in this SPL token (prices in its base units, e.g. USDC: 6 decimals); absent = SOL. */
    mint: z
      .string()
      .refine((s) => isAddress(s), 'not a mint address')
      .optional(),
    /**
     * What the frames hold, e.g. `alt_baro ft, gs kt` or `json key=hex: alt_baro ft, flight text`
     * (src-shared/stream-schema.ts); absent: inferred from the first frames.
     */
    schema: z
      .string()
      .superRefine((s, ctx) => {
        const r = parseSchemaHint(s);
        if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error });
      })
      .optional(),
    /** 'recent' (default): buyers may preview a few recent frames for free; 'off': no preview. */
    preview: z.enum(['recent', 'off']).default('recent'),
  })
  .strict();
export type SellOptions = z.input<typeof SellOptionsSchema>;

/** A seller's hint in its compact form (fields as `name unit`, the format and key before ':'). */
function canonicalHint(text: string): string {
  const r = parseSchemaHint(text);
  return r.ok ? formatSchemaHint(r.schema, SCHEMA_HINT_MAX_BYTES) : text;
}

/**
 * A Listing that does not fit a transaction whole (long title, description, tags) carries fewer
 * of its schema hint's fields (formatSchemaHint drops the least useful first), down to none, then
 * fewer preview addresses: the hint and the addresses never make a listing too large to post.
 */
export function fitListing(msg: Listing): Listing {
  const size = (m: Listing): number => {
    try {
      return encodePayload(m).length;
    } catch (e) {
      if (e instanceof MessageTooLargeError) return e.size;
      throw e;
    }
  };
  if (size(msg) <= MAX_PAYLOAD_BYTES) return msg;
  let m: Listing = { ...msg };
  const parsed = msg.schema ? parseSchemaHint(msg.schema) : null;
  if (parsed?.ok) {
    for (let max = SCHEMA_HINT_MAX_BYTES - 8; max > 8; max -= 8) {
      m = { ...m, schema: formatSchemaHint(parsed.schema, max) };
      if (size(m) <= MAX_PAYLOAD_BYTES) return m;
    }
  }
  delete m.schema;
  while (size(m) > MAX_PAYLOAD_BYTES && m.addrs?.length) {
    m = { ...m, addrs: m.addrs.slice(0, -1) };
    if (m.addrs!.length === 0) delete m.addrs;
  }
  return m;
}

const SEQ_SAVE_EVERY = 256;
/** A new stream's source must start and survive this long (or send data) before it is listed. */
export const SOURCE_CHECK_MS = 1500;

export interface LiveOffer {
  offer: OfferRow;
  hub: StreamHub;
  supervisor: SourceSupervisor | null;
  healthy: boolean;
  /** Its source is being checked before the first listing: nothing is published meanwhile. */
  checking?: boolean;
}

export class OfferBook {
  readonly live = new Map<string, LiveOffer>();
  /** A Listing post under way per stream (remove() waits for it so its Delist comes last). */
  #publishing = new Map<string, Promise<void>>();
  /** When each stream's listing was last posted (the refresh and health rules below). */
  #publishedAt = new Map<string, number>();
  /** A health change held back by the minimum gap, posted when the gap is over. */
  #healthTimers = new Map<string, NodeJS.Timeout>();
  /** A rebroadcast's measured latency from its origin (ms), put in its listing (mesh.ts). */
  hopMs: ((l: LiveOffer) => number | undefined) | undefined = undefined;
  /** Whether the stream takes no further buyer now, as its listing says (the seller's sweep). */
  full: ((streamId: string) => boolean) | undefined = undefined;

  constructor(
    private readonly ctx: MarketContext,
    /** A removed stream's active sales must end (the seller side does it). */
    private readonly onRemoved: (saleId: string, reason: string) => void,
  ) {}

  async startAll(): Promise<void> {
    for (const o of this.ctx.listings.offers()) await this.#startOffer(o);
  }

  async stopAll(): Promise<void> {
    for (const t of this.#healthTimers.values()) clearTimeout(t);
    this.#healthTimers.clear();
    for (const l of this.live.values()) {
      await l.supervisor?.stop();
      this.ctx.listings.setNextSeq(l.offer.streamId, l.hub.nextSeq);
      l.hub.close();
    }
    this.live.clear();
  }

  /** Add (or replace) a stream for sale and publish its listing. */
  async sell(input: SellOptions): Promise<OfferRow> {
    const r = SellOptionsSchema.safeParse(input);
    if (!r.success)
      throw new MarketError(
        'bad-input',
        r.error.issues.map((i) => `${i.path.join('.') || 'sell'}: ${i.message}`).join('; '),
      );
    const o = r.data;
    const streamId =
      o.streamId ??
      (o.title
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '')
        .slice(0, 40) ||
        'stream');
    const source: SourceConfig = o.source;
    const format = o.format ?? (source.kind === 'purchase' ? 'application/x-ndjson' : createSource(source).format);
    if (o.mint) {
      // the mint must exist on this ledger (its decimals give the prices their meaning)
      await this.ctx.ledger.asset(o.mint).catch((e: unknown) => {
        throw new MarketError('bad-input', `mint: ${(e as Error).message}`);
      });
    }
    const prev = this.live.get(streamId);
    if (prev) {
      await prev.supervisor?.stop();
      prev.hub.close();
      this.live.delete(streamId);
    }
    this.ctx.listings.putOffer({
      streamId,
      title: o.title,
      description: o.description,
      tags: o.tags,
      format,
      source,
      priceDirect: o.priceDirect,
      priceRelay: o.priceRelay ?? null,
      periodSec: o.periodSec ?? this.ctx.timing.periodSec,
      graceSec: o.graceSec ?? this.ctx.timing.graceSec,
      capacity: o.capacity,
      region: o.region ?? null,
      origin: o.origin ? listingId(o.origin.seller, o.origin.streamId) : null,
      upstream: o.upstream ? listingId(o.upstream.seller, o.upstream.streamId) : null,
      hops: o.origin ? (o.hops ?? 1) : 0,
      uploadBps: o.uploadBps ?? null,
      // longer-lived listings are refused by every catalog (catalog.ts)
      ttlSec: Math.min(this.ctx.timing.listingTtlSec, MAX_LISTING_TTL_SEC),
      paused: false,
      mint: o.mint ?? null,
      // a given hint in its canonical compact form; null: inferred from the first frames
      schemaHint: o.schema ? canonicalHint(o.schema) : null,
      preview: o.preview,
    });
    const offer = this.ctx.listings.offer(streamId)!;
    await this.#startOffer(offer, true);
    // a source that cannot start is refused here, before anything goes on the market
    const problem = await this.#startupProblem(streamId);
    if (problem !== null) {
      if (prev) await this.remove(streamId);
      else {
        const l = this.live.get(streamId);
        this.live.delete(streamId);
        await l?.supervisor?.stop();
        l?.hub.close();
        this.ctx.listings.deleteOffer(streamId);
      }
      throw new MarketError('source-failed', problem);
    }
    await this.publish(streamId);
    return offer;
  }

  /** Null when the stream's source started and kept running (or sent data); else its error. */
  async #startupProblem(streamId: string): Promise<string | null> {
    const l = this.live.get(streamId);
    if (!l) return null;
    const sup = l.supervisor;
    // a rebroadcast (purchase source) stays 'checking' — not listed — until its first frame comes
    // (fed()): a rebroadcaster whose own purchase is refused or never streams sells nothing
    if (!sup) return null;
    try {
      if (!sup.health.healthy) return sup.health.lastError ?? 'the source did not start';
      return await new Promise<string | null>((resolve) => {
        const done = (v: string | null) => {
          clearTimeout(timer);
          clearInterval(poll);
          sup.off('health', onHealth);
          resolve(v);
        };
        const onHealth = (h: { healthy: boolean; lastError: string | null }) => {
          if (!h.healthy) done(h.lastError ?? 'the source stopped');
        };
        sup.on('health', onHealth);
        const timer = setTimeout(() => done(null), SOURCE_CHECK_MS);
        const poll = setInterval(() => sup.health.frames > 0 && done(null), 50);
      });
    } finally {
      l.checking = false;
    }
  }

  async setPaused(streamId: string, paused: boolean): Promise<void> {
    if (!this.ctx.listings.setPaused(streamId, paused))
      throw new MarketError('unknown-stream', `no stream '${streamId}' for sale`);
    const l = this.live.get(streamId);
    if (l) l.offer = this.ctx.listings.offer(streamId)!;
    if (paused) await this.#delist(streamId);
    else await this.publish(streamId);
  }

  /**
   * Stop selling a stream: drop it and stop its source first (a stopping source turns unhealthy,
   * and a health change republishes — which must find nothing to publish), let a listing refresh
   * already on its way land, then delist and end its sales.
   */
  async remove(streamId: string, reason = 'seller stopped selling'): Promise<void> {
    const l = this.live.get(streamId);
    if (!l && !this.ctx.listings.offer(streamId))
      throw new MarketError('unknown-stream', `no stream '${streamId}' for sale`);
    this.live.delete(streamId);
    if (l) {
      await l.supervisor?.stop();
      l.hub.close();
    }
    await this.#publishing.get(streamId)?.catch(() => undefined);
    // a stream never listed (a rebroadcast whose data never flowed) has nothing to delist
    if (!l?.checking)
      await this.#delist(streamId).catch((e) => this.ctx.log.warn({ err: (e as Error).message }, 'delist failed'));
    for (const s of this.ctx.trades.sales({ active: true, streamId })) this.onRemoved(s.id, reason);
    this.ctx.listings.deleteOffer(streamId);
  }

  /** The hub of a stream (rebroadcast feeds it from a purchase). */
  hub(streamId: string): StreamHub | undefined {
    return this.live.get(streamId)?.hub;
  }

  /** The rebroadcasts fed by this purchase (their source is it). */
  #fedBy(purchaseId: string): LiveOffer[] {
    return [...this.live.values()].filter((l) => {
      const s = l.offer.source as SourceConfig;
      return s.kind === 'purchase' && s.purchaseId === purchaseId;
    });
  }

  /**
   * A frame from purchase `purchaseId` reached its rebroadcasts' hubs: a rebroadcast not listed yet
   * (its data did not flow before) is listed now.
   */
  fed(purchaseId: string): void {
    for (const l of this.#fedBy(purchaseId)) {
      if (!l.checking) continue;
      l.checking = false;
      void this.publish(l.offer.streamId).catch((e) =>
        this.ctx.log.warn({ err: (e as Error).message, streamId: l.offer.streamId }, 'could not list the rebroadcast'),
      );
    }
  }

  /** Stream ids of the rebroadcasts fed by this purchase. */
  fedBy(purchaseId: string): string[] {
    return this.#fedBy(purchaseId).map((l) => l.offer.streamId);
  }

  /**
   * A rebroadcast's own purchase moved to another source (its failover): the new purchase feeds
   * the hub, and the listing names the new chain (upstream, hops) at its next publish.
   */
  refeed(streamId: string, f: { purchaseId: string; upstream: string | null; hops: number }): void {
    const l = this.live.get(streamId);
    if (!l) return;
    this.ctx.listings.setOfferFeed(streamId, f);
    l.offer = this.ctx.listings.offer(streamId) ?? l.offer;
  }

  /** Rebroadcast offers fed by this purchase. */
  hubsFedBy(purchaseId: string): StreamHub[] {
    return this.#fedBy(purchaseId).map((l) => l.hub);
  }

  status(): {
    offer: OfferRow;
    healthy: boolean;
    lastError: string | null;
    subscribers: number;
    framesIn: number;
    /** Frames the source produced (a hub fed by one source read: equals framesIn). */
    sourceFrames: number;
  }[] {
    return [...this.live.values()].map((l) => ({
      offer: l.offer,
      healthy: l.healthy,
      lastError: l.supervisor?.health.lastError ?? null,
      subscribers: l.hub.subscribers.size,
      framesIn: l.hub.framesIn,
      sourceFrames: l.supervisor?.health.frames ?? 0,
    }));
  }

  /**
   * Re-post the listings due for a refresh: those posted at least half a TTL ago (any post, a
   * health change's included, restarts that clock). Called every eighth of a TTL by the seller.
   */
  async refreshDue(): Promise<void> {
    const half = (this.ctx.timing.listingTtlSec * 1000) / 2;
    for (const l of this.live.values()) {
      const at = this.#publishedAt.get(l.offer.streamId) ?? 0;
      if (!l.offer.paused && Date.now() - at >= half * 0.95)
        await this.publish(l.offer.streamId).catch((e) =>
          this.ctx.log.warn({ streamId: l.offer.streamId, err: (e as Error).message }, 'listing refresh failed'),
        );
    }
  }

  /**
   * A source's health changed: the listing says so, but at most once per quarter TTL (1 h with
   * the default 4 h TTL) so a flapping source cannot cost a transaction per flap; a change inside
   * the gap is posted when the gap is over (with the health of that moment).
   */
  #healthChanged(streamId: string): void {
    if (this.#healthTimers.has(streamId)) return;
    const gap = (this.ctx.timing.listingTtlSec * 1000) / 4;
    const wait = (this.#publishedAt.get(streamId) ?? 0) + gap - Date.now();
    const go = (): void => {
      this.#healthTimers.delete(streamId);
      void this.publish(streamId).catch(() => undefined);
    };
    if (wait <= 0) return go();
    const t = setTimeout(go, wait);
    t.unref();
    this.#healthTimers.set(streamId, t);
  }

  async publishAll(): Promise<void> {
    for (const l of this.live.values()) {
      if (!l.offer.paused)
        await this.publish(l.offer.streamId).catch((e) =>
          this.ctx.log.warn({ streamId: l.offer.streamId, err: (e as Error).message }, 'listing refresh failed'),
        );
    }
  }

  publish(streamId: string): Promise<void> {
    const l = this.live.get(streamId);
    if (!l || l.offer.paused || l.checking) return Promise.resolve();
    // one post at a time per stream (in order), so remove() can wait for the last one
    const prev = this.#publishing.get(streamId)?.catch(() => undefined) ?? Promise.resolve();
    const p = prev
      .then(() => this.#publish(l))
      .finally(() => {
        if (this.#publishing.get(streamId) === p) this.#publishing.delete(streamId);
      });
    this.#publishing.set(streamId, p);
    return p;
  }

  async #publish(l: LiveOffer): Promise<void> {
    const o = l.offer;
    if (this.live.get(o.streamId) !== l || o.paused) return; // removed or paused while queued
    const ref = (id: string) => ({ seller: toAddress(id.split(':')[0]!), streamId: id.split(':').slice(1).join(':') });
    const origin = o.origin ? ref(o.origin) : undefined;
    const upstream = o.upstream ? ref(o.upstream) : undefined;
    const hopMs = origin ? this.hopMs?.(l) : undefined;
    const schema = this.#schemaHint(l);
    const full = this.full?.(o.streamId) === true;
    // where strangers reach this node for a free preview (preview.ts), when the stream offers one
    const addrs =
      o.preview === 'off' ? [] : publicAddrs(this.ctx.net.multiaddrs?.() ?? [], this.ctx.net.libp2p.peerId.toString());
    let msg: Listing = {
      type: 'Listing',
      nonce: newNonce(),
      expiresAt: expiresIn(o.ttlSec),
      streamId: o.streamId,
      title: o.title,
      description: o.description,
      tags: o.tags,
      format: o.format,
      rateMilliHz: this.#rate(l),
      priceDirect: o.priceDirect,
      ...(o.priceRelay !== null ? { priceRelay: o.priceRelay } : {}),
      periodSec: o.periodSec,
      ...(o.region ? { region: o.region } : {}),
      healthy: l.healthy,
      roles: [],
      ...(origin ? { origin } : {}),
      ...(o.mint ? { mint: toAddress(o.mint) } : {}),
      ...(schema ? { schema } : {}),
      ...(upstream ? { upstream } : {}),
      ...(origin ? { hops: Math.max(1, o.hops) } : {}),
      ...(hopMs !== undefined ? { hopMs: Math.min(600_000, Math.max(0, Math.round(hopMs))) } : {}),
      ...(addrs.length ? { addrs } : {}),
      ...(full ? { full } : {}),
    };
    msg = fitListing(msg);
    const res = await this.ctx.ledger.post(this.ctx.marketTopic, msg);
    const at = Date.now();
    this.#publishedAt.set(o.streamId, at);
    this.ctx.listings.upsert({
      seller: this.ctx.identity.address,
      streamId: o.streamId,
      title: o.title,
      description: o.description,
      tags: o.tags,
      format: o.format,
      rateMilliHz: msg.rateMilliHz,
      priceDirect: o.priceDirect,
      priceRelay: o.priceRelay,
      periodSec: o.periodSec,
      region: o.region,
      origin: o.origin,
      healthy: l.healthy,
      own: true,
      publishedAt: at,
      expiresAt: msg.expiresAt * 1000,
      signature: res.signature,
      mint: o.mint,
      schemaHint: msg.schema ?? null,
      upstream: o.upstream,
      hops: origin ? Math.max(1, o.hops) : 0,
      hopMs: msg.hopMs ?? null,
      addrs: msg.addrs ?? [],
      full,
    });
    this.ctx.emit('listing', { id: listingId(this.ctx.identity.address, o.streamId), change: 'published' });
  }

  /**
   * The stream's schema hint: the seller's, else inferred once from the frames its source sent
   * so far (the hub's replay buffer) and kept with the offer, so the listing stays stable. A
   * rebroadcast carries its origin listing's hint.
   */
  #schemaHint(l: LiveOffer): string | undefined {
    const o = l.offer;
    if (o.schemaHint) return o.schemaHint;
    if (o.origin) return this.ctx.listings.get(o.origin)?.schemaHint ?? undefined;
    const frames = l.hub.recent(50);
    if (frames.length === 0) return undefined;
    const utf8 = new TextDecoder();
    const hint = formatSchemaHint(inferSchema(frames.map((f) => utf8.decode(f.payload))));
    this.ctx.listings.setOfferSchema(o.streamId, hint);
    l.offer = { ...o, schemaHint: hint };
    return hint;
  }

  #rate(l: LiveOffer): number {
    const s = l.offer.source as SourceConfig;
    if (s.kind === 'purchase') return 0;
    return createSource(s).rateMilliHz;
  }

  async #delist(streamId: string): Promise<void> {
    await this.ctx.ledger.post(this.ctx.marketTopic, {
      type: 'Delist',
      nonce: newNonce(),
      expiresAt: expiresIn(this.ctx.timing.listingTtlSec),
      streamId,
    });
    this.ctx.listings.delist(this.ctx.identity.address, streamId);
    this.ctx.emit('listing', { id: listingId(this.ctx.identity.address, streamId), change: 'delisted' });
  }

  async #startOffer(offer: OfferRow, check = false): Promise<void> {
    const hub = new StreamHub(offer.streamId);
    // a stream that may be rebroadcast: its origin hash-chains its frames and signs checkpoints, so
    // the buyers of a rebroadcast can tell an altered, dropped or reordered frame (mesh.ts, docs/mesh.md)
    if (!offer.origin && offer.priceRelay !== null)
      hub.chainer = frameChainer(this.ctx.identity.seed(), listingId(this.ctx.identity.address, offer.streamId));
    // next_seq is saved every SEQ_SAVE_EVERY frames (exactly on a clean stop): after a crash it may lag
    // by up to that much, so continue beyond it — seq must never go back for a resuming buyer
    hub.setNextSeq(offer.nextSeq + SEQ_SAVE_EVERY);
    const src = offer.source as SourceConfig;
    const l: LiveOffer = { offer, hub, supervisor: null, healthy: true, checking: check };
    this.live.set(offer.streamId, l);
    if (src.kind !== 'purchase') {
      const sup = new SourceSupervisor(createSource(src), hub, { log: this.ctx.log });
      l.supervisor = sup;
      sup.on('health', (h) => {
        l.healthy = h.healthy;
        this.ctx.emit('health', { streamId: offer.streamId, healthy: h.healthy, lastError: h.lastError });
        // the listing says so (at most once per quarter TTL; #healthChanged)
        this.#healthChanged(offer.streamId);
      });
      // input dropped while the source goes on (an over-long line, a partial frame): told, not republished
      sup.on('warning', (warning) =>
        this.ctx.emit('health', { streamId: offer.streamId, healthy: l.healthy, lastError: null, warning }),
      );
      await sup.start();
      l.healthy = sup.health.healthy;
    }
    // persist seq progress now and then so seq stays monotonic across restarts
    hub.on('frame', (f) => {
      if (f.seq % SEQ_SAVE_EVERY === 0) this.ctx.listings.setNextSeq(offer.streamId, f.seq + 1);
    });
  }
}
