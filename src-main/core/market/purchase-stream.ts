// Runs in: Node. The data side of a purchase on the buyer: open the /axon/stream/1.0.0 stream on
// the seller connection (resuming from the last seq), feed its frames to the sinks, save progress
// to SQLite, and when the stream drops re-dial and re-open it with backoff while time is paid for.
// Once the stream is up the first period is paid and the payment schedule starts (no money before).
import type { Connection } from '@libp2p/interface';
import type { Address } from '@solana/kit';
import { addressToPeerId } from '../identity/identity';
import type { ConnectInfo } from '../net/connect-info';
import type { ConnectOptions, ConnectResult, ConnectSession, PathChange } from '../net/types';
import { betterPath } from '../net/status';
import { isFinal, type PurchaseRow } from '../store/trades';
import { openStream, type StreamSession } from './stream-client';
import { FileSink } from './sinks/file';
import { MAX_UPLINK_BYTES, type ChainFields, type Framing } from './frames';
import { RawOutputs, parseRawSinks } from './sinks/raw';
import type { LocalEndpoint } from './sinks/local-endpoint';
import type { MarketContext } from './context';
import type { BackgroundTasks } from './background-tasks';
import type { PaymentScheduler } from './payment-scheduler';
import { paidUntil, type PurchaseControl, type Run } from './purchase-run';
import { ChainVerifier } from './frame-chain';

/** A rebroadcast purchase whose stream dropped fails over at once (a rebroadcaster that went away
 *  rarely comes back within the 10 s its buyers may wait; docs/mesh.md "Faults"). */
const FAILOVER_AFTER_RECONNECTS = 0;

/** Where the frames of a purchase go besides its own sinks (rebroadcast hubs, UI events). */
export type FrameListener = (
  purchaseId: string,
  f: { seq: number; ts: number; payload: Uint8Array; chain?: ChainFields },
  /** The stream's framing (a rebroadcast passes it on: docs/streams.md). */
  framing: Framing | undefined,
  o: {
    /** Frames were lost before this one (or it is the first this run hands on): a rebroadcast's
     *  chain of origin frames breaks here (hub.ts chainGap). */
    gap: boolean;
    /** Sent from the seller's replay buffer, not live (welcome.liveSeq): its latency says nothing. */
    replayed: boolean;
  },
) => void;

/**
 * Run the connect ladder to the seller of purchase `p` (further punch rounds over the ledger when
 * the first fails) and report the path taken with a 'connection' event.
 */
export async function connectToSeller(
  ctx: MarketContext,
  p: PurchaseRow,
  cs: ConnectSession,
  remote: ConnectInfo,
  opts: Omit<ConnectOptions, 'peer' | 'role' | 'requestId' | 'signaling'> = {},
): Promise<ConnectResult> {
  // relays charging more than the user accepts (roles.maxRelayPrice) are not used
  const pricing = ctx.relayPricing;
  const affordable = (addrs: string[]): string[] =>
    pricing ? addrs.filter((a) => pricing.allowed(/\/p2p\/([^/]+)(\/p2p-circuit)?\/?$/.exec(a)?.[1] ?? '')) : addrs;
  const r = await cs.connect(
    { ...remote, relays: affordable(remote.relays) },
    {
      ...opts,
      ...(opts.relays ? { relays: affordable(opts.relays) } : {}),
      requestId: p.id,
      signaling: ctx.signals.channel(p.id, p.seller as Address),
    },
  );
  ctx.emit('connection', {
    requestId: p.id,
    peer: p.seller,
    path: r.path.kind,
    elapsedMs: r.elapsedMs,
    role: 'buyer',
  });
  return r;
}

/** Write a run's frame count and last seq (and drops) to its purchase row. */
export function saveProgress(ctx: MarketContext, run: Run, s: StreamSession | null): void {
  const p = ctx.trades.purchase(run.id);
  if (!p) return;
  const lastSeq = s ? Math.max(p.lastSeq, s.lastSeq) : p.lastSeq;
  // the raw file's bytes written first, then where it stands: a resume cuts it back to here
  const cp = run.outputs?.fileCheckpoint() ?? null;
  ctx.trades.updatePurchase(run.id, {
    lastSeq,
    frames: p.frames + run.frames,
    dropped: s ? Math.max(p.dropped, s.droppedBySeller + s.gaps) : p.dropped,
    ...(cp && cp.seq >= 0 ? { rawFileSeq: cp.seq, rawFileOffset: cp.offset } : {}),
  });
  run.frames = 0;
}

