// Runs in: Node. The buyer side: the purchase state machine
//   requested → accepted → connecting → streaming (paid through period k) → ended / failed / rejected
// Rules: a spending cap set at purchase time; no money before the connection is up; each next
// period is paid (ONE tx: System transfer + Payment memo on the seller's stdin) before it starts;
// stop on request, at the cap, at the bought minutes, or when data stops arriving. A restart
// resumes whatever is still paid for (reconnect + resume from the last seq, no double payment).
import { randomBytes } from 'node:crypto';
import type { Address } from '@solana/kit';
import type { Connection, PeerId } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { addressToPeerId } from '../identity/identity';
import type { Received, ServiceAccept, ServiceReject, PeerError, Lamports } from '../ledger/types';
import { newNonce, expiresIn } from '../ledger/messages';
import { seal, open } from '../ledger/crypto';
import { decodeConnectInfo, encodeConnectInfo, type ConnectInfo } from '../net/connect-info';
import type { ConnectSession } from '../net/types';
import { isFinal, type PurchaseRow } from '../store/trades';
import type { ListingRow } from '../store/listings';
import { openStream, type StreamSession } from './stream-client';
import { FileSink } from './sinks/file';
import type { LocalEndpoint } from './sinks/local-endpoint';
import type { MarketContext } from './context';
import { MarketError, pricePerPeriod, type BuyOptions } from './types';

/** Rent-exempt minimum of a 0-byte System account (Solana's rent: 890 880 lamports). */
export const RENT_EXEMPT_MIN = 890_880n;

interface Run {
  id: string;
  cs: ConnectSession | null;
  session: StreamSession | null;
  payTimer: NodeJS.Timeout | null;
  endTimer: NodeJS.Timeout | null;
  expiryTimer: NodeJS.Timeout | null;
  file: FileSink | null;
  /** Last frame received, or when the stream (re)opened: for the stall timeout. */
  lastFrameAt: number;
  /** Last frame actually received by this run (null: none yet). */
  dataAt: number | null;
  paying: boolean;
  stopping: boolean;
  reconnects: number;
  /** frames/lastSeq not yet flushed to SQLite */
  frames: number;
}

/** How long shutdown waits for a purchase stop under way (it posts ServiceStop on the ledger). */
const STOP_WAIT_MS = 3000;

export class BuyerSide {
  readonly runs = new Map<string, Run>();
  #flushTimer: NodeJS.Timeout | null = null;
  /** Background work (timers, stops posting ServiceStop): awaited (bounded) by stop(). */
  #tasks = new Set<Promise<void>>();

  constructor(
    private readonly ctx: MarketContext,
    private readonly endpoint: LocalEndpoint | null,
    /** Frames of a purchase also go here (rebroadcast hubs, UI events). */
    private readonly onFrame: (purchaseId: string, f: { seq: number; ts: number; payload: Uint8Array }) => void,
  ) {}

  async start(): Promise<void> {
    this.#flushTimer = setInterval(() => this.#flush(), 1000);
    this.#flushTimer.unref();
    for (const p of this.ctx.trades.purchases({ active: true })) await this.#resume(p);
  }

