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

/** What the catalog needs: whose listings are our own, where they go, whom to tell. */
export type CatalogContext = Pick<MarketContext, 'identity' | 'listings' | 'emit'>;

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

export class Catalog {
  constructor(private readonly ctx: CatalogContext) {}

  onListing(rx: Received<Listing>): void {
    const m = rx.message;
    const expiresAt = m.expiresAt * 1000;
    if (expiresAt <= Date.now()) return;
    if (m.origin && m.origin.seller === rx.sender) return; // a relay cannot be its own origin
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
    });
    this.ctx.emit('listing', { id: listingId(rx.sender, m.streamId), change: 'seen' });
  }

  onDelist(rx: Received<Delist>): void {
    const at = rx.blockTime ? rx.blockTime * 1000 : Date.now();
    if (this.ctx.listings.delist(rx.sender, rx.message.streamId, at)) {
      this.ctx.emit('listing', { id: listingId(rx.sender, rx.message.streamId), change: 'delisted' });
    }
  }
}