/** Send bytes up a stream in messages of at most MAX_UPLINK_BYTES (false: not all were sent). */
export function sendUplink(s: StreamSession, bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i += MAX_UPLINK_BYTES)
    if (!s.sendUplink(bytes.subarray(i, i + MAX_UPLINK_BYTES))) return false;
  return true;
}

/** A rebroadcast stalls after this many usual gaps between frames without one… */
const STALL_GAPS = 8;
/** …and never in less than this (ms): a 10 Hz stream fails over 3 s after its last frame. */
const STALL_MIN_MS = 3000;
/** The stall watchdog looks this often (ms). */
const STALL_TICK_MS = 500;

function noteGap(run: Run, ms: number): void {
  const g = (run.gaps ??= []);
  g.push(ms);
  if (g.length > 32) g.shift();
}

/** The mean gap between the last frames (ms; null: fewer than 8 measured). The mean, not the
 *  median: frames that come in bursts have a median gap of 0. */
function usualGap(run: Run): number | null {
  const g = run.gaps;
  if (!g || g.length < 8) return null;
  return Math.round(g.reduce((a, b) => a + b, 0) / g.length);
}

/** How long a rebroadcast purchase may go without a frame before it counts as stalled (ms). */
export function stallLimit(run: Run, dataStallMs: number): number {
  const gap = usualGap(run);
  return gap === null ? dataStallMs : Math.min(dataStallMs, Math.max(STALL_MIN_MS, STALL_GAPS * gap));
}

export class PurchaseStreams {
  constructor(
    private readonly ctx: MarketContext,
    private readonly endpoint: LocalEndpoint | null,
    private readonly onFrame: FrameListener,
    private readonly tasks: BackgroundTasks,
    private readonly payments: PaymentScheduler,
    private readonly control: PurchaseControl,
  ) {}