  async stop(): Promise<void> {
    if (this.#flushTimer) clearInterval(this.#flushTimer);
    for (const r of this.runs.values()) {
      r.stopping = true;
      this.#clearTimers(r);
    }
    // let stops under way post their ServiceStop and record it before the database closes
    if (this.#tasks.size)
      await Promise.race([
        Promise.allSettled([...this.#tasks]),
        new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref()),
      ]);
    this.#flush();
    for (const r of this.runs.values()) {
      r.cs?.close();
      // leave the purchase as it is in SQLite (and the seller's sale open): a restart resumes it
      this.#saveProgress(r, r.session);
      r.session?.abort('buyer node shutting down');
      await r.file?.close();
    }
    this.runs.clear();
  }

  async buy(listing: ListingRow, o: BuyOptions): Promise<PurchaseRow> {
    const minutes = o.minutes ?? 60;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 525_600)
      throw new MarketError('bad-input', 'minutes must be a whole number from 1 to 525600');
    const tier = listing.origin ? 'relay' : 'direct';
    const perMinute = tier === 'relay' ? (listing.priceRelay ?? listing.priceDirect) : listing.priceDirect;
    const perPeriod = pricePerPeriod(perMinute, listing.periodSec);
    const periods = Math.ceil((minutes * 60) / listing.periodSec);
    const maxLamports = o.maxLamports ?? perPeriod * BigInt(periods);
    if (maxLamports < perPeriod)
      throw new MarketError(
        'cap-too-low',
        `the spending cap ${maxLamports} is below one period (${perPeriod} lamports)`,
      );
    // never send anything we cannot finish: the request, the first payment and its fee
    const [balance, feeMsg, feePay] = await Promise.all([
      this.ctx.ledger.balance(),
      this.ctx.ledger.estimateFee(false),
      this.ctx.ledger.estimateFee(true),
    ]);
    // a System account must stay rent-exempt (or be emptied): keep that minimum too
    const need = feeMsg + feePay + perPeriod + RENT_EXEMPT_MIN;
    if (balance < need) {
      throw new MarketError(
        'insufficient-balance',
        `balance ${balance} lamports is below the ${need} lamports needed to start (first period ${perPeriod} + fees ${feeMsg + feePay} + rent-exempt minimum ${RENT_EXEMPT_MIN}); nothing was sent`,
      );
    }
    const id = `req-${randomBytes(9).toString('base64url')}`;
    const row = this.ctx.trades.insertPurchase({
      id,
      listingId: listing.id,
      seller: listing.seller,
      streamId: listing.streamId,
      tier,
      maxMinutes: minutes,
      maxLamports,
      sinks: { ...(o.out ? { file: o.out } : {}), serve: o.serve ?? true },
      expiresAt: Date.now() + this.ctx.timing.requestTimeoutMs,
    });
    this.ctx.emit('purchase', row);
    const run = this.#newRun(id);
    const seller = listing.seller as Address;
    try {
      run.cs = await this.ctx.net.prepareConnect({ peer: addressToPeerId(seller), role: 'initiator', requestId: id });
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
        requestId: id,
        streamId: listing.streamId,
        tier,
        maxMinutes: minutes,
        maxLamports,
        sealed,
      });
    } catch (e) {
      this.#finish(run, 'failed', `could not send the request: ${(e as Error).message}`);
      throw e;
    }
    run.expiryTimer = setTimeout(() => {
      const p = this.ctx.trades.purchase(id);
      if (p?.state === 'requested')
        this.#finish(run, 'failed', 'the seller did not answer: request expired, nothing paid');
    }, this.ctx.timing.requestTimeoutMs);
    run.expiryTimer.unref();
    return this.ctx.trades.purchase(id)!;
  }

  /**
   * Run work in the background: never an unhandled rejection (a failure is logged), and
   * shutdown waits for it (bounded).
   */
  #background(what: string, task: () => Promise<unknown>): void {
    const p: Promise<void> = (async () => {
      try {
        await task();
      } catch (e) {
        this.ctx.log.warn({ err: (e as Error).message }, `${what} failed`);
      }
    })().finally(() => this.#tasks.delete(p));
    this.#tasks.add(p);
  }

