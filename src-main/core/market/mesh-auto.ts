// Runs in: Node. Automatic rebroadcasters (docs/mesh.md "Automatic rebroadcasters", issue 17 §2).
//
// Two halves, every node runs both:
// - the OFFERING node (opt-in: settings mesh.autoRebroadcast.enabled, and only while its relay role
//   serves) posts a RebroadcastOffer on the market topic: the price it charges (% of the
//   rebroadcast price of what it buys), the streams it still takes, its spending cap per stream.
//   Asked by a full seller (RebroadcastAsk on its stdin), it rebroadcasts that seller's stream the
//   ordinary way (Market.rebroadcast: it buys like any buyer, within its cap, and lists a derived
//   listing); it stops (delists, stops paying) once the stream has had no buyer for idleSec.
// - the SELLER whose stream is full with no live rebroadcast and is popular (POPULAR: several
//   buyers asked within a window) asks the best fitting offer to take it, admits that node past
//   its capacity, holds the buyer's request until the derived listing is live (ASK_HOLD_MS at
//   most, within the request's expiry) and then redirects the buyer to it (ServiceRedirect).
import type { Address } from '@solana/kit';
import type { Lamports, RebroadcastAsk, RebroadcastOffer, Received } from '../ledger/types';
import { expiresIn, newNonce } from '../ledger/messages';
import { listingId, type ListingRow, type ListingStore, type OfferRow } from '../store/listings';
import { isFinal, type PurchaseRow } from '../store/trades';
import { MeshAutoStore, type AutoRebroadcastRow } from '../store/mesh-auto';
import type { Db } from '../store/db';
import type { MarketContext } from './context';
import { chainOf, chainSellers, MAX_MESH_HOPS, rebroadcastsOf } from './mesh';
import { pricePerMinute, pricePerPeriod, tierOf } from './pricing';

/** The one rule of "popular": at least `buyers` distinct buyers asked for the stream within
 *  `windowMs` (those it serves and those it turned away), and it is full now. */
export const POPULAR = { buyers: 2, windowMs: 10 * 60_000 } as const;
/** How long a RebroadcastOffer lives; re-posted at half of it while it stands. */
export const OFFER_TTL_SEC = 1800;
/** A RebroadcastOffer that claims to live longer than this past its landing is refused. */
export const MAX_OFFER_TTL_SEC = 2 * OFFER_TTL_SEC;
/** The longest a full seller holds a buyer's request while an automatic rebroadcaster takes the stream. */
export const ASK_HOLD_MS = 30_000;
/** An offering node that did not take an ask is not asked again for this long. */
export const DECLINED_COOLDOWN_MS = 10 * 60_000;
/** Offers a node keeps at most (one per offering node). */
export const MAX_KNOWN_OFFERS = 5000;
/** Minutes an automatic rebroadcaster buys for (its spending cap ends it sooner when lower). */
export const AUTO_MINUTES = 24 * 60;
/** Buyers of an automatic rebroadcast it serves at most (its upload budget may turn them away sooner). */
export const AUTO_CAPACITY = 200;

/** The automatic rebroadcaster's settings in the market's units (core/settings.ts mesh.autoRebroadcast). */
export interface AutoRebroadcastOptions {
  enabled: boolean;
  pricePercent: number;
  maxStreams: number;
  /** Upload budget of each stream it rebroadcasts, bytes/s. */
  uploadBps: number;
  /** Spending cap per stream taken, lamports. */
  maxLamports: Lamports;
  /** No buyer this long: it stops (ms). */
  idleMs: number;
}

export function autoRebroadcastOptions(s: {
  enabled: boolean;
  pricePercent: number;
  maxStreams: number;
  uploadKiBps: number;
  maxLamports: number;
  idleSec: number;
}): AutoRebroadcastOptions {
  return {
    enabled: s.enabled,
    pricePercent: s.pricePercent,
    maxStreams: s.maxStreams,
    uploadBps: s.uploadKiBps * 1024,
    maxLamports: BigInt(s.maxLamports),
    idleMs: s.idleSec * 1000,
  };
}

/** What an automatic rebroadcaster charges per minute: `percent` % of the rebroadcast price it buys at (rounded up). */
export const autoPrice = (relayPrice: Lamports, percent: number): Lamports =>
  (relayPrice * BigInt(percent) + 99n) / 100n;

