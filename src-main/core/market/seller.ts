// Runs in: Node. The seller side: its offers (offers.ts) served by the stream server, and the
// sale state machine:
//   requested → accepted → connecting → streaming (paid through period k) → ended / failed / rejected
// Rules: capacity per stream, price per tier, period, grace; a reject always says why. Every
// Payment on our stdin is verified on the ledger (payer, recipient, amount, request, period, once).
import { address as toAddress, type Address } from '@solana/kit';
import { peerIdToAddress, addressToPeerId } from '../identity/identity';
import type { Payment, Received, ServiceRequest, ServiceStop, Lamports } from '../ledger/types';
import { newNonce, expiresIn, MAX_REDIRECT_LISTINGS } from '../ledger/messages';
import { seal, open } from '../ledger/crypto';
import { decodeConnectInfo, encodeConnectInfo } from '../net/connect-info';
import type { ConnectSession } from '../net/types';
import { isFinal, type SaleRow } from '../store/trades';
import { listingId, type OfferRow } from '../store/listings';
import {
  FULL_FLAG_MIN_MS,
  StreamRate,
  earlyRate,
  failoverCredit,
  fullBecause,
  rebroadcastsOf,
  wireBytes,
} from './mesh';
import { markRebroadcastSales } from '../store/mesh';
import type { StreamHub } from './hub';
import { StreamServer, type Authorize } from './stream-server';
import type { MarketContext } from './context';
import { pricePerMinute, pricePerPeriod } from './pricing';
import { OfferBook, type LiveOffer, type SellOptions } from './offers';
import { PreviewServer } from './preview';
import type { MeshAuto } from './mesh-auto';
import { VoucherSeller, type Exposure } from './voucher';
import { framingOf, type SourceConfig } from './sources/index';
import { uplinkGrantFor } from './sources/uplink';

export { SellOptionsSchema, type SellOptions } from './offers';

/**
 * The seller's bounds per buyer key (docs/security.md, "Money and capacity"). Past each one the
 * seller refuses or ignores that buyer's extra, and keeps serving everyone else.
 */
export const SELLER_LIMITS = {
  /** ServiceRequests handled per buyer key per minute (a token bucket); more are ignored unanswered. */
  requestsPerMinute: 6,
  /** Buyer keys the request rate is remembered for (the oldest are forgotten first). */
  rateKeys: 10_000,
  /** An unpaid sale whose buyer has not opened its stream holds a place for at most this long (ms). */
  pendingHoldMs: 20_000,
  /** A buyer whose sale of a stream opened it and did not pay gets no new grace on it for this long (ms). */
  graceCooldownMs: 10 * 60_000,
  /** Stream sessions open at once per sale (a reconnect may overlap the old session for a moment). */
  sessionsPerSale: 2,
} as const;

export class SellerSide {
  readonly offers: OfferBook;
  readonly server: StreamServer;
  /** Payment vouchers: local checks, credit limit, settlements (market/voucher.ts). */
  readonly vouchers: VoucherSeller;
  #timers: NodeJS.Timeout[] = [];
  #verifying = new Map<string, Promise<void>>();
  /** The connect session of each active sale (keeps the path up; holds an ICE agent). */
  #connects = new Map<string, ConnectSession>();
  /** Stream sessions granted and not yet closed, per sale. */
  #sessions = new Map<string, number>();
  /** Request rate per buyer key: tokens left and when they were counted. */
  #rate = new Map<string, { tokens: number; at: number }>();
  /** Failover credits granted: `buyer|stream` → when (one per grace cooldown; docs/mesh.md "Faults"). */
  #credits = new Map<string, number>();
  /** Each stream's rate on the wire (bytes/s per buyer): the upload budget's measure. */
  #rates = new StreamRate();
  /** Streams whose listing says "full", and when that flag last changed (docs/mesh.md). */
  #announcedFull = new Map<string, { full: boolean; at: number }>();

