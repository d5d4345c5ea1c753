// Runs in: Node. A rebroadcast follows its own purchase (docs/mesh.md "Listed once its data flows,
// and only while it does"): redirected, it names the chain the data really takes; replaced by its
// failover, it is fed by the new purchase; ended with nothing to replace it, it stops.
import { isFinal, type PurchaseRow } from '../store/trades';
import type { MarketContext } from './context';
import { chainOf, MAX_MESH_HOPS } from './mesh';
import type { SellerSide } from './seller';

/** How long a rebroadcast whose own purchase ended waits for the purchase that replaces it (its failover). */
const REFEED_WAIT_MS = 10_000;

/** What a rebroadcast is fed by, and the chain its listing names. */
interface Feed {
  purchaseId: string;
  upstream: string | null;
  hops: number;
}

export class RebroadcastFeed {
  constructor(
    private readonly ctx: MarketContext,
    private readonly seller: SellerSide,
    private readonly stopped: () => boolean,
  ) {}

  /**
   * A purchase changed. One feeding rebroadcasts that moved to another listing names its new chain
   * (#followChain). One that ended (refused, failed, stopped, or left for another source by its
   * failover, docs/mesh.md "Faults"): the purchase that replaces it — an active one of the same
   * origin stream whose chain does not run through this node — feeds the rebroadcast from now on;
   * none within REFEED_WAIT_MS: the rebroadcast stops (delisted, or never listed; its sales end with
   * the reason), so nobody pays for a stream with no source.
   */
  onPurchase(row: PurchaseRow): void {
    const fed = this.seller.offers.fedBy(row.id);
    if (!fed.length) return;
    if (!isFinal(row.state)) return this.#followChain(row, fed);
    const since = Date.now();
    const tick = (): void => {
      if (this.stopped()) return;
      for (const streamId of [...fed]) {
        const offer = this.seller.live.get(streamId)?.offer;
        const next = offer?.origin ? this.#feedFor(offer.origin, row.id) : null;
        if (!offer) fed.splice(fed.indexOf(streamId), 1);
        if (!next) continue;
        this.ctx.log.info(
          { streamId, from: row.id, to: next.purchaseId },
          'rebroadcast fed by the purchase that replaced its own',
        );
        this.#refeed(streamId, next);
        fed.splice(fed.indexOf(streamId), 1);
      }
      if (!fed.length) return;
      if (Date.now() - since < REFEED_WAIT_MS) return void setTimeout(tick, 500).unref();
      for (const streamId of fed)
        this.#stop(streamId, `the stream it rebroadcasts ended upstream: ${row.reason ?? row.state}`);
    };
    tick();
  }

  /**
   * A running rebroadcast purchase moved to another listing (a full seller's redirect or its listing's
   * full flag sent it to a rebroadcast): the rebroadcasts it feeds name the chain the data really
   * takes (upstream, hops) — or stop when that chain would loop through this node or be too deep.
   */
  #followChain(row: PurchaseRow, fed: string[]): void {
    const f = this.#chainFeed(row);
    for (const streamId of fed) {
      const offer = this.seller.live.get(streamId)?.offer;
      if (!offer) continue;
      if (!f) this.#stop(streamId, `its data would come through a chain it cannot resell (${row.listingId})`);
      else if (offer.upstream !== f.upstream || offer.hops !== f.hops) this.#refeed(streamId, f);
    }
  }

  /** An active purchase of origin `originId`'s stream (not `except`) that can feed a rebroadcast of it. */
  #feedFor(originId: string, except: string): Feed | null {
    for (const p of this.ctx.trades.purchases({ active: true, limit: 1000 })) {
      if (p.id === except) continue;
      const l = this.ctx.listings.get(p.listingId);
      if (!l || (l.origin ?? l.id) !== originId) continue;
      const f = this.#chainFeed(p);
      if (f) return f;
    }
    return null;
  }

  /** What a rebroadcast fed by purchase `p` names (upstream, hops); null: a loop through us, or too deep. */
  #chainFeed(p: PurchaseRow): Feed | null {
    const l = this.ctx.listings.get(p.listingId);
    if (!l) return null;
    const chain = chainOf(this.ctx.listings, l);
    const hops = l.origin ? l.hops + 1 : 1;
    if (!Array.isArray(chain) || chain.some((c) => c.seller === this.ctx.identity.address) || hops > MAX_MESH_HOPS)
      return null;
    return { purchaseId: p.id, upstream: l.origin ? l.id : null, hops };
  }

  /** Feed the rebroadcast from `f` and republish its listing with the chain (publish skips one not listed yet). */
  #refeed(streamId: string, f: Feed): void {
    this.seller.offers.refeed(streamId, f);
    void this.seller
      .publish(streamId)
      .catch((e) => this.ctx.log.warn({ err: (e as Error).message, streamId }, 'could not publish the new chain'));
  }

  #stop(streamId: string, reason: string): void {
    void this.seller.offers
      .remove(streamId, reason.slice(0, 200))
      .catch((e) => this.ctx.log.warn({ err: (e as Error).message, streamId }, 'could not stop the rebroadcast'));
  }
}