  /** Stop a purchase at once (the current period is not refunded). */
  async stopPurchase(id: string, reason = 'stopped by the buyer'): Promise<PurchaseRow> {
    const p = this.ctx.trades.purchase(id);
    if (!p) throw new MarketError('unknown-purchase', `no purchase ${id}`);
    if (isFinal(p.state)) return p;
    const run = this.runs.get(id) ?? this.#newRun(id);
    this.#finish(run, 'ended', reason);
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
    const listing = this.ctx.listings.get(p.listingId);
    const perMinute = listing
      ? p.tier === 'relay'
        ? (listing.priceRelay ?? listing.priceDirect)
        : listing.priceDirect
      : null;
    if (perMinute !== null && m.pricePerPeriod > pricePerPeriod(perMinute, m.periodSec)) {
      return this.#background('stopping the purchase', () =>
        this.stopPurchase(p.id, `price changed: ${m.pricePerPeriod} per period is above the listed price`),
      );
    }
    if (m.pricePerPeriod > p.maxLamports)
      return this.#background('stopping the purchase', () =>
        this.stopPurchase(p.id, 'one period costs more than the spending cap'),
      );
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
      const r = await run.cs.connect(info, { punchAt: m.punchAt, relays: m.relays, requestId: p.id });
      conn = r.connection;
      this.ctx.emit('connection', {
        requestId: p.id,
        peer: p.seller,
        path: r.path.kind,
        elapsedMs: r.elapsedMs,
        role: 'buyer',
      });
    } catch (e) {
      return void this.#finish(run, 'failed', `could not connect to the seller: ${(e as Error).message}; nothing paid`);
    }
    await this.#openStream(run, conn);
  }

  // ---- internals ----

  #newRun(id: string): Run {
    const r: Run = {
      id,
      cs: null,
      session: null,
      payTimer: null,
      endTimer: null,
      expiryTimer: null,
      file: null,
      lastFrameAt: Date.now(),
      dataAt: null,
      paying: false,
      stopping: false,
      reconnects: 0,
      frames: 0,
    };
    this.runs.set(id, r);
    return r;
  }

  /** The connection to open streams on: the one given, else the best open one (direct before relayed). */
  #pickConnection(seller: string, given?: Connection): Connection | PeerId {
    const peer = addressToPeerId(seller);
    if (given && given.status === 'open') return given;
    const open = this.ctx.net.libp2p.getConnections(peer).filter((c) => c.status === 'open');
    open.sort(
      (a, b) =>
        Number(a.limits !== undefined) - Number(b.limits !== undefined) ||
        Number(a.remoteAddr.toString().includes('webrtc')) - Number(b.remoteAddr.toString().includes('webrtc')),
    );
    return open[0] ?? peer;
  }

  async #openStream(run: Run, conn?: Connection): Promise<void> {
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state) || run.stopping) return;
    let session: StreamSession;
    try {
      session = await openStream(this.ctx.net.libp2p, this.#pickConnection(p.seller, conn), {
        requestId: p.id,
        streamId: p.streamId,
        lastSeq: p.lastSeq,
        openTimeoutMs: 5000,
      });
    } catch (e) {
      const err = (e instanceof Error ? e : new Error(String(e))) as Error & { code?: string };
      if (
        err.code === 'forged-ticket' ||
        err.code === 'ended' ||
        err.code === 'unknown-request' ||
        err.code === 'payment-overdue'
      ) {
        return void this.#finish(
          run,
          p.paidThrough >= 0 ? 'ended' : 'failed',
          `seller refused the stream: ${err.message}`,
        );
      }
      return void this.#retry(run, `stream open failed: ${err.message}`);
    }
    run.session = session;
    run.reconnects = 0;
    run.lastFrameAt = Date.now();
    this.#attachSinks(run, p);
    session.on('frame', (f) => {
      run.lastFrameAt = run.dataAt = Date.now();
      run.frames++;
      run.file?.write(f);
      this.endpoint?.publish(run.id, f);
      this.onFrame(run.id, f);
    });
    session.on('end', (e) => {
      run.session = null;
      this.#saveProgress(run, session);
      if (run.stopping) return;
      if (e.code === 'payment-overdue')
        return void this.#finish(run, 'ended', 'seller cut the stream: payment overdue');
      if (e.kind === 'end' || e.kind === 'error') {
        const cur = this.ctx.trades.purchase(run.id);
        if (cur && this.#paidUntil(cur) > Date.now() && e.recover !== 'abort')
          return void this.#retry(run, `seller closed: ${e.message}`);
        return void this.#finish(run, 'ended', `seller ended the stream: ${e.message}`);
      }
      this.#retry(run, `stream lost: ${e.message}`);
    });
    const cur = this.ctx.trades.purchase(run.id)!;
    if (cur.startedAt === null) this.ctx.trades.updatePurchase(run.id, { startedAt: Date.now() });
    if (cur.state !== 'streaming') this.#move(run.id, 'streaming', 'stream open');
    // the connection is up: pay the first period now, then schedule the next ones
    if (cur.paidThrough < 0) await this.#pay(run, 0);
    this.#schedule(run);
  }

  #attachSinks(run: Run, p: PurchaseRow): void {
    const meta = { purchaseId: p.id, listingId: p.listingId, seller: p.seller, streamId: p.streamId };
    if (p.sinks.file && !run.file) run.file = new FileSink(p.sinks.file, meta);
    if (p.sinks.serve !== false) this.endpoint?.add(meta);
  }

  #paidUntil(p: PurchaseRow): number {
    if (p.startedAt === null || p.periodMs === null) return 0;
    return p.startedAt + (p.paidThrough + 1) * p.periodMs;
  }

  #schedule(run: Run): void {
    if (run.payTimer) clearTimeout(run.payTimer);
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state) || p.startedAt === null || p.periodMs === null) return;
    const lead = Math.min(p.periodMs * 0.5, Math.max(300, p.periodMs * this.ctx.timing.payLeadFraction));
    const due = this.#paidUntil(p) - lead;
    run.payTimer = setTimeout(() => this.#background('payment', () => this.#due(run)), Math.max(0, due - Date.now()));
    run.payTimer.unref();
  }

  /** No frame for this long ends the purchase: scales with the period (2 periods, 2 s … dataStallMs). */
  #stallMs(p: PurchaseRow): number {
    return Math.min(this.ctx.timing.dataStallMs, Math.max(2000, 2 * (p.periodMs ?? 0)));
  }

  #later(run: Run, ms: number): void {
    run.payTimer = setTimeout(() => this.#background('payment', () => this.#due(run)), ms);
    run.payTimer.unref();
  }

  /**
   * Time to pay the next period — or to stop. Rule: period k+1 is paid only if a frame arrived
   * during period k (after the connection); otherwise the purchase ends when period k does, with
   * "no data from the seller". A stream that dropped moments ago is being re-opened: as long as
   * data came during this period, keep paying so it can resume.
   */
  async #due(run: Run): Promise<void> {
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state) || run.stopping || p.startedAt === null || p.periodMs === null) return;
    const next = p.paidThrough + 1;
    const price = p.pricePerPeriod ?? 0n;
    const paidUntil = this.#paidUntil(p);
    const now = Date.now();
    let stop: string | null = null;
    if (p.spent + price > p.maxLamports) stop = `spending cap reached (${p.spent} of ${p.maxLamports} lamports)`;
    else if (next * p.periodMs >= p.maxMinutes * 60_000) stop = `bought time used (${p.maxMinutes} min)`;
    if (!stop) {
      const periodStart = p.startedAt + p.paidThrough * p.periodMs;
      if (run.dataAt === null || run.dataAt < periodStart) {
        // nothing arrived during this period (yet): never pay the next one for nothing
        if (now < paidUntil) return this.#later(run, Math.min(250, paidUntil - now));
        const why = run.session ? 'no data from the seller' : 'no data from the seller (not connected)';
        await this.stopPurchase(run.id, `${why} during period ${p.paidThrough}`);
        return;
      }
      if (now - run.lastFrameAt > this.#stallMs(p))
        stop = run.session ? 'data stopped arriving' : 'no connection to the seller';
    }
    if (stop) {
      // let the paid time run out, then end
      const reason = stop;
      run.endTimer = setTimeout(
        () => this.#background('stopping the purchase', () => this.stopPurchase(run.id, reason)),
        Math.max(0, paidUntil - now),
      );
      run.endTimer.unref();
      return;
    }
    const ok = await this.#pay(run, next);
    if (ok) this.#schedule(run);
    // failed (e.g. balance): try again shortly; the seller cuts us after the grace if it never lands
    else this.#later(run, 1000);
  }

  async #pay(run: Run, period: number): Promise<boolean> {
    if (run.paying) return false;
    const p = this.ctx.trades.purchase(run.id);
    if (!p || p.pricePerPeriod === null) return false;
    if (p.paidThrough >= period) return true;
    if (p.spent + p.pricePerPeriod > p.maxLamports) return false;
    run.paying = true;
    try {
      const res = await this.ctx.postTo(
        p.seller as Address,
        { type: 'Payment', nonce: newNonce(), expiresAt: expiresIn(600), requestId: p.id, period },
        { transfer: { to: p.seller as Address, lamports: p.pricePerPeriod } },
      );
      this.ctx.trades.recordPayment({
        signature: res.signature,
        requestId: p.id,
        direction: 'out',
        payer: this.ctx.identity.address,
        recipient: p.seller,
        lamports: p.pricePerPeriod,
        period,
        state: 'confirmed',
        reason: null,
        slot: res.slot,
      });
      this.ctx.trades.updatePurchase(p.id, { paidThrough: period, spent: p.spent + p.pricePerPeriod });
      this.#move(p.id, 'streaming', `paid through period ${period}`);
      this.ctx.emit('payment', {
        direction: 'out',
        requestId: p.id,
        period,
        lamports: p.pricePerPeriod,
        signature: res.signature,
        state: 'confirmed',
      });
      return true;
    } catch (e) {
      const msg = (e as Error).message;
      this.ctx.log.warn({ id: p.id, period, err: msg }, 'payment failed');
      this.ctx.emit('payment', {
        direction: 'out',
        requestId: p.id,
        period,
        lamports: p.pricePerPeriod,
        signature: '',
        state: 'failed',
        reason: msg,
      });
      return false;
    } finally {
      run.paying = false;
    }
  }

  #retry(run: Run, why: string): void {
    if (run.stopping) return;
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state)) return;
    if (Date.now() > this.#paidUntil(p) + (p.graceMs ?? 0) && p.paidThrough >= 0) {
      return void this.#finish(run, 'ended', `${why}; paid time over`);
    }
    run.reconnects++;
    if (run.reconnects > 30) return void this.#finish(run, 'failed', `${why}; gave up after 30 reconnects`);
    this.ctx.log.info({ id: run.id, why, attempt: run.reconnects }, 'reconnecting to the seller');
    if (p.state === 'streaming') this.#move(run.id, 'connecting', why);
    const delay = Math.min(5000, 200 * 2 ** Math.min(run.reconnects, 5));
    const t = setTimeout(() => this.#background('reconnect', () => this.#reconnect(run)), delay);
    t.unref();
  }

  async #reconnect(run: Run): Promise<void> {
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state) || run.stopping) return;
    const peer = addressToPeerId(p.seller);
    if (this.ctx.net.libp2p.getConnections(peer).length === 0) {
      const info = p.peerInfo as ConnectInfo | null;
      const addrs = [...(info?.addrs ?? []), ...(info?.relays ?? [])]
        .map((a) => {
          try {
            return multiaddr(a.includes('/p2p/') && !a.endsWith('/p2p-circuit') ? a : `${a}/p2p/${peer.toString()}`);
          } catch {
            return null;
          }
        })
        .filter((a) => a !== null);
      try {
        await this.ctx.net.libp2p.dial(addrs.length ? addrs : peer, { signal: AbortSignal.timeout(5000) });
      } catch (e) {
        return void this.#retry(run, `redial failed: ${(e as Error).message}`);
      }
    }
    await this.#openStream(run);
  }

  async #resume(p: PurchaseRow): Promise<void> {
    const run = this.#newRun(p.id);
    if (p.state === 'requested') {
      // we lost the prepared connect session: cannot use an accept any more
      return void this.#finish(run, 'failed', 'interrupted by a restart before the seller answered; nothing paid');
    }
    if (p.startedAt === null || p.paidThrough < 0)
      return void this.#finish(run, 'failed', 'interrupted by a restart before streaming; nothing paid');
    if (Date.now() > this.#paidUntil(p) + (p.graceMs ?? 0))
      return void this.#finish(run, 'ended', `paid time ran out while offline (through period ${p.paidThrough})`);
    this.ctx.log.info({ id: p.id, paidThrough: p.paidThrough, lastSeq: p.lastSeq }, 'resuming purchase after restart');
    run.lastFrameAt = Date.now();
    await this.#reconnect(run);
  }

  #saveProgress(run: Run, s: StreamSession | null): void {
    const p = this.ctx.trades.purchase(run.id);
    if (!p) return;
    const lastSeq = s ? Math.max(p.lastSeq, s.lastSeq) : p.lastSeq;
    this.ctx.trades.updatePurchase(run.id, {
      lastSeq,
      frames: p.frames + run.frames,
      dropped: s ? Math.max(p.dropped, s.droppedBySeller + s.gaps) : p.dropped,
    });
    run.frames = 0;
  }

  #flush(): void {
    for (const r of this.runs.values()) if (r.session) this.#saveProgress(r, r.session);
  }

  #clearTimers(r: Run): void {
    for (const t of [r.payTimer, r.endTimer, r.expiryTimer]) if (t) clearTimeout(t);
    r.payTimer = r.endTimer = r.expiryTimer = null;
  }

  #finish(run: Run, to: 'ended' | 'failed' | 'rejected', reason: string): void {
    run.stopping = true;
    this.#clearTimers(run);
    run.cs?.close();
    const s = run.session;
    this.#saveProgress(run, s);
    if (s) this.#background('closing the stream', () => s.close(reason));
    run.session = null;
    const file = run.file;
    if (file) this.#background('closing the output file', () => file.close());
    this.endpoint?.remove(run.id);
    this.runs.delete(run.id);
    const p = this.ctx.trades.purchase(run.id);
    if (p && !isFinal(p.state)) this.#move(run.id, to, reason);
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
