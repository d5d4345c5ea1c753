// Runs in: Node. The buyer side: the purchase state machine
//   requested → accepted → connecting → streaming (paid through period k) → ended / failed / rejected
// Rules: a spending cap set at purchase time; no money before the connection is up; each next
// period is paid (ONE tx: System transfer — or SPL TransferChecked for a token-priced stream —
// + Payment memo on the seller's stdin) before it starts;
// stop on request, at the cap, at the bought minutes, or when data stops arriving. A restart
// resumes whatever is still paid for (reconnect + resume from the last seq, no double payment).
// Its parts: payment-scheduler.ts (pay-as-you-go schedule), purchase-stream.ts (stream, sinks,
// reconnect), purchase-run.ts (per-purchase run state), background-tasks.ts (bounded shutdown).
import { randomBytes } from 'node:crypto';
import type { Address } from '@solana/kit';
import type { Connection } from '@libp2p/interface';
import { addressToPeerId } from '../identity/identity';
import type {
  Received,
  ServiceAccept,
  ServiceReject,
  ServiceRedirect,
  PeerError,
  Lamports,
  Tier,
} from '../ledger/types';
import { newNonce, expiresIn, MAX_LAMPORTS } from '../ledger/messages';
import { seal, open } from '../ledger/crypto';
import { decodeConnectInfo, encodeConnectInfo, type ConnectInfo } from '../net/connect-info';
import type { PathChange } from '../net/types';
import { isFinal, type PurchaseRow } from '../store/trades';
import type { ListingRow } from '../store/listings';
import type { LocalEndpoint } from './sinks/local-endpoint';
import { parseRawSinks, type RawSinksConfig } from './sinks/raw';
import type { MarketContext } from './context';
import { MarketError, type BuyOptions } from './types';
import { periodCost, pricePerMinute, pricePerPeriod, purchaseTerms, tierOf } from './pricing';
import { formatAmount } from '../ledger/assets';
import { BackgroundTasks } from './background-tasks';
import { PaymentScheduler } from './payment-scheduler';
import { VOUCHER_EXTRA_FEES } from './voucher';
import { describeLiveness, pastRefreshPoint } from './liveness';
import { nonceRent } from '../ledger/nonce';
import { PurchaseStreams, connectToSeller, saveProgress, sendUplink, type FrameListener } from './purchase-stream';
import { clearRunTimers, newRun, paidUntil, type PurchaseControl, type Run } from './purchase-run';
import { pickRedirect, rebroadcastsOf } from './mesh';
import { waitListed } from './mesh-auto';

/** A purchase follows at most this many redirects (then it is rejected with the reason). */
const MAX_REDIRECTS = 3;

/** Rent-exempt minimum of a 0-byte System account (Solana's rent: 890 880 lamports). */
export const RENT_EXEMPT_MIN = 890_880n;

/** The protocol's most grace a seller may give (ServiceAccept.graceSec; ledger/messages.ts). */
const MAX_GRACE_SEC = 3_600;

/** How long shutdown waits for a purchase stop under way (it posts ServiceStop on the ledger). */
const STOP_WAIT_MS = 3000;

export class BuyerSide {
  readonly runs = new Map<string, Run>();
  #flushTimer: NodeJS.Timeout | null = null;
  /** Background work (timers, stops posting ServiceStop): awaited (bounded) by stop(). */
  readonly #tasks: BackgroundTasks;
  readonly #streams: PurchaseStreams;
  readonly #payments: PaymentScheduler;
  #closeTimer: NodeJS.Timeout | null = null;
  #closing = false;

