// Runs in: Node. The market: one object per node holding the seller side, the buyer side, the
// catalog and the local endpoint, fed by two ledger watchers (the market topic and our stdin).
import { EventEmitter } from 'node:events';
import type { Address } from '@solana/kit';
import type { Identity } from '../identity/identity';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import type { Db } from '../store/db';
import type { LedgerClient, Received, AxonMessage, NodeAnnounce, Lamports, Listing } from '../ledger/types';
import { earningsPerRebroadcaster, markRebroadcastSales, type RebroadcasterEarnings } from '../store/mesh';
import { ListingStore, type ListingFilter, type ListingRow, type OfferRow } from '../store/listings';
import { isFinal, TradeStore, type PurchaseRow, type SaleRow } from '../store/trades';
import { extensionCost, pricePerMinute, purchaseTerms, type PurchaseTerms } from './pricing';
import { SellerSide, type SellOptions } from './seller';
import { BuyerSide } from './buyer';
import { Catalog, MAX_LISTING_TTL_SEC } from './catalog';
import { VOUCHER_EXTRA_FEES } from './voucher';
import { MAX_ANNOUNCE_TTL_SEC } from './roles';
import { LocalEndpoint } from './sinks/local-endpoint';
import type { MarketContext } from './context';
import { PunchSignals } from './punch-signaling';
import { LatencyMeter, MeshError, planRebroadcast, rebroadcastStreamId, type MeshOptions } from './mesh';
import { RebroadcastFeed } from './rebroadcast-feed';
import { MeshAuto, type AutoRebroadcastOptions } from './mesh-auto';
import { fetchPreview, PreviewError, type FetchPreviewOptions, type Preview } from './preview';
import { addressToPeerId } from '../identity/identity';
import {
  DEFAULT_TIMING,
  MarketError,
  type BuyOptions,
  type MarketEvents,
  type MarketNet,
  type MarketTiming,
  type RelayPricing,
} from './types';

/** How far back the market topic is read when this node has no cursor there, or an old one: the
 *  longest a Listing or a NodeAnnounce may live past its landing (older ones are dead anyway). */
/** How far back the stdin watcher reads after a restart: every stdin message expires within
 *  minutes (requests, payments, punch signals); an hour of margin. */
export const STDIN_LOOKBACK_SEC = 3600;
/** Frames measured before a rebroadcast's listing is republished with its latency (hopMs). */
const HOP_SAMPLES = 10;
export const MARKET_LOOKBACK_SEC = Math.max(MAX_LISTING_TTL_SEC, MAX_ANNOUNCE_TTL_SEC) + 600;
export interface MarketOptions {
  identity: Identity;
  db: Db;
  ledger: LedgerClient;
  net: MarketNet;
  marketId?: string;
  timing?: Partial<MarketTiming>;
  log?: Logger;
  /** The buyer's local endpoint (WebSocket + TCP on 127.0.0.1); false = none. Ports 0 = any. */
  endpoint?: { wsPort?: number; tcpPort?: number; tokenFile?: string } | false;
  /** NodeAnnounce messages seen on the market topic (the relay/reflector directory, roles.ts). */
  onNodeAnnounce?: (rx: Received<NodeAnnounce>) => void;
  /** Priced relays: which a purchase may use, and the share a relayed period pays (relay-pay.ts). */
  relayPricing?: RelayPricing;
  /** Seller liveness peer to peer (liveness.ts); absent: the buyer relies on the ledger alone. */
  liveness?: MarketContext['liveness'];
  /** The mesh's settings (docs/mesh.md): the default upload budget of a stream for sale. */
  mesh?: MeshOptions;
  /** Automatic rebroadcasting (mesh-auto.ts): this node's opt-in offer and whether its relay role
   *  serves (absent: it offers nothing; a full stream of ours still asks others). */
  autoRebroadcast?: { options: AutoRebroadcastOptions; relayActive: () => boolean };
}

export interface MarketStatus {
  address: string;
  offers: ReturnType<SellerSide['status']>;
  purchases: PurchaseRow[];
  sales: SaleRow[];
  /** The token readers must present (?token= on WebSocket, first line on TCP). */
  endpoint: { wsPort: number; tcpPort: number; token: string } | null;
}