/** Is a stream popular (POPULAR)? `asked`: who asked for it and when (served or turned away). */
export function isPopular(asked: { buyer: string; at: number }[], now = Date.now()): boolean {
  return new Set(asked.filter((a) => now - a.at <= POPULAR.windowMs).map((a) => a.buyer)).size >= POPULAR.buyers;
}

/** An offer as a seller keeps it. */
export interface KnownAutoOffer {
  node: string;
  pricePercent: number;
  streams: number;
  maxLamports: Lamports;
  /** Unix ms. */
  expiresAt: number;
}

/**
 * Why a RebroadcastOffer read from the market topic is not kept (null: it is). The field schema
 * (ledger/messages.ts) was checked when it was decoded; these are the rules beyond it.
 */
export function offerProblem(rx: Received<RebroadcastOffer>, nowMs = Date.now()): string | null {
  const m = rx.message;
  const landed = rx.blockTime ?? Math.floor(nowMs / 1000);
  if (m.expiresAt > landed + MAX_OFFER_TTL_SEC)
    return `it lives ${m.expiresAt - landed} s past its landing, more than ${MAX_OFFER_TTL_SEC} s`;
  if (m.expiresAt * 1000 <= nowMs) return 'it has expired';
  if (m.streams > 0 && m.maxLamports === 0n) return 'it takes streams with a spending cap of 0';
  return null;
}

/**
 * The offer a full seller asks to take its listing `l` (null: none fits, `why` says why): live,
 * with a stream to spare, not from this node, the buyer or anyone in the stream's chain, not
 * declined lately, charging at most what the stream's buyers accepted per minute (so they follow
 * the redirect), with a cap that pays at least one period; the cheapest, then the most spare.
 */
export function pickAutoOffer(
  offers: Iterable<KnownAutoOffer>,
  l: ListingRow,
  o: { me: string; buyer: string; chain: string[]; declined: (node: string) => boolean; now?: number },
): { offer: KnownAutoOffer; price: Lamports; why?: undefined } | { offer: null; why: string } {
  const now = o.now ?? Date.now();
  if (l.priceRelay === null) return { offer: null, why: 'the stream allows no rebroadcast' };
  if (l.mint) return { offer: null, why: 'automatic rebroadcasters take SOL-priced streams only' };
  if (l.hops >= MAX_MESH_HOPS) return { offer: null, why: `the stream is ${l.hops} hops deep already` };
  const ceiling = pricePerMinute(l, tierOf(l));
  if (ceiling === null) return { offer: null, why: 'the stream has no price' };
  const period = pricePerPeriod(ceiling, l.periodSec);
  const seen: string[] = [];
  const fit: { offer: KnownAutoOffer; price: Lamports }[] = [];
  for (const f of offers) {
    const price = autoPrice(l.priceRelay, f.pricePercent);
    const problem =
      f.expiresAt <= now
        ? 'expired'
        : f.streams < 1
          ? 'no stream to spare'
          : f.node === o.me || f.node === o.buyer || o.chain.includes(f.node)
            ? 'in the chain'
            : o.declined(f.node)
              ? 'did not take the last ask'
              : price > ceiling
                ? `${price} per minute is above the ${ceiling} its buyers accept`
                : f.maxLamports < period
                  ? `its cap ${f.maxLamports} pays no period of ${period}`
                  : null;
    if (problem) seen.push(`${f.node.slice(0, 8)}: ${problem}`);
    else fit.push({ offer: f, price });
  }
  fit.sort((a, b) => (a.price < b.price ? -1 : a.price > b.price ? 1 : b.offer.streams - a.offer.streams));
  const best = fit[0];
  if (best) return best;
  return { offer: null, why: seen.length ? seen.join('; ') : 'no automatic rebroadcaster offers to take it' };
}

/**
 * A buyer following a redirect may not have read the rebroadcast named yet (an automatic
 * rebroadcaster listed it a moment ago): wait until one of them is in the catalog, `ms` at most.
 */
export async function waitListed(
  store: Pick<ListingStore, 'get'>,
  refs: { seller: string; streamId: string }[],
  ms: number,
): Promise<void> {
  const end = Date.now() + ms;
  while (!refs.some((r) => store.get(listingId(r.seller, r.streamId))) && Date.now() < end)
    await new Promise((r) => setTimeout(r, 200));
}