  constructor(
    private readonly ctx: MarketContext,
    private readonly endpoint: LocalEndpoint | null,
    /** Frames of a purchase also go here (rebroadcast hubs, UI events). */
    onFrame: FrameListener,
  ) {
    this.#tasks = new BackgroundTasks(ctx.log);
    const control: PurchaseControl = {
      finish: (run, to, reason) => this.#finish(run, to, reason),
      move: (id, to, reason) => this.#move(id, to, reason),
      stopPurchase: (id, reason) => this.stopPurchase(id, reason),
      failover: (run, reason) => this.#tasks.run('failing over', () => this.#failover(run, reason)),
    };
    const payments = new PaymentScheduler(ctx, this.#tasks, control);
    this.#payments = payments;
    this.#streams = new PurchaseStreams(ctx, endpoint, onFrame, this.#tasks, payments, control);
    ctx.net.addEventListener?.('path', this.#onPath);
  }

  /** A peer's best path changed: streams on a worse connection move (PurchaseStreams.moveToBetterPath). */
  readonly #onPath = (e: Event): void =>
    this.#streams.moveToBetterPath((e as CustomEvent<PathChange>).detail, this.runs.values());

  async start(): Promise<void> {
    this.#flushTimer = setInterval(() => this.#flush(), 1000);
    this.#flushTimer.unref();
    for (const p of this.ctx.trades.purchases({ active: true })) await this.#resume(p);
    // finished purchases' nonce accounts: closed (rent back) once the seller settled
    this.#closeTimer = setInterval(() => {
      if (this.#closing) return;
      this.#closing = true;
      this.#tasks.run('closing nonce accounts', () =>
        this.#payments.vouchers
          .closeFinished(() => this.ctx.ledger.estimateFee(true), this.ctx.timing.voucherCloseAfterMs)
          .finally(() => (this.#closing = false)),
      );
    }, 2000);
    this.#closeTimer.unref();
  }

  /**
   * The SOL balance a purchase priced in SOL needs before anything is sent — what buy() checks: the
   * request's fee, the first period and its payment's fee (vouchers: also the nonce account's
   * creation, a settlement and the close), the nonce account's rent (returned at the end) and the
   * wallet's own rent-exempt minimum. The quote uses it so that it never promises what buy() refuses.
   */
  async solNeededToStart(perPeriod: bigint): Promise<bigint> {
    const vouchers = this.ctx.timing.payments === 'voucher';
    const [feeMsg, feePay, nonceLock] = await Promise.all([
      this.ctx.ledger.estimateFee(false),
      this.ctx.ledger.estimateFee(true),
      this.nonceRentToLock(),
    ]);
    return feeMsg + feePay + (vouchers ? 3n * feePay : 0n) + perPeriod + nonceLock + RENT_EXEMPT_MIN;
  }

  /**
   * Lamports a new voucher purchase locks in a nonce account: its rent, or 0 when a nonce account
   * kept from an earlier purchase is free (docs/market.md "Vouchers"); 0 when paying per period.
   */
  async nonceRentToLock(): Promise<bigint> {
    if (this.ctx.timing.payments !== 'voucher' || this.#payments.vouchers.pool.free().length > 0) return 0n;
    return nonceRent(this.ctx.ledger.rpc);
  }

  /** Close the free kept nonce accounts now (rent back); how many were closed. */
  async closeNonceAccounts(): Promise<number> {
    return this.#payments.vouchers.closeIdle(await this.ctx.ledger.estimateFee(true), 0);
  }

  /** What this purchase risks now (vouchers: what it signed, what was settled). */
  exposure(p: PurchaseRow): ReturnType<PaymentScheduler['vouchers']['exposure']> {
    return this.#payments.vouchers.exposure(p);
  }

  async stop(): Promise<void> {
    this.ctx.net.removeEventListener?.('path', this.#onPath);
    if (this.#flushTimer) clearInterval(this.#flushTimer);
    if (this.#closeTimer) clearInterval(this.#closeTimer);
    for (const r of this.runs.values()) {
      r.stopping = true;
      clearRunTimers(r);
    }
    // let stops under way post their ServiceStop and record it before the database closes
    if (this.#tasks.size) await this.#tasks.settle(STOP_WAIT_MS);
    this.#flush();
    for (const r of this.runs.values()) {
      r.cs?.close();
      // leave the purchase as it is in SQLite (and the seller's sale open): a restart resumes it
      saveProgress(this.ctx, r, r.session);
      r.session?.abort('buyer node shutting down');
      await r.file?.close();
      await r.outputs?.close();
    }
    this.runs.clear();
  }

  /** `failover`: a purchase moving from a lost source (#failover) — its credit and history reason. */
  async buy(
    listing: ListingRow,
    o: BuyOptions,
    failover?: { creditUntil: number | undefined; reason: string },
  ): Promise<PurchaseRow> {
    const minutes = o.minutes ?? 60;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 525_600)
      throw new MarketError('bad-input', 'minutes must be a whole number from 1 to 525600');
    if (o.maxLamports !== undefined && (o.maxLamports < 0n || o.maxLamports > MAX_LAMPORTS))
      throw new MarketError('bad-input', `the spending cap must be from 0 to ${MAX_LAMPORTS} lamports`);
    let raw: RawSinksConfig | undefined;
    try {
      raw = o.raw === undefined ? undefined : parseRawSinks(o.raw);
    } catch (e) {
      throw new MarketError('bad-input', (e as Error).message);
    }
    // never send anything we cannot finish: the request, the first payment and its fee
    const [balance, feeMsg, feePay, asset] = await Promise.all([
      this.ctx.ledger.balance(),
      this.ctx.ledger.estimateFee(false),
      this.ctx.ledger.estimateFee(true),
      this.ctx.ledger.asset(listing.mint),
    ]);
    // the cap covers what the payments cost: each period's price AND (SOL) its transaction fee
    let terms = purchaseTerms(listing, { minutes, maxLamports: o.maxLamports, feePerPeriod: feePay });
    const vouchers = this.ctx.timing.payments === 'voucher';
    // vouchers: the default cap also covers the nonce account's creation and close (voucher.ts)
    if (vouchers && o.maxLamports === undefined && !listing.mint)
      terms = purchaseTerms(listing, {
        minutes,
        maxLamports: terms.cap + VOUCHER_EXTRA_FEES * feePay,
        feePerPeriod: feePay,
      });
    const { tier, pricePerPeriod: perPeriod, cap: maxLamports } = terms;
    // vouchers lock a nonce account's rent (none when a kept one is free; it comes back when the
    // account is closed) and pay its fees
    const nonceLock = await this.nonceRentToLock();
    const fees = feeMsg + feePay + (vouchers ? 3n * feePay : 0n);
    const lockText = nonceLock
      ? ` + nonce account rent ${nonceLock}, kept for later purchases and returned at its close`
      : '';
    if (asset.kind === 'spl') {
      // the price in the token; the fees (and the seller's token account, if it has none yet) in SOL
      const [tokens, rent] = await Promise.all([
        this.ctx.ledger.balanceOf(asset),
        this.ctx.ledger
          .tokenAccountMissing(asset, listing.seller as Address)
          .then((missing) => (missing ? this.ctx.ledger.tokenAccountRent() : 0n)),
      ]);
      if (tokens < perPeriod)
        throw new MarketError(
          'insufficient-balance',
          `${asset.symbol} balance ${formatAmount(tokens, asset)} is below the first period's ${formatAmount(perPeriod, asset)}; nothing was sent`,
        );
      const needSol = fees + rent + nonceLock + RENT_EXEMPT_MIN;
      if (balance < needSol)
        throw new MarketError(
          'insufficient-balance',
          `balance ${balance} lamports is below the ${needSol} lamports needed to start (fees ${fees}${rent ? ` + the seller's ${asset.symbol} account rent ${rent}` : ''}${lockText} + rent-exempt minimum ${RENT_EXEMPT_MIN}); nothing was sent`,
        );
    } else {
      // a System account must stay rent-exempt (or be emptied): keep that minimum too
      const need = fees + perPeriod + nonceLock + RENT_EXEMPT_MIN;
      if (balance < need) {
        throw new MarketError(
          'insufficient-balance',
          `balance ${balance} lamports is below the ${need} lamports needed to start (first period ${perPeriod} + fees ${fees}${lockText} + rent-exempt minimum ${RENT_EXEMPT_MIN}); nothing was sent`,
        );
      }
    }
    // a full seller's listing says so: ask one of its rebroadcasts at once — the one its redirect
    // would name, by the same rule (pickRedirect), one ledger round trip sooner (docs/mesh.md)
    const routed = failover ? null : this.#routeFull(listing, tier);
    const target = routed?.listing ?? listing;
    // a listing past its refresh point: is its seller still there? (peer to peer, no transaction)
    const live = await this.#liveness(target);
    const id = `req-${randomBytes(9).toString('base64url')}`;
    const row = this.ctx.trades.insertPurchase({
      id,
      listingId: target.id,
      seller: target.seller,
      streamId: target.streamId,
      tier: routed ? 'relay' : tier,
      maxMinutes: minutes,
      maxLamports,
      sinks: { ...(o.out ? { file: o.out } : {}), serve: o.serve ?? true, ...(raw ? { raw } : {}) },
      expiresAt: Date.now() + this.ctx.timing.requestTimeoutMs,
      mint: asset.mint,
      ...(live || failover || routed
        ? { reason: [failover?.reason ?? routed?.reason ?? 'buy', live].filter(Boolean).join('; ') }
        : {}),
    });
    this.ctx.emit('purchase', row);
    const run = this.#newRun(id);
    if (failover?.creditUntil !== undefined) run.creditUntil = failover.creditUntil;
    try {
      await this.#request(run, target, routed ? 'relay' : tier, minutes, maxLamports);
    } catch (e) {
      this.#finish(run, 'failed', `could not send the request: ${(e as Error).message}`);
      throw e;
    }
    return this.ctx.trades.purchase(id)!;
  }

  /**
   * A Buy on a listing whose seller says it is full: the rebroadcast of its stream to ask instead
   * (the cheapest live, healthy, not full one priced at most what the user accepted per minute,
   * in the same asset: pickRedirect, the redirect's own rule); null: ask the seller as bought.
   */
  #routeFull(listing: ListingRow, tier: Tier): { listing: ListingRow; reason: string } | null {
    if (!listing.full) return null;
    const ceiling = pricePerMinute(listing, tier);
    if (ceiling === null) return null;
    const me = this.ctx.identity.address;
    const originId = listing.origin ?? listing.id;
    const refs = rebroadcastsOf(this.ctx.listings, originId, { except: [me, listing.seller] }).map((l) => ({
      seller: l.seller,
      streamId: l.streamId,
    }));
    const pick = pickRedirect(this.ctx.listings, refs, {
      me,
      originId,
      ceiling,
      mint: listing.mint ?? null,
      avoid: [listing.seller],
    });
    // all of them full: ask the seller as bought (its redirect lets a full rebroadcast hand the
    // buyer on one hop deeper, or it has room again)
    if (!pick.listing || pick.listing.full) return null;
    const to = pick.listing;
    return {
      listing: to,
      reason: `the seller's listing says it is full: asking its rebroadcast ${to.id} (hop ${to.hops}, ${pricePerMinute(to, 'relay')} per minute) instead`,
    };
  }

  /** Prepare the connect info for the listing's seller and post the ServiceRequest (expiry timer). */
  async #request(run: Run, listing: ListingRow, tier: Tier, minutes: number, maxLamports: bigint): Promise<void> {
    const seller = listing.seller as Address;
    run.cs = await this.ctx.net.prepareConnect({
      peer: addressToPeerId(seller),
      role: 'initiator',
      requestId: run.id,
      relayAllowed: (relay) => this.ctx.relayPricing?.allowed(relay) ?? true,
    });
    const nonce = newNonce();
    const sealed = seal(encodeConnectInfo(run.cs.localInfo), {
      sender: this.ctx.identity,
      recipient: seller,
      type: 'ServiceRequest',
      nonce,
    });
    await this.ctx.postTo(seller, {
      type: 'ServiceRequest',
      nonce,
      expiresAt: expiresIn(Math.ceil(this.ctx.timing.requestTimeoutMs / 1000)),
      requestId: run.id,
      streamId: listing.streamId,
      tier,
      maxMinutes: minutes,
      maxLamports,
      sealed,
    });
    if (run.expiryTimer) clearTimeout(run.expiryTimer);
    run.expiryTimer = setTimeout(() => {
      const p = this.ctx.trades.purchase(run.id);
      if (p?.state === 'requested')
        this.#finish(run, 'failed', 'the seller did not answer: request expired, nothing paid');
    }, this.ctx.timing.requestTimeoutMs);
    run.expiryTimer.unref();
  }

  /**
   * A full seller answered with its stream's rebroadcasts (ServiceRedirect, docs/mesh.md): the
   * same purchase asks the cheapest healthy one of them instead — only one whose price per minute
   * is at most what the user accepted (the listing bought) and in the same asset; the spending cap
   * stays the user's. None: the purchase is rejected with the seller's reason. Nothing was paid.
   */
  async onRedirect(rx: Received<ServiceRedirect>): Promise<void> {
    const m = rx.message;
    const p = this.ctx.trades.purchase(m.requestId);
    if (!p || p.seller !== rx.sender || p.state !== 'requested') return;
    const run = this.runs.get(p.id);
    if (!run) return;
    // a rebroadcast named may be newer than our catalog (an automatic rebroadcaster's: mesh-auto.ts)
    await waitListed(this.ctx.listings, m.listings, 10_000);
    if (this.ctx.trades.purchase(p.id)?.state !== 'requested') return;
    const from = this.ctx.listings.get(p.listingId);
    const ceiling = from ? pricePerMinute(from, p.tier) : null;
    const streamOrigin = from ? (from.origin ?? from.id) : null;
    run.redirects = (run.redirects ?? 0) + 1;
    const pick =
      from && ceiling !== null && streamOrigin && run.redirects <= MAX_REDIRECTS
        ? pickRedirect(this.ctx.listings, m.listings, {
            me: this.ctx.identity.address,
            originId: streamOrigin,
            ceiling,
            mint: p.mint,
            avoid: [rx.sender],
          })
        : {
            listing: null,
            why:
              run.redirects > MAX_REDIRECTS
                ? `redirected ${MAX_REDIRECTS} times already`
                : 'the listing bought is gone',
          };
    if (!pick.listing)
      return void this.#finish(run, 'rejected', `full: ${m.message}; not redirected: ${pick.why}; nothing paid`);
    const to = pick.listing;
    if (run.expiryTimer) clearTimeout(run.expiryTimer);
    run.cs?.close();
    run.cs = null;
    this.ctx.signals.close(run.id);
    const reason = `redirected by the full seller (${m.message}) to the rebroadcast ${to.id} (hop ${to.hops}, ${pricePerMinute(to, 'relay')} per minute)`;
    this.ctx.log.info({ id: p.id, from: p.listingId, to: to.id }, 'following a redirect');
    this.ctx.emit(
      'purchase',
      this.ctx.trades.redirectPurchase(
        p.id,
        {
          listingId: to.id,
          seller: to.seller,
          streamId: to.streamId,
          tier: 'relay',
          expiresAt: Date.now() + this.ctx.timing.requestTimeoutMs,
        },
        reason,
      ),
    );
    try {
      await this.#request(run, to, 'relay', p.maxMinutes, p.maxLamports);
    } catch (e) {
      this.#finish(run, 'failed', `could not send the request to ${to.id}: ${(e as Error).message}; nothing paid`);
    }
  }

  /**
   * Fail over a rebroadcast purchase (docs/mesh.md "Faults"): stop it (its rebroadcaster altered
   * frames or went away; ServiceStop says why) and buy the same stream from the cheapest other
   * healthy rebroadcast — or its origin — priced at most what the user accepted
   * per minute, for the minutes left and with what is left of the spending cap (spent and fees
   * deducted), so the two purchases together never cost more than the user accepted. Nothing
   * fitting: the purchase just ends, saying why.
   */
  async #failover(run: Run, reason: string): Promise<void> {
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state)) return;
    const from = this.ctx.listings.get(p.listingId);
    const originId = from?.origin ?? null;
    const ceiling = from ? pricePerMinute(from, p.tier) : null;
    const me = this.ctx.identity.address;
    let next: ListingRow | null = null;
    if (originId && ceiling !== null) {
      const origin = this.ctx.listings.get(originId);
      const alts = [
        ...rebroadcastsOf(this.ctx.listings, originId, { except: [p.seller, me] }),
        // or the origin itself, at its direct price (only when that is within what the user accepted)
        ...(origin &&
        origin.seller !== me &&
        origin.healthy &&
        origin.delistedAt === null &&
        origin.expiresAt > Date.now()
          ? [origin]
          : []),
      ].filter((l) => {
        const price = pricePerMinute(l, tierOf(l));
        return price !== null && price <= ceiling && (l.mint ?? null) === p.mint;
      });
      next = alts[0] ?? null;
    }
    const moving = next ? `; moving to ${next.origin ? `the rebroadcast ${next.id}` : `the origin ${next.id}`}` : '';
    // the purchase ends now (stopPurchase finishes it before its first await); its ServiceStop goes
    // on the ledger while the next source is asked — one ledger round trip less before data flows again
    const stopped = this.stopPurchase(
      p.id,
      `${reason}${moving || '; no other source of this stream within your price'}`,
    );
    if (!next) return void (await stopped);
    try {
      await this.#failoverTo(run, p, next, reason);
    } finally {
      await stopped;
    }
  }

  /** The second half of #failover: buy `next` with what is left of the stopped purchase's cap and time. */
  async #failoverTo(run: Run, p: PurchaseRow, next: ListingRow, reason: string): Promise<void> {
    // what is left of the user's cap once the stopped purchase is done, less the fees it still has
    // to pay (closing its nonce account: the two fees its own cap reserved), so the two together
    // never cost more than accepted; a payment on its way when the stop came (the first period's
    // voucher, say) lands in spent and fees: wait for it (bounded) before reading what is left
    for (let i = 0; run.paying && i < 100; i++) await new Promise((r) => setTimeout(r, 100));
    const done = this.ctx.trades.purchase(p.id) ?? p;
    const open = this.#payments.vouchers.store.get(p.id, 'out');
    const pending = open && open.closedAt === null ? 2n * (await this.#payments.fee(run)) : 0n;
    const left = p.mint ? done.maxLamports - done.spent : done.maxLamports - done.spent - done.fees - pending;
    if (left <= 0n) {
      this.ctx.log.info({ id: p.id, left: String(left) }, 'no failover: nothing left of the spending cap');
      return;
    }
    // never pay twice for the same time: what the lost source was paid for and did not deliver is
    // the new purchase's credit — its seller starts period 0 when that runs out (docs/mesh.md "Faults")
    const now = Date.now();
    const paidTo = paidUntil(done);
    const creditUntil = done.paidThrough >= 0 && paidTo > now ? paidTo : undefined;
    // the minutes the user bought that are left after what is paid for already
    const endsAt = (done.startedAt ?? now) + p.maxMinutes * 60_000;
    const minutes = Math.max(1, Math.ceil((endsAt - Math.max(now, creditUntil ?? now)) / 60_000));
    const credit = creditUntil
      ? `; ${done.seller} was paid through period ${done.paidThrough} (until ${new Date(creditUntil).toISOString()}): period 0 here is asked to start then`
      : '';
    try {
      const q = await this.buy(
        next,
        { minutes, maxLamports: left, serve: p.sinks.serve, ...(p.sinks.file ? { out: p.sinks.file } : {}) },
        { creditUntil, reason: `failover from ${p.id} (${reason})${credit}` },
      );
      this.ctx.log.info({ from: p.id, to: q.id, listing: next.id, cap: String(left), creditUntil }, 'failed over');
    } catch (e) {
      this.ctx.log.warn({ id: p.id, err: (e as Error).message }, 'failover purchase could not start');
    }
  }

  /** Send bytes up the purchase's stream to the seller's source (uplink; split at MAX_UPLINK_BYTES). */
  uplink(id: string, bytes: Uint8Array): void {
    const run = this.runs.get(id);
    if (!run?.session) throw new MarketError('unknown-purchase', `purchase ${id} is not streaming: nothing to send on`);
    if (bytes.length === 0) throw new MarketError('bad-input', 'an uplink message holds at least one byte');
    if (!sendUplink(run.session, bytes))
      throw new MarketError('bad-input', 'the stream to the seller is full or closed: message not sent');
  }

  /** Stop a purchase at once (the current period is not refunded). */
  async stopPurchase(id: string, reason = 'stopped by the buyer'): Promise<PurchaseRow> {
    const p = this.ctx.trades.purchase(id);
    if (!p) throw new MarketError('unknown-purchase', `no purchase ${id}`);
    if (isFinal(p.state)) return p;
    const run = this.runs.get(id) ?? this.#newRun(id);
    // with a stream open, the stop travels on it (its `end` frame: the seller ends the sale and
    // settles at once) and costs no ledger transaction; without one, a ServiceStop on the ledger.
    // Lost on the way, the seller still ends the sale when the paid time and grace run out.
    const onStream = !!run.session && !run.session.ended;
    this.#finish(run, 'ended', reason);
    if (onStream) return this.ctx.trades.purchase(id)!;
    await this.ctx
      .postTo(p.seller as Address, {
        type: 'ServiceStop',
        nonce: newNonce(),
        expiresAt: expiresIn(300),
        requestId: id,
        reason: reason.slice(0, 200),
      })
      .catch((e) => this.ctx.log.warn({ err: (e as Error).message }, 'could not post ServiceStop'));
    return this.ctx.trades.purchase(id)!;
  }

  onReject(rx: Received<ServiceReject>): void {
    const p = this.ctx.trades.purchase(rx.message.requestId);
    if (!p || p.seller !== rx.sender || p.state !== 'requested') return;
    const run = this.runs.get(p.id) ?? this.#newRun(p.id);
    this.#finish(run, 'rejected', `${rx.message.reason}: ${rx.message.message}`);
  }

  onPeerError(rx: Received<PeerError>): void {
    const id = rx.message.requestId;
    if (!id) return;
    const p = this.ctx.trades.purchase(id);
    if (!p || p.seller !== rx.sender || isFinal(p.state)) return;
    this.ctx.log.warn({ id, code: rx.message.code, msg: rx.message.message }, 'seller reported an error');
    if (rx.message.recover === 'abort')
      this.#finish(
        this.runs.get(id) ?? this.#newRun(id),
        'failed',
        `seller error ${rx.message.code}: ${rx.message.message}`,
      );
  }