  /** The connection to open streams on: the one given if still open, else net's choice (the
   *  best open path). Undefined when not connected: the redial goes through the ladder. */
  #pickConnection(seller: string, given?: Connection): Connection | undefined {
    if (given && given.status === 'open') return given;
    return this.ctx.net.bestConnection(addressToPeerId(seller));
  }

  /**
   * A better path to a seller came up while purchases from it stream over a worse connection (a
   * direct TCP connection that landed after a hole-punched data channel won the ladder — the data
   * channel costs far more CPU per frame — or a relayed pair that upgraded): each such stream moves
   * to it, reopened there after its last seq (a resume: nothing lost, nothing paid twice; the
   * session's end sees `moving` and reopens at once).
   */
  moveToBetterPath(change: PathChange, runs: Iterable<Run>): void {
    const { peer, from, to } = change;
    if (!to || !from || !betterPath(to, from)) return;
    const best = this.ctx.net.bestConnection(peer);
    if (!best) return;
    for (const run of runs) {
      const s = run.session;
      const conn = run.conn;
      if (!s || !conn || run.stopping || run.moving || conn.id === best.id) continue;
      if (conn.remotePeer.toString() !== peer) continue;
      run.moving = true;
      this.ctx.log.info(
        { id: run.id, from: `${from.kind} ${from.transport}`, to: `${to.kind} ${to.transport}` },
        'a better path to the seller: moving the stream to it',
      );
      s.abort('moving to a better path');
    }
  }

  /** Open the purchase's stream (on `conn` if given and open), then pay / schedule payments. */
  async open(run: Run, conn?: Connection): Promise<void> {
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state) || run.stopping) return;
    let session: StreamSession;
    // the sinks first: an existing output file says which frames the buyer already has
    this.#attachSinks(run, p);
    if (p.sinks.raw && !run.outputs) {
      // what the buyer's tools send back on the raw TCP port / UDP socket goes up the stream
      const outputs = new RawOutputs(parseRawSinks(p.sinks.raw), (b) => {
        if (run.session) sendUplink(run.session, b);
      });
      try {
        await outputs.start({
          purchaseId: p.id,
          onError: (e) => this.ctx.log.warn({ id: p.id, err: e.message }, 'raw output failed'),
          fileCheckpoint:
            p.rawFileSeq !== null && p.rawFileOffset !== null ? { seq: p.rawFileSeq, offset: p.rawFileOffset } : null,
          liveFrom: p.lastSeq,
        });
        const fix = outputs.fileRepair;
        if (fix.cut)
          this.ctx.log.info(
            { id: p.id, bytes: fix.cut, seq: p.rawFileSeq },
            'raw file: cut back to its checkpoint (frames written after it come again, once)',
          );
        if (fix.missing)
          this.ctx.log.warn(
            { id: p.id, bytes: fix.missing },
            'raw file: shorter than its checkpoint (the system lost writes): these bytes are missing',
          );
      } catch (e) {
        await outputs.close();
        const paid = p.paidThrough >= 0;
        return void this.control.finish(
          run,
          paid ? 'ended' : 'failed',
          `${(e as Error).message}${paid ? '' : '; nothing paid'}`,
        );
      }
      if (run.stopping) return void (await outputs.close());
      run.outputs = outputs;
      if (outputs.stats.tcpPort !== null)
        this.ctx.log.info({ id: p.id, port: outputs.stats.tcpPort }, 'serving the raw bytes on TCP');
    }
    // the frames every sink already has; a raw file checkpointed earlier resumes from its own
    // checkpoint (the frames between come again: the raw file takes them, the others skip them)
    const have = Math.max(p.lastSeq, run.file?.lastSeq ?? -1);
    const rawSeq = run.outputs?.fileCheckpoint()?.seq;
    const lastSeq = rawSeq !== undefined && rawSeq >= 0 ? Math.min(have, rawSeq) : have;
    const connection = this.#pickConnection(p.seller, conn);
    if (!connection) return void this.#retry(run, 'not connected to the seller');
    try {
      session = await openStream(this.ctx.net.libp2p, connection, {
        requestId: p.id,
        streamId: p.streamId,
        lastSeq,
        openTimeoutMs: 5000,
        // a failover's first stream: what the lost source was paid for is not paid again
        ...(p.startedAt === null && run.creditUntil !== undefined ? { creditUntil: run.creditUntil } : {}),
      });
    } catch (e) {
      const err = (e instanceof Error ? e : new Error(String(e))) as Error & { code?: string };
      if (
        err.code === 'forged-ticket' ||
        err.code === 'ended' ||
        err.code === 'unknown-request' ||
        err.code === 'payment-overdue'
      ) {
        return void this.control.finish(
          run,
          p.paidThrough >= 0 ? 'ended' : 'failed',
          `seller refused the stream: ${err.message}`,
        );
      }
      return void this.#retry(run, `stream open failed: ${err.message}`);
    }
    run.session = session;
    run.conn = connection;
    const framing = session.welcome.framing ?? 'lines';
    run.reconnects = 0;
    run.lastFrameAt = Date.now();
    // a rebroadcast: its frames must carry its origin's hash chain, checked from the session's
    // first frame (a checkpoint) on (mesh.ts ChainVerifier). A frame goes to the sinks at once;
    // a break shows at the next checkpoint (≤ 10 frames or ~1 s later): nothing more from this
    // stream reaches a sink, and the purchase moves to another source
    const listing = this.ctx.listings.get(p.listingId);
    const chain = listing?.origin ? new ChainVerifier(listing.origin) : null;
    const liveSeq = session.welcome.liveSeq ?? 0;
    session.on('frame', (f) => {
      const problem = chain?.check(f);
      if (problem) {
        if (run.stopping) return;
        run.stopping = true; // nothing more from this stream reaches a sink
        const why =
          problem === 'broken'
            ? `frame #${f.seq} from the rebroadcaster does not match the origin's signature: altered, dropped or reordered`
            : `frame #${f.seq} from the rebroadcaster carries no origin signature`;
        this.ctx.log.warn({ id: run.id, seller: p.seller, seq: f.seq }, why);
        return void this.control.failover(run, why);
      }
      const at = Date.now();
      run.lastFrameAt = at;
      // a chained stream's session starts at a checkpoint: up to 9 frames this run had before may come again
      if (run.seenSeq !== undefined && f.seq <= run.seenSeq) return;
      run.seenSeq = f.seq;
      if (chain && run.dataAt !== null) noteGap(run, at - run.dataAt);
      run.dataAt = at;
      run.outputs?.write(f, framing);
      if (f.seq <= have) return; // fetched again for the raw file only
      run.frames++;
      run.file?.write(f);
      this.endpoint?.publish(run.id, f);
      const gap = run.handedSeq === undefined || f.seq !== run.handedSeq + 1;
      run.handedSeq = f.seq;
      this.onFrame(run.id, f, framing, { gap, replayed: f.seq < liveSeq });
    });
    session.on('settled', (st) =>
      this.tasks.run('booking a settlement', async () =>
        this.payments.vouchers.onSettled(run.id, st, await this.payments.fee(run)),
      ),
    );
    session.on('uplink-notice', (n) => {
      this.ctx.log.warn(
        { id: run.id, code: n.code, refused: n.refused, msg: n.message },
        'seller refused uplink messages',
      );
      this.ctx.emit('uplink', { purchaseId: run.id, code: n.code, refused: n.refused, message: n.message });
    });
    session.on('end', (e) => {
      run.session = null;
      run.conn = null;
      saveProgress(this.ctx, run, session);
      if (run.stopping) return;
      // moved to a better path (BuyerSide.#onPath): reopened there at once, resuming after the last seq
      if (run.moving) {
        run.moving = false;
        return void this.tasks.run('moving the stream to a better path', () => this.open(run));
      }
      if (e.code === 'payment-overdue')
        return void this.control.finish(run, 'ended', 'seller cut the stream: payment overdue');
      if (e.kind === 'end' || e.kind === 'error') {
        const cur = this.ctx.trades.purchase(run.id);
        if (cur && paidUntil(cur) > Date.now() && e.recover !== 'abort')
          return void this.#retry(run, `seller closed: ${e.message}`);
        return void this.control.finish(run, 'ended', `seller ended the stream: ${e.message}`);
      }
      this.#retry(run, `stream lost: ${e.message}`);
    });
    if (chain) this.#watchStall(run, p);
    const cur = this.ctx.trades.purchase(run.id)!;
    let startedAt = cur.startedAt;
    let opened = 'stream open';
    if (startedAt === null) {
      // a failover whose seller granted the credit: period 0 starts when the lost source's paid time ends
      const starts = session.welcome.startsAt;
      startedAt = starts !== undefined && starts > Date.now() ? starts : Date.now();
      if (startedAt > Date.now())
        opened = `stream open; period 0 starts at ${new Date(startedAt).toISOString()}, when what the lost source was paid for runs out (failover credit: nothing paid twice)`;
      else if (run.creditUntil !== undefined && run.creditUntil > Date.now())
        opened = `stream open; the seller granted no failover credit: period 0 is paid now`;
      this.ctx.trades.updatePurchase(run.id, { startedAt });
    }
    if (cur.state !== 'streaming') this.control.move(run.id, 'streaming', opened);
    // the connection is up: pay the first period now (a failover credit: when it starts), then schedule the next ones
    if (cur.paidThrough < 0 && startedAt <= Date.now()) await this.payments.pay(run, 0);
    this.payments.schedule(run);
  }

  /**
   * A rebroadcast purchase whose rebroadcaster stays connected but stops forwarding: no frame for
   * STALL_GAPS × the stream's usual gap between frames (at least STALL_MIN_MS, at most the data
   * stall limit) → fail over like a lost one (docs/mesh.md "Faults"). Checked twice a second; a
   * tick that comes late (this process was busy) does not judge.
   */
  #watchStall(run: Run, p: PurchaseRow): void {
    if (run.stallTimer) clearInterval(run.stallTimer);
    let lastTick = Date.now();
    const tick = (): void => {
      if (run.stopping || !run.session) return;
      // a late tick means this process was busy (a loaded machine): frames may be waiting unread
      // behind the timer — not the rebroadcaster's fault; look again at the next tick
      const now = Date.now();
      const late = now - lastTick > 3 * STALL_TICK_MS;
      lastTick = now;
      if (late) return;
      const limit = stallLimit(run, this.ctx.timing.dataStallMs);
      const quiet = Date.now() - run.lastFrameAt;
      if (quiet <= limit) return;
      run.stopping = true; // nothing more from this stream reaches a sink
      if (run.stallTimer) clearInterval(run.stallTimer);
      const why = `no frame from the rebroadcaster for ${(quiet / 1000).toFixed(1)} s while connected (stalled; its frames came about every ${usualGap(run) ?? '?'} ms)`;
      this.ctx.log.warn({ id: run.id, seller: p.seller, quietMs: quiet, limit }, 'rebroadcaster stalled');
      this.control.failover(run, why);
    };
    run.stallTimer = setInterval(tick, STALL_TICK_MS);
    run.stallTimer.unref();
  }

  #attachSinks(run: Run, p: PurchaseRow): void {
    const meta = { purchaseId: p.id, listingId: p.listingId, seller: p.seller, streamId: p.streamId };
    if (p.sinks.file && !run.file) {
      run.file = new FileSink(p.sinks.file, meta);
      if (run.file.repairedBytes)
        this.ctx.log.warn(
          { id: p.id, file: p.sinks.file, bytes: run.file.repairedBytes },
          'output file ended in a torn line (crash?): cut it off; the frame is fetched again',
        );
    }
    if (p.sinks.serve !== false) this.endpoint?.add(meta);
  }

  #retry(run: Run, why: string): void {
    if (run.stopping) return;
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state)) return;
    if (Date.now() > paidUntil(p) + (p.graceMs ?? 0) && p.paidThrough >= 0) {
      return void this.control.finish(run, 'ended', `${why}; paid time over`);
    }
    run.reconnects++;
    // a rebroadcaster that went away: its buyers move to another rebroadcaster or the origin
    // rather than wait for it (docs/mesh.md "Faults")
    if (
      run.reconnects > FAILOVER_AFTER_RECONNECTS &&
      p.startedAt !== null &&
      this.ctx.listings.get(p.listingId)?.origin
    )
      return void this.control.failover(run, `the rebroadcaster is gone (${why})`);
    if (run.reconnects > 30) return void this.control.finish(run, 'failed', `${why}; gave up after 30 reconnects`);
    this.ctx.log.info({ id: run.id, why, attempt: run.reconnects }, 'reconnecting to the seller');
    if (p.state === 'streaming') this.control.move(run.id, 'connecting', why);
    const delay = Math.min(5000, 200 * 2 ** Math.min(run.reconnects, 5));
    const t = setTimeout(() => this.tasks.run('reconnect', () => this.reconnect(run)), delay);
    t.unref();
  }

  /**
   * Re-dial the seller if no connection is left — through the connect ladder like the first
   * connect (direct, relays; a punch as a further round over the ledger with PunchSync), each
   * attempt in the connection history — then re-open the stream.
   */
  async reconnect(run: Run): Promise<void> {
    const p = this.ctx.trades.purchase(run.id);
    if (!p || isFinal(p.state) || run.stopping) return;
    const peer = addressToPeerId(p.seller);
    if (!this.ctx.net.bestConnection(peer)) {
      const saved = p.peerInfo as ConnectInfo | null;
      // the saved ICE parameters were for one round only: the punch gets fresh ones over the ledger
      const remote: ConnectInfo = {
        v: 1,
        addrs: saved?.addrs ?? [],
        relays: saved?.relays ?? [],
        ...(saved?.nat ? { nat: saved.nat } : {}),
      };
      try {
        const cs = await this.ctx.net.prepareConnect({
          peer,
          role: 'initiator',
          requestId: p.id,
          ice: false,
          relayAllowed: (relay) => this.ctx.relayPricing?.allowed(relay) ?? true,
        });
        run.cs?.close();
        run.cs = cs;
        if (run.stopping) return void cs.close();
        await connectToSeller(this.ctx, p, cs, remote);
      } catch (e) {
        return void this.#retry(run, `redial failed: ${(e as Error).message}`);
      }
    }
    await this.open(run);
  }
}
