// Runs in: Node. Buyer-side catalog: syncs Listing / Delist messages from the market topic into
// SQLite (table listings, with expiry). Only the seller itself can delist (the sender is the
// transaction signer). A listing whose seller stopped refreshing expires by itself: search()
// never returns rows past expires_at, and purge() forgets them later.
import type { Listing, Delist, Received } from '../ledger/types';
import { listingId } from '../store/listings';
import type { MarketContext } from './context';

export class Catalog {
  constructor(private readonly ctx: MarketContext) {}

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