  async onAccept(rx: Received<ServiceAccept>): Promise<void> {
    const m = rx.message;
    const p = this.ctx.trades.purchase(m.requestId);
    if (!p || p.seller !== rx.sender || p.state !== 'requested') return;
    const run = this.runs.get(p.id);
    if (!run || !run.cs)
      return void this.#finish(run ?? this.#newRun(p.id), 'failed', 'accept arrived after a restart; request again');
    if (run.expiryTimer) clearTimeout(run.expiryTimer);
    // every term of the accept against the listing we bought: a seller cannot change them now
    const problem = await this.#acceptProblem(p, m, run);
    if (problem) return this.#tasks.run('refusing the accept', () => this.#refuseAccept(run, problem));
    let info: ConnectInfo;
    try {
      info = decodeConnectInfo(
        open(m.sealed, { recipient: this.ctx.identity, sender: rx.sender, type: 'ServiceAccept', nonce: m.nonce }),
      );
    } catch (e) {
      return void this.#finish(run, 'failed', `cannot read the seller's connect info: ${(e as Error).message}`);
    }
    this.ctx.trades.updatePurchase(p.id, {
      pricePerPeriod: m.pricePerPeriod,
      periodMs: m.periodSec * 1000,
      graceMs: m.graceSec * 1000,
      peerInfo: info,
    });
    this.#move(p.id, 'accepted', `quote ${m.pricePerPeriod} lamports per ${m.periodSec} s period`);
    this.#move(p.id, 'connecting', 'connect ladder (initiator)');
    let conn: Connection;
    try {
      // further punch rounds (PunchSync) over the ledger when the first fails
      const r = await connectToSeller(this.ctx, p, run.cs, info, {
        punchAt: m.punchAt,
        ...(m.relays.length ? { relays: m.relays } : {}),
      });
      conn = r.connection;
    } catch (e) {
      return void this.#finish(run, 'failed', `could not connect to the seller: ${(e as Error).message}; nothing paid`);
    }
    await this.#streams.open(run, conn);
  }