export interface MeshAutoDeps {
  ctx: MarketContext;
  db: Db;
  /** This node's offer (settings); undefined: it offers nothing (it still asks others when full). */
  options?: AutoRebroadcastOptions;
  /** Does the relay role serve now? (an offer stands only while it does) */
  relayActive: () => boolean;
  rebroadcast(
    listingId: string,
    o: { minutes: number; maxLamports: bigint; price: bigint; capacity: number; uploadBps: number },
  ): Promise<{ purchase: PurchaseRow; offer: OfferRow }>;
  unsell(streamId: string): Promise<void>;
  stopPurchase(id: string): Promise<PurchaseRow>;
}

interface PendingAsk {
  to: string;
  until: number;
}

export class MeshAuto {
  readonly store: MeshAutoStore;
  // seller side
  readonly #offers = new Map<string, KnownAutoOffer>();
  readonly #asks = new Map<string, PendingAsk>();
  readonly #turnedAway = new Map<string, { buyer: string; at: number }[]>();
  readonly #declined = new Map<string, number>();
  // offering side
  #posted: { streams: number; pricePercent: number; maxLamports: Lamports; at: number } | null = null;
  #posting = false;
  #timer: NodeJS.Timeout | null = null;
  #taking = new Set<string>();
  #stopped = false;
  /** Stopping: the offer is withdrawn. */
  #withdrawing = false;

  constructor(private readonly d: MeshAutoDeps) {
    this.store = new MeshAutoStore(d.db);
  }