export class Market extends EventEmitter<MarketEvents> {
  readonly listingsStore: ListingStore;
  readonly trades: TradeStore;
  readonly seller: SellerSide;
  readonly buyer: BuyerSide;
  readonly catalog: Catalog;
  readonly endpoint: LocalEndpoint | null;
  readonly ctx: MarketContext;
  /** Automatic rebroadcasters: this node's offer, and asking others when a stream of ours is full. */
  readonly auto: MeshAuto;
  /** Each purchase's latency from the origin (ms; mesh.ts). */
  readonly latency = new LatencyMeter();
  /** Rebroadcast feeds whose listing was republished with the measured hop latency. */
  #hopPublished = new Set<string>();
  /** When each purchase's latency was last written to its row (once a second at most). */
  #latencySaved = new Map<string, number>();
  #abort = new AbortController();
  #loops: Promise<void>[] = [];
  #purgeTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly opts: MarketOptions,
    marketTopic: Address,
  ) {
    super();
    this.listingsStore = new ListingStore(opts.db);
    this.trades = new TradeStore(opts.db);
    const log = (opts.log ?? silentLogger).child({ mod: 'market' });
    this.ctx = {
      identity: opts.identity,
      ledger: opts.ledger,
      net: opts.net,
      listings: this.listingsStore,
      trades: this.trades,
      timing: { ...DEFAULT_TIMING, ...opts.timing },
      log,
      marketTopic,
      ...(opts.relayPricing ? { relayPricing: opts.relayPricing } : {}),
      ...(opts.liveness ? { liveness: opts.liveness } : {}),
      ...(opts.mesh ? { mesh: opts.mesh } : {}),
      emit: (ev, ...args) => {
        try {
          (this.emit as (e: string, ...a: unknown[]) => boolean)(ev, ...args);
        } catch (e) {
          log.error({ ev, err: (e as Error).message }, 'market event listener threw');
        }
      },
      postTo: async (peer, msg, o) => opts.ledger.post(await opts.ledger.stdinTopic(peer), msg, o),
      signals: new PunchSignals(
        opts.identity,
        async (peer, msg) => opts.ledger.post(await opts.ledger.stdinTopic(peer), msg),
        log.child({ mod: 'punch-sync' }),
      ),
    };
    this.endpoint = opts.endpoint === false ? null : new LocalEndpoint(opts.endpoint ?? {});
    this.seller = new SellerSide(this.ctx);
    this.buyer = new BuyerSide(this.ctx, this.endpoint, (purchaseId, f, framing, { gap, replayed }) => {
      // latency from the origin's timestamp (kept through every hop): the path view, a rebroadcast's
      // hopMs (not of the recent frames a seller replays first: they were waiting in its buffer)
      if (!replayed) this.latency.add(purchaseId, Date.now() - f.ts);
      this.#saveLatency(purchaseId);
      const hubs = this.seller.hubsFedBy(purchaseId);
      // a rebroadcast's listing says its latency from the origin as soon as it is measured (once;
      // later refreshes carry the current figure)
      if (hubs.length && !this.#hopPublished.has(purchaseId) && this.latency.count(purchaseId) >= HOP_SAMPLES) {
        this.#hopPublished.add(purchaseId);
        for (const h of hubs)
          void this.seller
            .publish(h.streamId)
            .catch((e) => this.ctx.log.warn({ err: (e as Error).message }, 'could not publish the hop latency'));
      }
      if (hubs.length) this.seller.offers.fed(purchaseId); // listed once its data flows
      for (const hub of hubs) {
        hub.framing = framing; // a rebroadcast keeps its origin's framing
        // frames were lost before this one: the origin's chain breaks here, so our buyers' frames
        // start again at the next checkpoint (hub.ts)
        if (gap) hub.chainGap();
        hub.publish(f.payload, f.ts, f.chain); // the origin's chain fields go on unchanged
      }
      this.ctx.emit('frame', { purchaseId, ...f });
    });
    this.catalog = new Catalog(this.ctx);
    // a rebroadcast follows its own purchase: fed by the one that replaces it, or stopped
    const feed = new RebroadcastFeed(this.ctx, this.seller, () => this.#stopped !== null);
    this.on('purchase', (row) => feed.onPurchase(row));
    this.auto = new MeshAuto({
      ctx: this.ctx,
      db: opts.db,
      ...(opts.autoRebroadcast ? { options: opts.autoRebroadcast.options } : {}),
      relayActive: opts.autoRebroadcast?.relayActive ?? (() => false),
      rebroadcast: (id, o) => this.rebroadcast(id, o),
      unsell: (streamId) => this.unsell(streamId),
      stopPurchase: (id) => this.stopPurchase(id),
    });
    this.seller.auto = this.auto;
    // a rebroadcast's listing says how late its data already is when it leaves us
    this.seller.offers.hopMs = (l) => {
      const src = l.offer.source as { kind: string; purchaseId?: string };
      return src.kind === 'purchase' && src.purchaseId ? this.latency.median(src.purchaseId) : undefined;
    };
  }

  static async start(opts: MarketOptions): Promise<Market> {
    const topic = await opts.ledger.marketTopic(opts.marketId ?? 'main');
    const m = new Market(opts, topic);
    await m.endpoint?.start();
    const stdin = await opts.ledger.stdinTopic(opts.identity.address);
    m.#loops.push(m.#watch(topic, 'market', (rx) => m.#onMarket(rx)));
    m.#loops.push(m.#watch(stdin, 'stdin', (rx) => m.#onStdin(rx), true));
    await m.seller.start();
    await m.buyer.start();
    m.auto.start();
    m.#purgeTimer = setInterval(() => m.listingsStore.purge(), 3600_000);
    m.#purgeTimer.unref();
    return m;
  }

  #stopped: Promise<void> | null = null;
  /** Keep a purchase's median latency in its row (migration 018: `axon status` reads it), ≤ 1/s. */
  #saveLatency(purchaseId: string): void {
    const now = Date.now();
    if (now - (this.#latencySaved.get(purchaseId) ?? 0) < 1000) return;
    const ms = this.latency.median(purchaseId);
    if (ms === undefined) return;
    if (this.#latencySaved.size > 10_000) this.#latencySaved.clear();
    this.#latencySaved.set(purchaseId, now);
    this.ctx.trades.updatePurchase(purchaseId, { latencyMs: Math.round(ms) });
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#abort.abort();
    if (this.#purgeTimer) clearInterval(this.#purgeTimer);
    await this.auto.stop();
    await this.buyer.stop();
    await this.seller.stop();
    await this.endpoint?.stop();
    await Promise.race([Promise.allSettled(this.#loops), new Promise((r) => setTimeout(r, 2000))]);
  }

  // ---- API for node.ts / CLI / api layer ----

  sell(o: SellOptions): Promise<OfferRow> {
    return this.seller.sell(o);
  }
  pause(streamId: string): Promise<void> {
    return this.seller.setPaused(streamId, true);
  }
  unpause(streamId: string): Promise<void> {
    return this.seller.setPaused(streamId, false);
  }
  unsell(streamId: string): Promise<void> {
    return this.seller.remove(streamId);
  }

  /** A free preview of a listing: a few recent frames from its seller, peer to peer (preview.ts). */
  async preview(listingId: string, o: FetchPreviewOptions = {}): Promise<Preview> {
    const l = this.listingsStore.get(listingId);
    if (!l || l.delistedAt !== null || l.expiresAt <= Date.now())
      throw new PreviewError('unknown-listing', `no live listing '${listingId}'`);
    const peer = addressToPeerId(l.seller);
    return fetchPreview(
      this.ctx.net.libp2p,
      { listingId, streamId: l.streamId, peer, connection: this.ctx.net.bestConnection(peer), addrs: l.addrs },
      o,
    );
  }

  listings(filter: ListingFilter = {}): ListingRow[] {
    return this.listingsStore.search(filter);
  }

  /**
   * The listing a buy of `listingId` at `tier` goes to: the listing itself, or for tier 'relay' on
   * an origin listing the cheapest healthy relay rebroadcasting it.
   */
  #listingToBuy(listingId: string, tier: BuyOptions['tier']): ListingRow {
    const l = this.listingsStore.get(listingId);
    if (!l || l.expiresAt <= Date.now() || l.delistedAt !== null)
      throw new MarketError('unknown-listing', `no live listing '${listingId}' (expired, delisted or never seen)`);
    if (l.seller === this.opts.identity.address) throw new MarketError('own-listing', 'this is your own listing');
    if (tier !== 'relay' || l.origin) return l;
    const derived = this.listingsStore
      .search({ includeOwn: false })
      .filter((d) => d.origin === l.id && d.healthy)
      .map((d) => ({ d, price: pricePerMinute(d, 'relay') }))
      .filter((x): x is { d: ListingRow; price: bigint } => x.price !== null)
      .sort((a, b) => (a.price < b.price ? -1 : a.price > b.price ? 1 : 0))[0];
    if (!derived) throw new MarketError('no-relay', `no relay rebroadcasts '${listingId}' right now`);
    return derived.d;
  }

  /**
   * What `buy(listingId, o)` would cost: the same listing, the same rules, with `feePerPeriod` the
   * ledger's fee for one payment (as buy asks the ledger for it).
   */
  quote(
    listingId: string,
    o: BuyOptions & { feePerPeriod?: Lamports } = {},
  ): { listing: ListingRow; terms: PurchaseTerms } {
    const listing = this.#listingToBuy(listingId, o.tier);
    const minutes = o.minutes ?? 60;
    let terms = purchaseTerms(listing, { minutes, maxLamports: o.maxLamports, feePerPeriod: o.feePerPeriod });
    // vouchers: the default cap also covers the nonce account's creation and close (voucher.ts);
    // not a token cap (token units: the fees are lamports, beside it)
    if (o.maxLamports === undefined && this.ctx.timing.payments === 'voucher' && !listing.mint)
      terms = purchaseTerms(listing, {
        minutes,
        maxLamports: terms.cap + VOUCHER_EXTRA_FEES * (o.feePerPeriod ?? 0n),
        feePerPeriod: o.feePerPeriod,
      });
    return { listing, terms };
  }

  /** Buy a listing. tier 'relay' on an origin listing buys a relay's rebroadcast of it. */
  async buy(listingId: string, o: BuyOptions = {}): Promise<PurchaseRow> {
    const listing = this.#listingToBuy(listingId, o.tier);
    if (!listing.healthy)
      throw new MarketError('unhealthy', `the seller's source of '${listing.id}' is not working right now`);
    const running = this.activePurchaseOf(listingId) ?? this.activePurchaseOf(listing.id);
    if (running && !o.allowDuplicate)
      throw new MarketError(
        'already-receiving',
        `purchase '${running.id}' of '${listing.id}' is still running (confirm to buy it a second time)`,
      );
    return this.buyer.buy(listing, o);
  }

  /** The newest purchase of a listing that has not ended (what the user already receives). */
  activePurchaseOf(listingId: string): PurchaseRow | undefined {
    return this.trades.purchases({ active: true, limit: 1000 }).find((p) => p.listingId === listingId);
  }

  /**
   * Extend a purchase by `addMinutes`: a running one gets the minutes and the price of the periods
   * they take (at the price agreed with the seller) added to its cap; a finished one is bought again.
   */
  async renew(purchaseId: string, addMinutes: number): Promise<PurchaseRow> {
    if (!Number.isInteger(addMinutes) || addMinutes < 1 || addMinutes > 525_600)
      throw new MarketError('bad-input', 'minutes must be a whole number from 1 to 525600');
    const p = this.trades.purchase(purchaseId);
    if (!p) throw new MarketError('unknown-purchase', `no purchase '${purchaseId}'`);
    if (isFinal(p.state)) return this.buy(p.listingId, { minutes: addMinutes, tier: p.tier });
    let perPeriod = p.pricePerPeriod;
    let periodSec = p.periodMs ? p.periodMs / 1000 : null;
    if (perPeriod === null || periodSec === null) {
      // not accepted yet: the listing's price, as the request was made at
      const l = this.listingsStore.get(p.listingId);
      if (!l) throw new MarketError('unknown-listing', `the listing of purchase '${purchaseId}' is gone`);
      const t = purchaseTerms(l, { minutes: addMinutes });
      perPeriod = t.pricePerPeriod;
      periodSec = t.periodSec;
    }
    const fee = await this.opts.ledger.estimateFee(true);
    this.trades.extendPurchase(purchaseId, addMinutes, extensionCost(perPeriod, periodSec, addMinutes, fee, p.mint));
    return this.trades.purchase(purchaseId)!;
  }

  /**
   * Rebroadcast (docs/mesh.md): buy `listingId` once — an origin listing or another rebroadcast —
   * and sell it as a derived listing naming its origin and (when bought from a rebroadcast) its
   * upstream, at `price` lamports per minute (default: the upstream's rebroadcast price). Every
   * buyer of the derived listing is served from this node's hub: the upstream sends each frame
   * once, to us. Refused with a reason: a loop (this node is in the chain already), a chain
   * deeper than MAX_MESH_HOPS, an origin that lists no rebroadcast price, a second rebroadcast of
   * the same origin here.
   */
  async rebroadcast(
    listingId: string,
    o: { minutes?: number; maxLamports?: bigint; price?: bigint; capacity?: number; uploadBps?: number } = {},
  ): Promise<{ purchase: PurchaseRow; offer: OfferRow }> {
    let plan: ReturnType<typeof planRebroadcast>;
    try {
      plan = planRebroadcast(this.listingsStore, this.opts.identity.address, listingId);
    } catch (e) {
      if (e instanceof MeshError) {
        this.ctx.log.info({ listingId, code: e.code, reason: e.message }, 'rebroadcast refused');
        throw new MarketError(e.code, e.message);
      }
      throw e;
    }
    const { upstream, origin, hops } = plan;
    const streamId = rebroadcastStreamId(origin);
    const mine = this.seller.live.get(streamId);
    if (mine || this.listingsStore.offer(streamId))
      throw new MarketError('bad-input', `you rebroadcast '${origin.id}' already (stream '${streamId}')`);
    const price = o.price ?? upstream.priceRelay;
    if (price === null || price === undefined)
      throw new MarketError('bad-input', `'${upstream.id}' has no rebroadcast price: give one`);
    // a purchase of it that runs already (the user's "Rebroadcast this stream") feeds the rebroadcast
    const running = this.activePurchaseOf(upstream.id);
    const purchase =
      running ??
      (await this.buy(upstream.id, {
        minutes: o.minutes ?? 60,
        ...(o.maxLamports !== undefined ? { maxLamports: o.maxLamports } : {}),
        serve: false,
      }));
    const ref = (id: string) => ({ seller: id.split(':')[0]!, streamId: id.split(':').slice(1).join(':') });
    try {
      const offer = await this.seller.sell({
        streamId,
        title: origin.title,
        description: `rebroadcast of ${origin.id}`.slice(0, 280),
        tags: origin.tags,
        format: origin.format,
        source: { kind: 'purchase', purchaseId: purchase.id },
        priceDirect: price,
        priceRelay: price,
        periodSec: origin.periodSec,
        capacity: o.capacity ?? 200,
        origin: ref(origin.id),
        ...(hops > 1 ? { upstream: ref(upstream.id) } : {}),
        hops,
        ...(o.uploadBps !== undefined ? { uploadBps: o.uploadBps } : {}),
        // resold in what it is bought in
        ...(origin.mint ? { mint: origin.mint } : {}),
      });
      this.ctx.log.info({ listingId: upstream.id, hops, streamId, price: String(price) }, 'rebroadcasting');
      return { purchase, offer };
    } catch (e) {
      if (!running) await this.stopPurchase(purchase.id).catch(() => undefined);
      throw e;
    }
  }

  stopPurchase(id: string): Promise<PurchaseRow> {
    return this.buyer.stopPurchase(id);
  }

  status(): MarketStatus {
    return {
      address: this.opts.identity.address,
      offers: this.seller.status(),
      purchases: this.trades.purchases({ limit: 200 }),
      sales: this.trades.sales({ limit: 200 }),
      endpoint: this.endpoint
        ? { wsPort: this.endpoint.wsPort, tcpPort: this.endpoint.tcpPort, token: this.endpoint.token }
        : null,
    };
  }

  // ---- ledger watchers ----

  async #watch(
    topic: Address,
    name: string,
    handle: (rx: Received) => Promise<void> | void,
    fromNow = false,
  ): Promise<void> {
    let backoff = 250;
    while (!this.#abort.signal.aborted) {
      try {
        for await (const rx of this.opts.ledger.watch(topic, {
          signal: this.#abort.signal,
          fromNow,
          cursor: `market:${name}:${topic}`,
          // read back only as far as a message can still be alive: on the market topic a listing or
          // NodeAnnounce; on our stdin a request, payment or signal (minutes) - after a week
          // offline a node does not page through the week
          notBeforeSec: Math.floor(Date.now() / 1000) - (name === 'market' ? MARKET_LOOKBACK_SEC : STDIN_LOOKBACK_SEC),
        })) {
          backoff = 250;
          try {
            await handle(rx);
          } catch (e) {
            this.ctx.log.error(
              { topic: name, type: rx.message.type, err: (e as Error).message },
              'handling a ledger message failed',
            );
          }
        }
      } catch (e) {
        if (this.#abort.signal.aborted) return;
        this.ctx.log.warn(
          { topic: name, err: (e as Error).message, retryMs: backoff },
          'ledger watch failed; retrying',
        );
      }
      if (this.#abort.signal.aborted) return;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(10_000, backoff * 2);
    }
  }

  #onMarket(rx: Received): void {
    const m = rx.message as AxonMessage;
    if (m.type === 'Listing') {
      this.catalog.onListing(rx as Received<typeof m>);
      this.#noteRebroadcaster(rx as Received<typeof m>);
    } else if (m.type === 'Delist') this.catalog.onDelist(rx as Received<typeof m>);
    else if (m.type === 'NodeAnnounce') this.opts.onNodeAnnounce?.(rx as Received<typeof m>);
    else if (m.type === 'RebroadcastOffer') this.auto.onOffer(rx as Received<typeof m>);
  }

  /** A taken rebroadcast whose upstream is our stream: our sales to its seller are sales to a
   *  rebroadcaster (the origin's history shows its earnings per rebroadcaster; docs/mesh.md). */
  #noteRebroadcaster(rx: Received<Listing>): void {
    const m = rx.message;
    const up = m.upstream ?? m.origin;
    if (!up || up.seller !== this.opts.identity.address || rx.sender === up.seller) return;
    const id = `${rx.sender}:${m.streamId}`;
    if (!this.listingsStore.get(id)) return; // refused by the catalog
    if (markRebroadcastSales(this.opts.db, rx.sender, up.streamId, id) > 0)
      this.ctx.log.info({ rebroadcaster: rx.sender, listing: id }, 'a buyer of ours rebroadcasts our stream');
  }

  /** What this node earned through each rebroadcaster of its streams. */
  earningsPerRebroadcaster(): RebroadcasterEarnings[] {
    return earningsPerRebroadcaster(this.opts.db);
  }

  async #onStdin(rx: Received): Promise<void> {
    const m = rx.message;
    switch (m.type) {
      // requests and payments are handled concurrently (each posts or reads the ledger): one slow
      // buyer must not hold up the others. Capacity is checked and the sale inserted before any await.
      case 'ServiceRequest':
        void this.seller
          .onRequest(rx as Received<typeof m>)
          .catch((e) => this.ctx.log.error({ err: (e as Error).message }, 'request handling failed'));
        return;
      case 'Payment':
        void this.seller.onPayment(rx as Received<typeof m>);
        return;
      case 'ServiceStop':
        return this.seller.onStop(rx as Received<typeof m>);
      case 'ServiceAccept':
        // do not block the watcher while connecting
        void this.buyer
          .onAccept(rx as Received<typeof m>)
          .catch((e) => this.ctx.log.error({ err: (e as Error).message }, 'accept handling failed'));
        return;
      case 'ServiceReject':
        return this.buyer.onReject(rx as Received<typeof m>);
      case 'ServiceRedirect':
        void this.buyer
          .onRedirect(rx as Received<typeof m>)
          .catch((e) => this.ctx.log.error({ err: (e as Error).message }, 'redirect handling failed'));
        return;
      case 'PeerError':
        return this.buyer.onPeerError(rx as Received<typeof m>);
      case 'RebroadcastAsk':
        // a full seller asks us to take its stream (mesh-auto.ts): buying takes a while
        void this.auto
          .onAsk(rx as Received<typeof m>)
          .catch((e) => this.ctx.log.error({ err: (e as Error).message }, 'rebroadcast ask handling failed'));
        return;
      case 'PunchSync':
        return this.ctx.signals.onPunchSync(rx as Received<typeof m>);
      default:
        return;
    }
  }
}