  // ---- internals ----

  /**
   * What is wrong with an accept (null: nothing). Its terms must be the listing's: the same
   * period, a price per period no higher than the listing's price of the purchase's tier, a
   * grace within the protocol's bounds; one period plus its fee must fit the spending cap.
   */
  async #acceptProblem(p: PurchaseRow, m: ServiceAccept, run: Run): Promise<string | null> {
    const listing = this.ctx.listings.get(p.listingId);
    if (!listing) return `the listing ${p.listingId} is no longer known: cannot check the seller's terms`;
    // paid in what the purchase was made in (the listing's asset when the user bought)
    if ((m.mint ?? null) !== p.mint)
      return `the seller asks to be paid in ${m.mint ?? 'SOL'}, the purchase is priced in ${p.mint ?? 'SOL'}`;
    if (m.periodSec !== listing.periodSec)
      return `the seller's period ${m.periodSec} s is not the listed ${listing.periodSec} s`;
    if (m.graceSec < 1 || m.graceSec > MAX_GRACE_SEC)
      return `the seller's grace ${m.graceSec} s is outside 1..${MAX_GRACE_SEC} s`;
    const perMinute = pricePerMinute(listing, p.tier);
    if (perMinute === null) return `the listing has no ${p.tier}-tier price`;
    const listed = pricePerPeriod(perMinute, listing.periodSec);
    if (m.pricePerPeriod > listed)
      return `price changed: ${m.pricePerPeriod} lamports per period is above the listed ${listed} (${p.tier} tier)`;
    let fee: bigint;
    try {
      fee = await this.ctx.ledger.estimateFee(true);
    } catch (e) {
      return `cannot price a payment on the ledger: ${(e as Error).message}`;
    }
    run.payFee = fee;
    if (periodCost(m.pricePerPeriod, fee, p.mint) > p.maxLamports)
      return p.mint
        ? `one period (${m.pricePerPeriod} base units of ${p.mint}) costs more than the spending cap ${p.maxLamports}`
        : `one period (${m.pricePerPeriod} lamports + ${fee} lamports of fee) costs more than the spending cap ${p.maxLamports}`;
    return null;
  }

  /** Refuse a seller's accept: the purchase fails with the reason, and the seller is told (ServiceStop). */
  async #refuseAccept(run: Run, reason: string): Promise<void> {
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state)) return;
    this.ctx.log.warn({ id: run.id, seller: p.seller, reason }, "refusing the seller's accept");
    this.#finish(run, 'failed', `refused the seller's terms: ${reason}; nothing paid`);
    await this.ctx
      .postTo(p.seller as Address, {
        type: 'ServiceStop',
        nonce: newNonce(),
        expiresAt: expiresIn(300),
        requestId: run.id,
        reason: `terms refused: ${reason}`.slice(0, 200),
      })
      .catch((e) => this.ctx.log.warn({ err: (e as Error).message }, 'could not post ServiceStop'));
  }

  #newRun(id: string): Run {
    const r = newRun(id);
    this.runs.set(id, r);
    return r;
  }

  async #resume(p: PurchaseRow): Promise<void> {
    const run = this.#newRun(p.id);
    if (p.state === 'requested') {
      // we lost the prepared connect session: cannot use an accept any more
      return void this.#finish(run, 'failed', 'interrupted by a restart before the seller answered; nothing paid');
    }
    if (p.startedAt === null || p.paidThrough < 0)
      return void this.#finish(run, 'failed', 'interrupted by a restart before streaming; nothing paid');
    if (Date.now() > paidUntil(p) + (p.graceMs ?? 0))
      return void this.#finish(run, 'ended', `paid time ran out while offline (through period ${p.paidThrough})`);
    this.ctx.log.info({ id: p.id, paidThrough: p.paidThrough, lastSeq: p.lastSeq }, 'resuming purchase after restart');
    run.lastFrameAt = Date.now();
    await this.#streams.reconnect(run);
  }

  #flush(): void {
    for (const r of this.runs.values()) if (r.session) saveProgress(this.ctx, r, r.session);
  }

  #finish(run: Run, to: 'ended' | 'failed' | 'rejected', reason: string): void {
    run.stopping = true;
    clearRunTimers(run);
    run.cs?.close();
    this.ctx.signals.close(run.id);
    const s = run.session;
    saveProgress(this.ctx, run, s);
    if (s) this.#tasks.run('closing the stream', () => s.close(reason));
    run.session = null;
    const file = run.file;
    if (file) this.#tasks.run('closing the output file', () => file.close());
    const outputs = run.outputs;
    run.outputs = null;
    if (outputs) this.#tasks.run('closing the raw outputs', () => outputs.close());
    this.endpoint?.remove(run.id);
    this.runs.delete(run.id);
    const p = this.ctx.trades.purchase(run.id);
    if (p && !isFinal(p.state)) this.#move(run.id, to, reason);
  }

  /**
   * Before a request transaction for a listing past its refresh point: check its seller peer to
   * peer (liveness.ts). Reached → what to record; not reached → MarketError 'seller-unreachable'
   * (nothing sent). A fresh listing, or no liveness service: undefined (ask over the ledger).
   */
  async #liveness(listing: ListingRow): Promise<string | undefined> {
    if (!this.ctx.liveness || !pastRefreshPoint(listing)) return undefined;
    const live = await this.ctx.liveness(addressToPeerId(listing.seller as Address).toString(), listing.addrs);
    const text = describeLiveness(live);
    this.ctx.log.info({ listing: listing.id, ...live }, 'seller liveness before a request');
    if (!live.alive)
      throw new MarketError(
        'seller-unreachable',
        `the seller of '${listing.id}' did not refresh its listing (posted ${Math.round((Date.now() - listing.publishedAt) / 1000)} s ago) and does not answer peer to peer: ${text}; nothing was sent`,
      );
    return text;
  }

  #move(id: string, to: PurchaseRow['state'], reason: string): void {
    try {
      this.ctx.emit('purchase', this.ctx.trades.movePurchase(id, to, reason));
    } catch (e) {
      this.ctx.log.debug({ id, to, err: (e as Error).message }, 'purchase transition skipped');
    }
  }
}

export type { Lamports };