  get #log() {
    return this.d.ctx.log;
  }

  start(): void {
    const tickMs = Math.min(5000, Math.max(1000, (this.d.options?.idleMs ?? 20_000) / 4));
    this.#timer = setInterval(() => void this.#tick(), tickMs);
    this.#timer.unref();
    void this.#tick();
  }

  /** Stop; an offer standing is withdrawn (streams 0), waiting 2 s at most for it to be posted. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#posted && this.#posted.streams > 0 && !this.#stopped) {
      this.#withdrawing = true;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#announce(),
        new Promise<void>((r) => {
          timer = setTimeout(r, 2000);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    this.#stopped = true;
  }

  // ---------------- seller side ----------------

  /** A RebroadcastOffer from the market topic. */
  onOffer(rx: Received<RebroadcastOffer>): void {
    if (rx.sender === this.d.ctx.identity.address) return;
    const problem = offerProblem(rx);
    if (problem) {
      if (problem !== 'it has expired') this.#log.info({ sender: rx.sender, problem }, 'RebroadcastOffer refused');
      return;
    }
    const m = rx.message;
    if (m.streams === 0) return void this.#offers.delete(rx.sender);
    // bounded: expired offers go first, then the least recently posted
    if (this.#offers.size >= MAX_KNOWN_OFFERS && !this.#offers.has(rx.sender)) {
      for (const [k, v] of this.#offers) if (v.expiresAt <= Date.now()) this.#offers.delete(k);
      if (this.#offers.size >= MAX_KNOWN_OFFERS) this.#offers.delete(this.#offers.keys().next().value as string);
    }
    this.#offers.delete(rx.sender); // re-inserted last: the map's order is least recently posted first
    this.#offers.set(rx.sender, {
      node: rx.sender,
      pricePercent: m.pricePercent,
      streams: m.streams,
      maxLamports: m.maxLamports,
      expiresAt: m.expiresAt * 1000,
    });
  }

  /** The live offers this node knows. */
  offers(): KnownAutoOffer[] {
    const now = Date.now();
    return [...this.#offers.values()].filter((o) => o.expiresAt > now);
  }

  /** May `buyer` take a place on our full stream? Yes for the automatic rebroadcaster we asked to take it. */
  admits(buyer: string, streamId: string): boolean {
    const a = this.#asks.get(streamId);
    return !!a && a.to === buyer && a.until > Date.now();
  }

  /**
   * Our stream `o` is full and has no live rebroadcast: when it is popular, ask an automatic
   * rebroadcaster to take it and wait (until `deadlineMs` at most) for its derived listing. The
   * rebroadcasts to redirect the buyer to (none: `note` says why, for the reject).
   */
  async takeFull(
    o: OfferRow,
    buyer: string,
    full: string,
    deadlineMs: number,
  ): Promise<{ listings: ListingRow[]; note: string }> {
    const me = this.d.ctx.identity.address;
    const now = Date.now();
    const id = listingId(me, o.streamId);
    const originId = o.origin ?? id;
    const away = (this.#turnedAway.get(o.streamId) ?? []).filter((a) => now - a.at <= POPULAR.windowMs);
    away.push({ buyer, at: now });
    this.#turnedAway.set(o.streamId, away.slice(-1000));
    const served = this.d.ctx.trades
      .sales({ streamId: o.streamId, limit: 1000 })
      .filter((s) => now - s.createdAt <= POPULAR.windowMs)
      .map((s) => ({ buyer: s.buyer, at: s.createdAt }));
    if (!isPopular([...served, ...away], now))
      return { listings: [], note: `not popular yet (fewer than ${POPULAR.buyers} buyers asked)` };
    let ask = this.#asks.get(o.streamId);
    if (!ask || ask.until <= now) {
      const l = this.d.ctx.listings.get(id);
      if (!l) return { listings: [], note: 'its listing is not posted' };
      const chain = chainOf(this.d.ctx.listings, l);
      const pick = pickAutoOffer(this.#offers.values(), l, {
        me,
        buyer,
        chain: Array.isArray(chain) ? chainSellers(chain) : [],
        declined: (n) => (this.#declined.get(n) ?? 0) > now,
        now,
      });
      if (!pick.offer) return { listings: [], note: `no automatic rebroadcaster: ${pick.why}`.slice(0, 120) };
      ask = { to: pick.offer.node, until: now + ASK_HOLD_MS };
      this.#asks.set(o.streamId, ask);
      this.#log.info({ streamId: o.streamId, to: ask.to, full }, 'full and popular: asking an automatic rebroadcaster');
      try {
        await this.d.ctx.postTo(ask.to as Address, {
          type: 'RebroadcastAsk',
          nonce: newNonce(),
          expiresAt: expiresIn(ASK_HOLD_MS / 1000),
          streamId: o.streamId,
          message: `full: ${full}`.slice(0, 120),
        });
      } catch (e) {
        this.#asks.delete(o.streamId);
        return {
          listings: [],
          note: `could not ask an automatic rebroadcaster: ${(e as Error).message}`.slice(0, 120),
        };
      }
    }
    const asked = ask;
    const end = Math.min(asked.until, deadlineMs);
    for (;;) {
      const alts = rebroadcastsOf(this.d.ctx.listings, originId, { except: [me, buyer] });
      if (alts.length) return { listings: alts, note: '' };
      if (Date.now() >= end || this.#stopped) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (Date.now() >= asked.until) this.#declined.set(asked.to, Date.now() + DECLINED_COOLDOWN_MS);
    return { listings: [], note: `the automatic rebroadcaster ${asked.to.slice(0, 8)} did not take it in time` };
  }

  // ---------------- offering side ----------------

  /** The offer this node stands by now (streams 0: none). */
  #desired(): { streams: number; pricePercent: number; maxLamports: Lamports } {
    const s = this.d.options;
    if (!s?.enabled || this.#withdrawing) return { streams: 0, pricePercent: 100, maxLamports: 0n };
    const spare = this.d.relayActive() ? Math.max(0, s.maxStreams - this.store.active().length) : 0;
    return { streams: spare, pricePercent: s.pricePercent, maxLamports: s.maxLamports };
  }

  /** Post the offer when it changed (or is due for a refresh); withdraw it (streams 0) when it no longer stands. */
  async #announce(): Promise<void> {
    if (this.#posting || this.#stopped) return;
    const want = this.#desired();
    const p = this.#posted;
    const same =
      p && p.streams === want.streams && p.pricePercent === want.pricePercent && p.maxLamports === want.maxLamports;
    const due = !p || Date.now() - p.at >= (OFFER_TTL_SEC * 1000) / 2;
    if (same && !(due && want.streams > 0)) return;
    if (!p && want.streams === 0) return; // nothing ever offered: nothing to withdraw
    this.#posting = true;
    try {
      await this.d.ctx.ledger.post(this.d.ctx.marketTopic, {
        type: 'RebroadcastOffer',
        nonce: newNonce(),
        expiresAt: expiresIn(OFFER_TTL_SEC),
        pricePercent: want.pricePercent,
        streams: want.streams,
        maxLamports: want.maxLamports,
      });
      this.#posted = { ...want, at: Date.now() };
      this.#log.info({ streams: want.streams, pricePercent: want.pricePercent }, 'RebroadcastOffer posted');
    } catch (e) {
      this.#log.warn({ err: (e as Error).message }, 'RebroadcastOffer post failed (tried again soon)');
    } finally {
      this.#posting = false;
    }
  }

  /** A full seller asks us to take its stream. */
  async onAsk(rx: Received<RebroadcastAsk>): Promise<void> {
    const m = rx.message;
    const lid = listingId(rx.sender, m.streamId);
    const log = this.#log.child({ listingId: lid, askedBy: rx.sender });
    const s = this.d.options;
    if (!s?.enabled) return void log.info('RebroadcastAsk ignored: automatic rebroadcasting is off here');
    if (m.expiresAt * 1000 + this.d.ctx.timing.clockSkewMs < Date.now()) return;
    if (!this.d.relayActive()) return void log.info('RebroadcastAsk ignored: the relay role does not serve');
    if (this.#taking.has(lid) || this.store.active().some((r) => r.listingId === lid)) return;
    if (this.store.active().length + this.#taking.size >= s.maxStreams)
      return void log.info({ maxStreams: s.maxStreams }, 'RebroadcastAsk declined: no stream to spare');
    // a seller that asks again right after we stopped for want of buyers waits an idle period
    const last = this.store.latestFor(lid);
    if (last?.stoppedAt && Date.now() - last.stoppedAt < s.idleMs)
      return void log.info('RebroadcastAsk declined: stopped for want of buyers a moment ago');
    this.#taking.add(lid);
    try {
      // its listing may be newer in our catalog than the ask (a few seconds at most)
      await waitListed(this.d.ctx.listings, [{ seller: rx.sender, streamId: m.streamId }], 5000);
      const l = this.d.ctx.listings.get(lid);
      if (!l || l.priceRelay === null)
        return void log.info('RebroadcastAsk declined: no live listing that allows a rebroadcast');
      // its cap is lamports: a token-priced stream is not taken automatically
      if (l.mint) return void log.info('RebroadcastAsk declined: priced in a token');
      const price = autoPrice(l.priceRelay, s.pricePercent);
      const { purchase, offer } = await this.d.rebroadcast(lid, {
        minutes: AUTO_MINUTES,
        maxLamports: s.maxLamports,
        price,
        capacity: AUTO_CAPACITY,
        uploadBps: s.uploadBps,
      });
      this.store.start({
        streamId: offer.streamId,
        listingId: lid,
        purchaseId: purchase.id,
        askedBy: rx.sender,
        startedAt: Date.now(),
      });
      log.info(
        { streamId: offer.streamId, price: String(price), cap: String(s.maxLamports), reason: m.message },
        'automatic rebroadcast started',
      );
    } catch (e) {
      log.info({ err: (e as Error).message }, 'RebroadcastAsk declined: the rebroadcast was refused');
    } finally {
      this.#taking.delete(lid);
    }
    await this.#announce();
  }

  /** Each tick: a buyer seen keeps an automatic rebroadcast; none for idleMs (or its purchase over) stops it. */
  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const now = Date.now();
    for (const r of this.store.active()) {
      const p = this.d.ctx.trades.purchase(r.purchaseId);
      if (!p || isFinal(p.state)) {
        await this.#stopOne(r, `its purchase of ${r.listingId} ended${p?.reason ? `: ${p.reason}` : ''}`);
        continue;
      }
      const buyers = this.d.ctx.trades.sales({ active: true, streamId: r.streamId }).length;
      if (buyers > 0) this.store.sawBuyer(r.streamId, now);
      else if (now - r.lastBuyerAt >= (this.d.options?.idleMs ?? 300_000))
        await this.#stopOne(r, `no buyer for ${Math.round((now - r.lastBuyerAt) / 1000)} s`);
    }
    await this.#announce();
  }

  async #stopOne(r: AutoRebroadcastRow, reason: string): Promise<void> {
    this.store.stop(r.streamId, Date.now(), reason);
    this.#log.info({ streamId: r.streamId, listingId: r.listingId, reason }, 'automatic rebroadcast stopped');
    await this.d.unsell(r.streamId).catch((e) => this.#log.warn({ err: (e as Error).message }, 'unsell failed'));
    const p = this.d.ctx.trades.purchase(r.purchaseId);
    if (p && !isFinal(p.state))
      await this.d
        .stopPurchase(r.purchaseId)
        .catch((e) => this.#log.warn({ err: (e as Error).message }, 'stopping the purchase failed'));
  }

  /** The automatic rebroadcasts of this node, newest first (running: stoppedAt null). */
  list(limit = 100): AutoRebroadcastRow[] {
    return this.store.all(limit);
  }
}
