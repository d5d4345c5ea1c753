// Runs in: Node. Buyer-side catalog: syncs Listing / Delist messages from the market topic into
// SQLite (table listings, with expiry). Only the seller itself can delist (the sender is the
// transaction signer). A listing whose seller stopped refreshing expires by itself: search()
// never returns rows past expires_at, and purge() forgets them later.
import type { Address } from '@solana/kit';
import type { Listing, Delist, Received } from '../ledger/types';
import type { SolanaLedgerClient } from '../ledger/client';
import { listingId } from '../store/listings';
import { getCursor } from '../store/cursors';
import type { Db } from '../store/db';
import type { MarketContext } from './context';
import { derivedListingProblem } from './mesh';

/** What the catalog needs: whose listings are our own, where they go, whom to tell. */
export type CatalogContext = Pick<MarketContext, 'identity' | 'listings' | 'emit' | 'log'>;

/** The ledger cursor of the market topic's watcher (the market's and a read-only sync share it). */
export const marketCursor = (topic: Address): string => `market:market:${topic}`;

/** Has the market watcher delivered every message up to the topic's head? */
export async function catalogCaughtUp(
  db: Db,
  ledger: Pick<SolanaLedgerClient, 'rpc'>,
  topic: Address,
): Promise<boolean> {
  const head = await ledger.rpc.getSignaturesForAddress(topic, { limit: 1, commitment: 'confirmed' }).send();
  if (head.length === 0) return true;
  return getCursor(db, marketCursor(topic))?.lastSignature === head[0]!.signature;
}

/** Wait until the catalog has read the market topic up to its head (or the timeout). */
export async function waitCatalogCaughtUp(
  db: Db,
  ledger: Pick<SolanaLedgerClient, 'rpc'>,
  topic: Address,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!signal?.aborted) {
    if (await catalogCaughtUp(db, ledger, topic).catch(() => false)) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

/** A Listing may stay listed at most this long after it landed (s): one day (its seller refreshes it). */
export const MAX_LISTING_TTL_SEC = 86_400;

export class Catalog {
  constructor(private readonly ctx: CatalogContext) {}

  onListing(rx: Received<Listing>): void {
    const m = rx.message;
    const expiresAt = m.expiresAt * 1000;
    if (expiresAt <= Date.now()) return;
    const problem = this.#problem(rx);
    if (problem) {
      this.ctx.log.info(
        { seller: rx.sender, streamId: m.streamId, signature: rx.signature, problem },
        'listing refused',
      );
      return;
    }
    const own = rx.sender === this.ctx.identity.address;
    this.ctx.listings.upsert({
      seller: rx.sender,
      streamId: m.streamId,
      title: m.title,
      description: m.description,
      tags: m.tags,
      format: m.format,
      rateMilliHz: m.rateMilliHz,
      priceDirect: m.priceDirect,
      priceRelay: m.priceRelay ?? null,
      periodSec: Math.max(1, m.periodSec),
      region: m.region ?? null,
      origin: m.origin ? listingId(m.origin.seller, m.origin.streamId) : null,
      healthy: m.healthy,
      own,
      publishedAt: rx.blockTime ? Math.min(Date.now(), rx.blockTime * 1000) : Date.now(),
      expiresAt,
      signature: rx.signature,
      mint: m.mint ?? null,
      schemaHint: m.schema ?? null,
      upstream: m.upstream ? listingId(m.upstream.seller, m.upstream.streamId) : null,
      hops: m.origin ? (m.hops ?? 1) : 0,
      hopMs: m.hopMs ?? null,
      addrs: m.addrs ?? [],
      full: m.full === true,
    });
    this.ctx.emit('listing', { id: listingId(rx.sender, m.streamId), change: 'seen' });
  }

  /**
   * Why a listing is not taken (null: it is). Its lifetime is at most MAX_LISTING_TTL_SEC past
   * when it landed. A rebroadcast's origin must be another seller's listing that we know and that
   * is live (and no rebroadcast itself): otherwise anyone could pose as a relay of any stream; its
   * upstream and hop count must match the chain, and its seller must not be in it (mesh.ts).
   */
  #problem(rx: Received<Listing>): string | null {
    const m = rx.message;
    const landed = rx.blockTime ?? Date.now() / 1000;
    if (m.expiresAt > landed + MAX_LISTING_TTL_SEC)
      return `expires ${Math.round(m.expiresAt - landed)} s after it landed (at most ${MAX_LISTING_TTL_SEC} s)`;
    // a rebroadcast: its chain (origin, upstream, hops; no loop) must hold here (mesh.ts)
    return derivedListingProblem(this.ctx.listings, rx.sender, m);
  }

  onDelist(rx: Received<Delist>): void {
    const at = rx.blockTime ? rx.blockTime * 1000 : Date.now();
    if (this.ctx.listings.delist(rx.sender, rx.message.streamId, at)) {
      this.ctx.emit('listing', { id: listingId(rx.sender, rx.message.streamId), change: 'delisted' });
    }
  }
}
