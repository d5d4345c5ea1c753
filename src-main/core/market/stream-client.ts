// Runs in: Node. Buyer side of /axon/stream/1.0.0: open a stream to the seller, present the
// ticket (resuming after the last seq received), read DATA frames in order, answer and send
// keep-alives, and report how the session ended (the seller's reason, or junk → PeerError).
import { EventEmitter } from 'node:events';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import {
  FrameDecoder,
  FrameError,
  KIND_CONTROL,
  KIND_DATA,
  KIND_PING,
  KIND_PONG,
  STREAM_PROTOCOL,
  encodeControl,
  encodePing,
  encodeUplink,
  type ChainFields,
  type UplinkNotice,
  type Settled,
  type VoucherAck,
  type VoucherControl,
  type Welcome,
} from './frames';
import { refuse, trySend, type StreamHost } from './stream-server';

export interface ReceivedFrame {
  seq: number;
  ts: number;
  payload: Uint8Array;
  /** The origin's hash-chain fields (a stream that may be rebroadcast: docs/mesh.md "Tampering"). */
  chain?: ChainFields;
}

export interface SessionEnd {
  /** 'end' = the seller closed normally; 'error' = seller sent an error; 'peer-error' = junk
   *  from the seller; 'closed' = the stream went away without a word; 'local' = we closed. */
  kind: 'end' | 'error' | 'peer-error' | 'closed' | 'local';
  code: string;
  recover?: string;
  message: string;
}

export interface StreamSessionEvents {
  frame: [ReceivedFrame];
  stats: [{ dropped: number; paidUntil: number }];
  end: [SessionEnd];
  /** The seller's answer to a payment voucher, and its settlements (market/voucher.ts). */
  'voucher-ack': [VoucherAck];
  settled: [Settled];
  /** The seller refused uplink messages (not allowed, over the rate, device away). */
  'uplink-notice': [UplinkNotice];
}

export interface OpenStreamOptions {
  requestId: string;
  streamId: string;
  lastSeq?: number;
  /** A failover's first stream: the buyer paid another source of the origin until then (frames.ts Ticket). */
  creditUntil?: number;
  signal?: AbortSignal;
  /** Give up if no welcome arrives within this time. */
  welcomeTimeoutMs?: number;
  /** Give up opening the stream (protocol negotiation) after this time. Default 8 s. */
  openTimeoutMs?: number;
}

function isConnection(x: unknown): x is Connection {
  return typeof x === 'object' && x !== null && typeof (x as Connection).newStream === 'function' && 'remotePeer' in x;
}

export class StreamRefusedError extends Error {
  override name = 'StreamRefusedError';
  constructor(
    readonly code: string,
    readonly recover: string,
    message: string,
  ) {
    super(message);
  }
}

export class StreamSession extends EventEmitter<StreamSessionEvents> {
  framesIn = 0;
  bytesIn = 0;
  /** Frames the seller reported dropped for us (slow reader). */
  droppedBySeller = 0;
  /** Gaps seen in seq numbers (includes frames missed across a resume). */
  gaps = 0;
  lastSeq: number;
  rttMs: number | null = null;
  paidUntil: number;
  ended: SessionEnd | null = null;
  #lastIn = Date.now();
  #timer: NodeJS.Timeout;
  #pending: ReceivedFrame[] = [];

  constructor(
    readonly stream: Stream,
    readonly welcome: Welcome,
    readonly remote: string,
  ) {
    super();
    this.lastSeq = welcome.nextSeq - 1;
    this.gaps = welcome.missed;
    this.paidUntil = welcome.paidUntil;
    (this as EventEmitter).on('newListener', (ev: string | symbol) => {
      if (ev !== 'frame' || this.#pending.length === 0) return;
      queueMicrotask(() => this.#flush());
    });
    const ka = welcome.keepAliveMs;
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastIn > ka * 4) {
        this.#finish({
          kind: 'closed',
          code: 'seller-silent',
          recover: 'reconnect',
          message: `nothing from the seller for ${ka * 4} ms`,
        });
        stream.abort(new Error('seller silent'));
        return;
      }
      trySend(stream, encodePing(KIND_PING, Date.now()));
    }, ka);
    this.#timer.unref();
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const held = this.#pending;
    this.#pending = [];
    for (const f of held) this.emit('frame', f);
  }

  /** Hand over a frame that arrived with the welcome (same chunk). */
  _touch(): void {
    this.#lastIn = Date.now();
  }

  _frame(f: ReceivedFrame): void {
    this.#lastIn = Date.now();
    if (f.seq <= this.lastSeq) return; // duplicate after resume
    if (f.seq > this.lastSeq + 1 && this.lastSeq >= 0) this.gaps += f.seq - this.lastSeq - 1;
    this.lastSeq = f.seq;
    this.framesIn++;
    this.bytesIn += f.payload.length;
    // frames that arrive with the welcome (before anyone listens) are held, not lost
    if (this.listenerCount('frame') === 0) {
      if (this.#pending.length < 10_000) this.#pending.push(f);
      return;
    }
    this.#flush();
    this.emit('frame', f);
  }

  _finish(e: SessionEnd): void {
    this.#finish(e);
  }

  #finish(e: SessionEnd): void {
    if (this.ended) return;
    this.ended = e;
    clearInterval(this.#timer);
    this.emit('end', e);
  }

  /** Drop the stream without a word (as a crash would): the seller keeps the sale for a resume. */
  abort(reason = 'buyer going away'): void {
    if (this.ended) return;
    this.#finish({ kind: 'local', code: 'aborted', message: reason });
    this.stream.abort(new Error(reason));
  }

  /** Uplink messages sent to the seller (each ≤ MAX_UPLINK_BYTES). */
  uplinkSent = 0;

  /** Send bytes up the stream to the seller's source (false: the stream is gone or full). */
  sendUplink(payload: Uint8Array): boolean {
    if (this.ended) return false;
    if (this.stream.writableNeedsDrain) return false;
    const ok = trySend(this.stream, encodeUplink(payload));
    if (ok) this.uplinkSent++;
    return ok;
  }

  /** Hand the seller a payment voucher (false: the stream is gone or its buffer is full). */
  sendVoucher(v: VoucherControl): boolean {
    if (this.ended) return false;
    return trySend(this.stream, encodeControl(v));
  }

  /** Stop reading: tell the seller, close our side. */
  async close(reason = 'buyer stopped'): Promise<void> {
    if (this.ended) return;
    trySend(this.stream, encodeControl({ t: 'end', reason }));
    this.#finish({ kind: 'local', code: 'stopped', message: reason });
    const t = setTimeout(() => this.stream.abort(new Error(reason)), 1000);
    t.unref();
    await this.stream.close().catch(() => this.stream.abort(new Error(reason)));
    clearTimeout(t);
  }
}