  /** Free previews of the live streams (preview.ts). */
  readonly previews: PreviewServer;
  /** Automatic rebroadcasters (mesh-auto.ts): who is admitted past a full stream, and who takes it. */
  auto?: Pick<MeshAuto, 'admits' | 'takeFull'>;

  constructor(private readonly ctx: MarketContext) {
    this.offers = new OfferBook(ctx, (id, reason) => this.#endSale(id, 'ended', reason));
    this.offers.full = (streamId) => this.#announcedFull.get(streamId)?.full === true;
    this.previews = new PreviewServer(
      ctx.net.libp2p,
      {
        stream: (streamId) => {
          const l = this.offers.live.get(streamId);
          if (!l || l.offer.paused || l.checking) return undefined;
          return {
            hub: l.hub,
            format: l.offer.format,
            framing: framingOf(l.offer.source as SourceConfig) ?? l.hub.framing,
            schema: l.offer.schemaHint,
            preview: l.offer.preview,
          };
        },
      },
      ctx.log.child({ mod: 'preview' }),
    );
    this.server = new StreamServer(ctx.net.libp2p, this.authorize, {
      keepAliveMs: ctx.timing.keepAliveMs,
      maxQueueFrames: ctx.timing.maxQueueFrames,
      log: ctx.log,
    });
    this.server.on('peer-error', (e) => ctx.emit('peer-error', e));
    this.vouchers = new VoucherSeller(ctx, {
      endSale: (id, to, reason) => this.#endSale(id, to, reason),
      move: (id, to, reason) => this.#move(id, to, reason),
      notify: (id, c) => void this.server.notify(id, c),
      deadline: (id) => this.#deadline(id),
    });
  }

  /** What this sale risks now (unsettled vouchers against the credit limit). */
  exposure(sale: SaleRow): Exposure {
    return this.vouchers.exposure(sale);
  }

  async start(): Promise<void> {
    await this.server.start();
    await this.previews.start();
    await this.offers.startAll();
    const ttlMs = this.ctx.timing.listingTtlSec * 1000;
    // each listing re-posted half a TTL after its last post (offers.ts refreshDue)
    const refresh = setInterval(() => void this.offers.refreshDue(), Math.max(250, ttlMs / 8));
    const sweep = setInterval(() => this.#sweep(), 1000);
    refresh.unref();
    sweep.unref();
    this.#timers.push(refresh, sweep);
    await this.publishAll();
    this.vouchers.start();
    this.#redialBuyers();
  }

  /** After a restart: reach the buyers of sales still paid for, so they can resume at once —
   *  through the connect ladder (reverse dial, relays; the buyer's punch rounds answered over
   *  the ledger), each attempt in the connection history. */
  #redialBuyers(): void {
    for (const s of this.ctx.trades.sales({ active: true })) {
      if (s.startedAt === null || !s.peerInfo || Date.now() > this.#deadline(s.id)) continue;
      if (!s.peerInfo.addrs.length && !s.peerInfo.relays.length) continue;
      this.ctx.log.info({ requestId: s.id, buyer: s.buyer }, 'seller restarted: re-dialing the buyer');
      const remote = { v: 1 as const, addrs: s.peerInfo.addrs, relays: s.peerInfo.relays };
      void this.ctx.net
        .prepareConnect({ peer: addressToPeerId(s.buyer), role: 'responder', requestId: s.id, ice: false })
        .then((cs) => {
          this.#connects.get(s.id)?.close();
          this.#connects.set(s.id, cs);
          return cs.connect(remote, {
            requestId: s.id,
            signaling: this.ctx.signals.channel(s.id, s.buyer as Address),
          });
        })
        .then((r) => this.ctx.log.info({ requestId: s.id, path: r.path.kind }, 'reached the buyer again'))
        .catch((e) =>
          this.ctx.log.info({ requestId: s.id, err: (e as Error).message }, 'buyer not reachable (it may dial us)'),
        );
    }
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.server.stop();
    await this.previews.stop();
    await this.vouchers.stop();
    for (const cs of this.#connects.values()) cs.close();
    this.#connects.clear();
    await this.offers.stopAll();
  }

  // ---- offers (offers.ts) ----
  get live(): Map<string, LiveOffer> {
    return this.offers.live;
  }
  sell(input: SellOptions): Promise<OfferRow> {
    return this.offers.sell(input);
  }
  setPaused(streamId: string, paused: boolean): Promise<void> {
    return this.offers.setPaused(streamId, paused);
  }
  remove(streamId: string): Promise<void> {
    return this.offers.remove(streamId);
  }
  hubsFedBy(purchaseId: string): StreamHub[] {
    return this.offers.hubsFedBy(purchaseId);
  }
  status(): ReturnType<OfferBook['status']> {
    return this.offers.status();
  }
  publishAll(): Promise<void> {
    return this.offers.publishAll();
  }
  publish(streamId: string): Promise<void> {
    return this.offers.publish(streamId);
  }

  // ---- sale state machine ----

  async onRequest(rx: Received<ServiceRequest>): Promise<void> {
    const m = rx.message;
    const buyer = rx.sender;
    const log = this.ctx.log.child({ requestId: m.requestId, buyer });
    if (this.ctx.trades.sale(m.requestId)) return; // seen (replay or re-read)
    const reject = async (
      reason: 'unknown-stream' | 'full' | 'price-changed' | 'expired' | 'not-allowed' | 'other',
      message: string,
    ): Promise<void> => {
      log.info({ reason, message }, 'rejecting service request');
      await this.ctx
        .postTo(buyer, {
          type: 'ServiceReject',
          nonce: newNonce(),
          expiresAt: expiresIn(300),
          requestId: m.requestId,
          reason,
          message,
        })
        .catch((e) => log.warn({ err: (e as Error).message }, 'could not post reject'));
    };
    if (m.expiresAt * 1000 + this.ctx.timing.clockSkewMs < Date.now()) return; // stale: ignore silently
    // a key that asks too often gets no answer at all: answering would cost us a fee each time
    if (!this.#takeToken(buyer)) return void log.debug('request rate over the limit: ignored');
    const l = this.live.get(m.streamId);
    if (!l || l.offer.paused) return reject('unknown-stream', `no stream '${m.streamId}' for sale here`);
    const o = l.offer;
    const perMinute = pricePerMinute(o, m.tier);
    if (perMinute === null) return reject('not-allowed', 'this stream has no rebroadcast tier');
    const now = Date.now();
    const recent = this.ctx.trades.salesOf(buyer, o.streamId, now - SELLER_LIMITS.graceCooldownMs);
    // one free grace window per buyer per stream per cooldown: a sale that opened the stream and never paid used it
    const graced = recent.find((s) => s.startedAt !== null && s.paidThrough < 0);
    if (graced) {
      const wait = Math.ceil((graced.createdAt + SELLER_LIMITS.graceCooldownMs - now) / 1000);
      return reject(
        'not-allowed',
        `your request ${graced.id} took its grace window on '${o.streamId}' without paying: no new one for ${wait} s`,
      );
    }
    // one pending (unpaid, not yet streaming) sale per buyer per stream: a new request replaces it
    for (const s of recent)
      if (!isFinal(s.state) && s.startedAt === null && s.paidThrough < 0)
        this.#endSale(s.id, 'failed', `replaced by a newer request (${m.requestId}) of the same buyer`);
    // full (buyers or upload budget): the buyer is sent to the stream's rebroadcasts (docs/mesh.md)
    const full = this.#fullNow(l, now);
    // (the automatic rebroadcaster we asked to take the stream is admitted past it: mesh-auto.ts)
    if (full && !this.auto?.admits(buyer, o.streamId))
      return this.#redirect(buyer, m.requestId, o, full, reject, m.expiresAt * 1000);
    const price = pricePerPeriod(perMinute, o.periodSec);
    if (m.maxLamports < price)
      return reject('price-changed', `one period costs ${price} lamports, above the buyer's cap of ${m.maxLamports}`);
    const sale = this.ctx.trades.insertSale({
      id: m.requestId,
      buyer,
      streamId: o.streamId,
      tier: m.tier,
      pricePerPeriod: price,
      periodMs: o.periodSec * 1000,
      graceMs: o.graceSec * 1000,
      maxLamports: m.maxLamports,
      maxMinutes: m.maxMinutes,
      mint: o.mint,
    });
    this.ctx.emit('sale', sale);
    // a buyer that resells this stream already (a renewal, a second purchase): a rebroadcaster's sale
    const mine = listingId(this.ctx.identity.address, o.streamId);
    const resold = this.ctx.listings
      .search({ seller: buyer, includeOwn: false })
      .find((l) => (l.upstream ?? l.origin) === mine);
    if (resold) markRebroadcastSales(this.ctx.trades.db, buyer, o.streamId, resold.id);
    let buyerInfo;
    try {
      buyerInfo = decodeConnectInfo(
        open(m.sealed, { recipient: this.ctx.identity, sender: buyer, type: 'ServiceRequest', nonce: m.nonce }),
      );
    } catch (e) {
      this.#endSale(m.requestId, 'failed', `cannot read the buyer's connect info: ${(e as Error).message}`);
      return reject('other', 'connect info could not be opened');
    }
    this.ctx.trades.updateSale(m.requestId, { peerInfo: { addrs: buyerInfo.addrs, relays: buyerInfo.relays } });
    const cs = await this.ctx.net.prepareConnect({
      peer: addressToPeerId(buyer),
      role: 'responder',
      remote: buyerInfo,
      requestId: m.requestId,
    });
    this.#connects.set(m.requestId, cs);
    const nonce = newNonce();
    const punchAt = Date.now() + 1500;
    const sealed = seal(encodeConnectInfo(cs.localInfo), {
      sender: this.ctx.identity,
      recipient: buyer,
      type: 'ServiceAccept',
      nonce,
    });
    // The relays travel in the sealed connect info too; the plain list is a hint the buyer may use
    // first. A seller with many addresses (a relay with two IPs, a mapped port) can outgrow one
    // transaction: send fewer plain relay addresses then, down to none, rather than fail the sale.
    const accept = (relays: string[]) =>
      this.ctx.postTo(buyer, {
        type: 'ServiceAccept',
        nonce,
        expiresAt: expiresIn(Math.ceil(this.ctx.timing.requestTimeoutMs / 1000)),
        requestId: m.requestId,
        pricePerPeriod: price,
        periodSec: o.periodSec,
        graceSec: o.graceSec,
        punchAt,
        relays,
        sealed,
        ...(o.mint ? { mint: toAddress(o.mint) } : {}),
      });
    try {
      for (let n = Math.min(3, cs.localInfo.relays.length); ; n--) {
        try {
          await accept(cs.localInfo.relays.slice(0, n));
          break;
        } catch (e) {
          if ((e as Error).name !== 'MessageTooLargeError' || n === 0) throw e;
          log.info({ relays: n, err: (e as Error).message }, 'accept too large: fewer plain relay addresses');
        }
      }
    } catch (e) {
      this.#endSale(m.requestId, 'failed', `could not post the accept: ${(e as Error).message}`);
      return;
    }
    this.#move(m.requestId, 'accepted', `quote ${price} lamports per ${o.periodSec} s period, grace ${o.graceSec} s`);
    this.#move(m.requestId, 'connecting', 'connect ladder (responder)');
    cs.connect(buyerInfo, { punchAt, requestId: m.requestId, signaling: this.ctx.signals.channel(m.requestId, buyer) })
      .then((r) => {
        log.info({ path: r.path.kind, ms: r.elapsedMs }, 'connected to buyer');
        this.ctx.emit('connection', {
          requestId: m.requestId,
          peer: buyer,
          path: r.path.kind,
          elapsedMs: r.elapsedMs,
          role: 'seller',
        });
      })
      .catch((e) =>
        log.info({ err: (e as Error).message }, 'seller-side ladder gave up (the buyer may still dial us)'),
      );
  }

  /**
   * A full stream's answer: a ServiceRedirect naming its live rebroadcasts (cheapest first, at
   * most MAX_REDIRECT_LISTINGS, the buyer's own left out) — or, when there is none, a reject.
   */
  async #redirect(
    buyer: Address,
    requestId: string,
    o: OfferRow,
    full: string,
    reject: (reason: 'full', message: string) => Promise<void>,
    requestExpiresAt: number,
  ): Promise<void> {
    const me = this.ctx.identity.address;
    const originId = o.origin ?? listingId(me, o.streamId);
    let alts = rebroadcastsOf(this.ctx.listings, originId, { except: [me, buyer] }).slice(0, MAX_REDIRECT_LISTINGS);
    let note = '';
    // none: a popular stream is offered to an automatic rebroadcaster, the request held meanwhile
    if (!alts.length && this.auto) {
      const t = await this.auto.takeFull(o, buyer, full, requestExpiresAt - 5000);
      alts = t.listings.slice(0, MAX_REDIRECT_LISTINGS);
      note = t.note ? `; ${t.note}` : '';
    }
    if (!alts.length)
      return reject(
        'full',
        `stream '${o.streamId}' is full (${full}); no rebroadcast of it is live${note}`.slice(0, 200),
      );
    this.ctx.log.info({ requestId, buyer, full, to: alts.map((a) => a.id) }, 'full: redirecting the buyer');
    await this.ctx
      .postTo(buyer, {
        type: 'ServiceRedirect',
        nonce: newNonce(),
        expiresAt: expiresIn(300),
        requestId,
        listings: alts.map((a) => ({ seller: toAddress(a.seller), streamId: a.streamId })),
        message: `full: ${full}`.slice(0, 120),
      })
      .catch((e) => this.ctx.log.warn({ err: (e as Error).message }, 'could not post the redirect'));
  }

  /** Stream server check: the ticket's request must be ours, active, and made by this PeerId. */
  readonly authorize: Authorize = async (ticket, remote) => {
    const sale = this.ctx.trades.sale(ticket.requestId);
    if (!sale) return { refuse: { code: 'unknown-request', recover: 'abort', message: 'no such request here' } };
    let remoteAddr: Address;
    try {
      remoteAddr = peerIdToAddress(remote);
    } catch {
      return { refuse: { code: 'forged-ticket', recover: 'abort', message: 'peer has no Ed25519 identity' } };
    }
    if (remoteAddr !== sale.buyer) {
      this.ctx.log.warn(
        { requestId: sale.id, remote: remote.toString() },
        'forged ticket: request made by another peer',
      );
      return {
        refuse: { code: 'forged-ticket', recover: 'abort', message: 'this request was not made by your PeerId' },
      };
    }
    if (ticket.streamId !== sale.streamId)
      return { refuse: { code: 'wrong-stream', recover: 'abort', message: 'ticket names another stream' } };
    if (isFinal(sale.state))
      return {
        refuse: { code: 'ended', recover: 'abort', message: `this purchase is ${sale.state}: ${sale.reason ?? ''}` },
      };
    const l = this.live.get(sale.streamId);
    if (!l) return { refuse: { code: 'unknown-stream', recover: 'abort', message: 'stream no longer for sale' } };
    const open = this.#sessions.get(sale.id) ?? 0;
    if (open >= SELLER_LIMITS.sessionsPerSale)
      return {
        refuse: {
          code: 'too-many-sessions',
          recover: 'reconnect',
          message: `${open} streams of this purchase are open already (at most ${SELLER_LIMITS.sessionsPerSale})`,
        },
      };
    // a sale that stopped holding its place while it connected must find one free now
    if (sale.startedAt === null && Date.now() - sale.createdAt >= SELLER_LIMITS.pendingHoldMs) {
      if (this.#holding(sale.streamId, Date.now(), sale.id) >= l.offer.capacity)
        return { refuse: { code: 'full', recover: 'abort', message: 'stream is at capacity' } };
    }
    let startedAt = sale.startedAt;
    let credit: string | null = null;
    if (startedAt === null) {
      startedAt = Date.now();
      // a failover: the buyer paid another source of this stream until creditUntil (docs/mesh.md
      // "Faults"); period 0 starts then — at most one period away, once per buyer and stream per cooldown
      const until = ticket.creditUntil !== undefined ? this.#creditFor(sale, ticket.creditUntil, startedAt) : null;
      if (until !== null) {
        credit = `stream open; the buyer paid another source of the stream until ${new Date(until).toISOString()} (failover): period 0 starts then`;
        startedAt = until;
      }
      this.ctx.trades.updateSale(sale.id, { startedAt });
    }
    if (Date.now() > this.#deadline(sale.id))
      return { refuse: { code: 'payment-overdue', recover: 'renew', message: 'not paid' } };
    if (sale.state !== 'streaming')
      this.#move(sale.id, 'streaming', credit ?? 'stream open; grace until the first payment is verified');
    this.#sessions.set(sale.id, open + 1);
    return {
      hub: l.hub,
      format: l.offer.format,
      framing: framingOf(l.offer.source as SourceConfig) ?? l.hub.framing,
      uplink: uplinkGrantFor(l.offer.source as SourceConfig, l.supervisor?.source, sale.buyer),
      deadline: () => this.#deadline(sale.id),
      ...(startedAt > Date.now() ? { startsAt: startedAt } : {}),
      onVoucher: (v) => this.vouchers.onVoucher(sale.id, v),
      onClose: (info, reason) => {
        const left = (this.#sessions.get(sale.id) ?? 1) - 1;
        if (left > 0) this.#sessions.set(sale.id, left);
        else this.#sessions.delete(sale.id);
        if (info.uplinkIn)
          this.ctx.log.info(
            { id: sale.id, received: info.uplinkIn, delivered: info.uplinkDelivered, refused: info.uplinkRefused },
            'uplink messages of the session',
          );
        const s = this.ctx.trades.sale(sale.id);
        if (!s) return;
        this.ctx.trades.updateSale(sale.id, { frames: s.frames + info.framesOut, dropped: s.dropped + info.dropped });
        if (reason.startsWith('not paid')) this.#endSale(sale.id, 'ended', 'buyer stopped paying: cut after the grace');
        else if (reason.startsWith('buyer ended')) this.#endSale(sale.id, 'ended', reason);
      },
    };
  };

  /**
   * Sales that hold a place on a stream (its capacity): paid ones, ones streaming within their
   * grace, and unpaid ones still connecting for at most pendingHoldMs.
   */
  #holding(streamId: string, now: number, except?: string): number {
    let n = 0;
    for (const s of this.ctx.trades.sales({ active: true, streamId })) {
      if (s.id === except) continue;
      if (s.paidThrough >= 0) n++;
      else if (s.startedAt !== null) n += now <= this.#deadline(s.id) ? 1 : 0;
      else n += now - s.createdAt < SELLER_LIMITS.pendingHoldMs ? 1 : 0;
    }
    return n;
  }

  /** Take one request token of a buyer key (false: over the rate). */
  #takeToken(buyer: string): boolean {
    const now = Date.now();
    const perMs = SELLER_LIMITS.requestsPerMinute / 60_000;
    const b = this.#rate.get(buyer);
    const tokens = b
      ? Math.min(SELLER_LIMITS.requestsPerMinute, b.tokens + (now - b.at) * perMs)
      : SELLER_LIMITS.requestsPerMinute;
    this.#rate.delete(buyer); // re-inserted last: the map's order is least recently seen first
    if (this.#rate.size >= SELLER_LIMITS.rateKeys) this.#rate.delete(this.#rate.keys().next().value as string);
    if (tokens < 1) {
      this.#rate.set(buyer, { tokens, at: now });
      return false;
    }
    this.#rate.set(buyer, { tokens: tokens - 1, at: now });
    return true;
  }

  /**
   * When period 0 of a failover's sale starts (null: now, no credit): the ticket's creditUntil, if
   * later than now, at most one period away, and only once per buyer and stream per grace cooldown
   * (what the seller risks: one period of its stream, like a grace window).
   */
  #creditFor(sale: SaleRow, creditUntil: number, now: number): number | null {
    const key = `${sale.buyer}|${sale.streamId}`;
    const lastGrantAt = this.#credits.get(key);
    const until = failoverCredit({
      creditUntil,
      now,
      periodMs: sale.periodMs,
      lastGrantAt,
      cooldownMs: SELLER_LIMITS.graceCooldownMs,
    });
    if (until === null) {
      if (creditUntil > now)
        this.ctx.log.info({ id: sale.id, buyer: sale.buyer }, 'failover credit refused: one per cooldown');
      return null;
    }
    if (this.#credits.size >= SELLER_LIMITS.rateKeys) this.#credits.delete(this.#credits.keys().next().value as string);
    this.#credits.set(key, now);
    return until;
  }

  /** paid-until + grace, in unix ms, from the stored sale. */
  #deadline(id: string): number {
    const s = this.ctx.trades.sale(id);
    if (!s || isFinal(s.state) || s.startedAt === null) return 0;
    return s.startedAt + (s.paidThrough + 1) * s.periodMs + s.graceMs;
  }

  async onPayment(rx: Received<Payment>): Promise<void> {
    // one at a time per request: periods must be verified in order
    const key = rx.message.requestId;
    const prev = this.#verifying.get(key) ?? Promise.resolve();
    const next = prev
      .then(() => this.#verify(rx))
      .catch((e) => this.ctx.log.error({ err: (e as Error).message }, 'payment check failed'));
    this.#verifying.set(key, next);
    await next;
  }

  async #verify(rx: Received<Payment>): Promise<void> {
    const m = rx.message;
    const sale = this.ctx.trades.sale(m.requestId);
    if (!sale) return;
    const me = this.ctx.identity.address;
    // in what the sale is priced in: SOL, or the token of its mint (TransferChecked of that mint)
    const asset = await this.ctx.ledger.asset(sale.mint);
    const v = await this.ctx.ledger.verifyPayment(rx.signature, {
      payer: sale.buyer as Address,
      recipient: me,
      lamports: sale.pricePerPeriod,
      requestId: sale.id,
      period: m.period,
      asset,
    });
    const base = {
      signature: rx.signature,
      requestId: sale.id,
      direction: 'in' as const,
      payer: rx.sender,
      recipient: me,
      // what the transaction moved to us from the buyer (verifyPayment), never another transfer of it
      lamports: v.ok ? v.lamports : 0n,
      period: m.period,
    };
    const emit = (state: 'verified' | 'refused', reason?: string): void =>
      this.ctx.emit('payment', {
        direction: 'in',
        requestId: sale.id,
        period: m.period,
        lamports: base.lamports,
        signature: rx.signature,
        state,
        ...(reason !== undefined ? { reason } : {}),
      });
    if (!v.ok) {
      // (never downgrades the verified record of a replayed signature)
      this.ctx.trades.recordRefusedPayment({ ...base, reason: `${v.reason}: ${v.detail}`, slot: null });
      return emit('refused', v.reason);
    }
    if (m.period !== sale.paidThrough + 1) {
      const reason = `period ${m.period} out of order (paid through ${sale.paidThrough})`;
      this.ctx.trades.recordPayment({ ...base, state: 'refused', reason, slot: v.slot });
      return emit('refused', reason);
    }
    this.ctx.trades.recordPayment({ ...base, state: 'verified', reason: null, slot: v.slot });
    this.ctx.trades.updateSale(sale.id, { paidThrough: m.period, earned: sale.earned + base.lamports });
    if (!isFinal(sale.state)) this.#move(sale.id, 'streaming', `paid through period ${m.period}`);
    emit('verified');
  }

  onStop(rx: Received<ServiceStop>): void {
    const sale = this.ctx.trades.sale(rx.message.requestId);
    if (!sale || sale.buyer !== rx.sender || isFinal(sale.state)) return;
    this.#endSale(sale.id, 'ended', `buyer stopped: ${rx.message.reason}`);
  }

  /** Sales whose paid time + grace ran out with no stream, or that never connected. */
  /** Why a stream takes no further buyer now (null: it does) — its capacity and upload budget (mesh.ts). */
  #fullNow(l: LiveOffer, now: number): string | null {
    const o = l.offer;
    return fullBecause({
      held: this.#holding(o.streamId, now),
      capacity: o.capacity,
      rateBps: this.#rates.rate(o.streamId) || earlyRate(l.hub, now),
      uploadBps: o.uploadBps ?? this.ctx.mesh?.uploadBps ?? null,
    });
  }

  #sweep(): void {
    const now = Date.now();
    for (const l of this.live.values()) {
      const id = l.offer.streamId;
      // each stream's rate on the wire, for the upload budget (mesh.ts)
      this.#rates.sample(id, wireBytes(l.hub), now);
      // its listing says when it is full, so buyers' nodes go to its rebroadcasts at once (one
      // transaction per change, at most one per FULL_FLAG_MIN_MS)
      const full = this.#fullNow(l, now) !== null;
      const was = this.#announcedFull.get(id);
      if (full !== (was?.full ?? false) && now - (was?.at ?? 0) >= FULL_FLAG_MIN_MS && !l.offer.paused) {
        this.#announcedFull.set(id, { full, at: now });
        this.ctx.log.info({ streamId: id, full }, full ? 'stream full: its listing says so' : 'stream has room again');
        void this.offers
          .publish(id)
          .catch((e) =>
            this.ctx.log.warn({ err: (e as Error).message, streamId: id }, 'could not publish the full flag'),
          );
      }
    }
    for (const s of this.ctx.trades.sales({ active: true })) {
      const streaming = this.server.sessionsFor(s.id).length > 0;
      if (s.startedAt === null) {
        if (now - s.createdAt > this.ctx.timing.requestTimeoutMs)
          this.#endSale(s.id, 'failed', 'buyer never opened the stream');
      } else if (!streaming && now > this.#deadline(s.id)) {
        this.#endSale(
          s.id,
          'ended',
          s.paidThrough < 0 ? 'never paid: cut after the grace' : `paid time over (through period ${s.paidThrough})`,
        );
      }
    }
  }

  #move(id: string, to: SaleRow['state'], reason: string): void {
    try {
      this.ctx.emit('sale', this.ctx.trades.moveSale(id, to, reason));
    } catch (e) {
      this.ctx.log.debug({ id, to, err: (e as Error).message }, 'sale transition skipped');
    }
  }

  #endSale(id: string, to: 'ended' | 'failed', reason: string): void {
    const s = this.ctx.trades.sale(id);
    if (!s || isFinal(s.state)) return;
    this.#move(id, to, reason);
    this.server.closeRequest(id, reason);
    this.vouchers.onSaleEnd(id);
    this.#connects.get(id)?.close();
    this.#connects.delete(id);
    this.ctx.signals.close(id);
  }
}

export type { Lamports };