/**
 * Open a stream session. Resolves once the seller's welcome arrived; rejects with
 * StreamRefusedError if the seller refused the ticket.
 */
export async function openStream(
  host: StreamHost,
  peer: PeerId | Multiaddr | Multiaddr[] | Connection,
  opts: OpenStreamOptions,
): Promise<StreamSession> {
  const signal = AbortSignal.any([
    opts.signal ?? new AbortController().signal,
    AbortSignal.timeout(opts.openTimeoutMs ?? 8000),
  ]);
  const stream = isConnection(peer)
    ? await peer.newStream(STREAM_PROTOCOL, { signal, runOnLimitedConnection: true })
    : await host.dialProtocol(peer, STREAM_PROTOCOL, { signal, runOnLimitedConnection: true });
  const remote = isConnection(peer)
    ? peer.remotePeer.toString()
    : 'toString' in peer && !Array.isArray(peer)
      ? peer.toString()
      : String(peer);
  stream.send(
    encodeControl({
      t: 'ticket',
      v: 1,
      requestId: opts.requestId,
      streamId: opts.streamId,
      lastSeq: opts.lastSeq ?? -1,
      ...(opts.creditUntil !== undefined ? { creditUntil: Math.floor(opts.creditUntil) } : {}),
    }),
  );
  return new Promise<StreamSession>((resolve, reject) => {
    let session: StreamSession | null = null;
    const welcomeTimer = setTimeout(() => {
      if (session) return;
      stream.abort(new Error('no welcome'));
      reject(new StreamRefusedError('timeout', 'retry', 'the seller did not answer the ticket in time'));
    }, opts.welcomeTimeoutMs ?? 10_000);
    welcomeTimer.unref();
    const decoder = new FrameDecoder();
    void (async () => {
      try {
        for await (const chunk of stream) {
          for (const f of decoder.push(chunk)) {
            if (!session) {
              if (f.kind !== KIND_CONTROL) throw new FrameError('protocol', 'expected welcome or error first');
              if (f.control.t === 'error') {
                clearTimeout(welcomeTimer);
                reject(new StreamRefusedError(f.control.code, f.control.recover, f.control.message));
                void stream.close().catch(() => undefined);
                return;
              }
              if (f.control.t !== 'welcome' || f.control.requestId !== opts.requestId) {
                throw new FrameError('protocol', 'expected a welcome for our request');
              }
              clearTimeout(welcomeTimer);
              session = new StreamSession(stream, f.control, remote);
              resolve(session);
              continue;
            }
            if (f.kind === KIND_DATA) session._frame(f);
            else if (f.kind === KIND_PING) {
              session._touch();
              trySend(stream, encodePing(KIND_PONG, f.ts));
            } else if (f.kind === KIND_PONG) {
              session._touch();
              session.rttMs = Math.max(0, Date.now() - f.ts);
            } else if (f.kind === KIND_CONTROL) {
              session._touch();
              const c = f.control;
              if (c.t === 'stats') {
                session.droppedBySeller = c.dropped;
                session.paidUntil = c.paidUntil;
                session.emit('stats', { dropped: c.dropped, paidUntil: c.paidUntil });
              } else if (c.t === 'voucher-ack') {
                session.emit('voucher-ack', c);
              } else if (c.t === 'uplink') {
                session.emit('uplink-notice', c);
              } else if (c.t === 'settled') {
                session.emit('settled', c);
              } else if (c.t === 'end') {
                session._finish({ kind: 'end', code: 'end', message: c.reason });
              } else if (c.t === 'error') {
                session._finish({ kind: 'error', code: c.code, recover: c.recover, message: c.message });
              } else throw new FrameError('protocol', `unexpected control '${c.t}' from the seller`);
            }
          }
        }
        session?._finish({
          kind: 'closed',
          code: 'closed',
          recover: 'reconnect',
          message: 'the seller closed the stream',
        });
        void stream.close().catch(() => undefined);
      } catch (e) {
        const err = e as Error;
        if (err instanceof FrameError) {
          const pe = { code: `peer-error:${err.code}`, recover: 'abort' as const, message: err.message };
          refuse(stream, pe);
          if (session) session._finish({ kind: 'peer-error', ...pe });
          else {
            clearTimeout(welcomeTimer);
            reject(new StreamRefusedError(pe.code, pe.recover, pe.message));
          }
        } else if (session) {
          session._finish({ kind: 'closed', code: 'reset', recover: 'reconnect', message: err.message });
        } else {
          clearTimeout(welcomeTimer);
          reject(err);
        }
      }
    })();
  });
}
