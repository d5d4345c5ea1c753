// Runs in: Node. Seller side of /axon/stream/1.0.0.
//
// A buyer opens a stream and sends a ticket naming its request. `authorize` (the sale state
// machine) checks that the request was made by this very PeerId (PeerId ↔ Solana address) and
// that it is paid for or within its grace; then DATA frames flow from the stream's hub through
// this buyer's bounded queue. One server-wide timer sends keep-alives, reports drops, and closes
// a session at its deadline (paid-until + grace) or when the buyer falls silent. Junk from a
// peer closes that stream and its connection with a PeerError-like control frame; the node
// itself carries on.
import { EventEmitter } from 'node:events';
import { Uint8ArrayList } from 'uint8arraylist';
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import { waitForDrain } from '../net/drain';
import {
  FrameDecoder,
  FrameError,
  KIND_CONTROL,
  KIND_PING,
  KIND_PONG,
  KIND_UPLINK,
  MAX_BUYER_FRAME_BYTES,
  STREAM_PROTOCOL,
  encodeControl,
  encodePing,
  type Control,
  type ErrorControl,
  type Framing,
  type Ticket,
  type VoucherAck,
  type VoucherControl,
} from './frames';
import { UplinkMeter, type UplinkGrant } from './sources/uplink';
import type { StreamHub, Subscriber } from './hub';

export type StreamHost = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'peerId'>;

export interface StreamGrant {
  hub: StreamHub;
  format: string;
  framing?: Framing;
  /** Unix ms after which the session is cut (paid-until + grace); read on every tick. */
  deadline(): number;
  /** Unix ms at which the purchase's period 0 starts, when later than now (a failover credit). */
  startsAt?: number;
  /** Called once when the session ends, with what it moved. */
  onClose?(info: SessionInfo, reason: string): void;
  /** A payment voucher from the buyer (market/voucher.ts): the answer is sent back as is. */
  onVoucher?(v: VoucherControl): Promise<VoucherAck>;
  /** Messages from the buyer to the source (sources/uplink.ts); absent: the listing takes none. */
  uplink?: UplinkGrant | { refused: string };
}
export type Refusal = { refuse: Omit<ErrorControl, 't'> };
export type Authorize = (ticket: Ticket, remote: PeerId, connection: Connection) => Promise<StreamGrant | Refusal>;

export interface StreamServerOptions {
  keepAliveMs?: number;
  /** Cut a buyer that sent nothing (not even a PING) for this long. Default 4 × keepAlive. */
  idleTimeoutMs?: number;
  /** A stream that has not shown a ticket within this time is closed ('no-ticket'). */
  ticketTimeoutMs?: number;
  maxQueueFrames?: number;
  maxQueueBytes?: number;
  /** Server tick: deadline, keep-alive and stats checks. */
  tickMs?: number;
  log?: Logger;
}

export interface SessionInfo {
  requestId: string;
  streamId: string;
  remote: string;
  openedAt: number;
  framesOut: number;
  bytesOut: number;
  dropped: number;
  /** Uplink messages from the buyer: received, delivered to the source, refused. */
  uplinkIn: number;
  uplinkDelivered: number;
  uplinkRefused: number;
}

interface Session {
  info: SessionInfo;
  stream: Stream;
  connection: Connection;
  sub: Subscriber;
  grant: StreamGrant;
  lastIn: number;
  lastOut: number;
  reportedDropped: number;
  closed: boolean;
  /** Vouchers being answered, in order. */
  vouchers: Promise<void>;
  uplink: UplinkMeter;
}

export interface StreamServerEvents {
  'session-open': [SessionInfo];
  'session-close': [SessionInfo, string];
  'peer-error': [{ remote: string; code: string; message: string }];
}

/** Inbound /axon/stream streams per connection (libp2p resets the ones past it). */
export const MAX_STREAMS_PER_CONNECTION = 64;
/** Streams of one peer that have not shown a valid ticket yet; more are refused ('busy'). */
export const MAX_PENDING_PER_PEER = 8;
export const TICKET_TIMEOUT_MS = 5_000;

export class StreamServer extends EventEmitter<StreamServerEvents> {
  readonly sessions = new Set<Session>();
  readonly keepAliveMs: number;
  readonly idleTimeoutMs: number;
  #timer: NodeJS.Timeout | null = null;
  readonly #log: Logger;
  /** Streams per remote peer still waiting for (or on the verdict of) their ticket. */
  readonly #pending = new Map<string, number>();

  constructor(
    readonly host: StreamHost,
    readonly authorize: Authorize,
    readonly opts: StreamServerOptions = {},
  ) {
    super();
    this.keepAliveMs = opts.keepAliveMs ?? 5000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? this.keepAliveMs * 4;
    this.#log = opts.log ?? silentLogger;
  }

  async start(): Promise<void> {
    await this.host.handle(STREAM_PROTOCOL, (stream, connection) => void this.#serve(stream, connection), {
      maxInboundStreams: MAX_STREAMS_PER_CONNECTION,
      maxOutboundStreams: MAX_STREAMS_PER_CONNECTION,
      runOnLimitedConnection: true,
    });
    this.#timer = setInterval(() => this.#tick(), this.opts.tickMs ?? 250);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.host.unhandle(STREAM_PROTOCOL).catch(() => undefined);
    for (const s of [...this.sessions])
      this.#end(s, 'seller stopping', { code: 'shutdown', recover: 'reconnect', message: 'seller is shutting down' });
  }

  /** Close every session of a request (sale ended / stopped by the seller). */
  closeRequest(requestId: string, reason: string): void {
    for (const s of this.sessions) if (s.info.requestId === requestId) this.#end(s, reason, null);
  }

  /** Send a control frame (e.g. `settled`) on every open session of a request; false: none open. */
  notify(requestId: string, c: Control): boolean {
    let sent = false;
    for (const s of this.sessions)
      if (s.info.requestId === requestId && !s.closed) sent = trySend(s.stream, encodeControl(c)) || sent;
    return sent;
  }

  sessionsFor(requestId: string): SessionInfo[] {
    return [...this.sessions].filter((s) => s.info.requestId === requestId).map((s) => s.info);
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString();
    const pending = this.#pending.get(remote) ?? 0;
    if (pending >= MAX_PENDING_PER_PEER) {
      this.#log.debug({ remote, pending }, 'stream refused: too many streams without a ticket');
      refuse(stream, {
        code: 'busy',
        recover: 'retry',
        message: `more than ${MAX_PENDING_PER_PEER} streams of this peer wait for a ticket`,
      });
      return;
    }
    this.#pending.set(remote, pending + 1);
    let counted = true;
    const settle = (): void => {
      if (!counted) return;
      counted = false;
      const n = (this.#pending.get(remote) ?? 1) - 1;
      if (n <= 0) this.#pending.delete(remote);
      else this.#pending.set(remote, n);
    };
    // Buyers send only small frames (ticket, PING, short CONTROL): a stranger without a ticket
    // makes this stream buffer at most MAX_BUYER_FRAME_BYTES (+ one chunk), not 4 MiB.
    const decoder = new FrameDecoder(MAX_BUYER_FRAME_BYTES);
    let session: Session | null = null;
    let timedOut = false;
    const ticketTimer = setTimeout(() => {
      if (session) return;
      timedOut = true;
      settle();
      refuse(stream, { code: 'no-ticket', recover: 'reconnect', message: 'no ticket in time' });
    }, this.opts.ticketTimeoutMs ?? TICKET_TIMEOUT_MS);
    try {
      for await (const chunk of stream) {
        if (timedOut) return;
        const frames = decoder.push(chunk);
        for (const f of frames) {
          if (!session) {
            if (timedOut) return;
            if (f.kind !== KIND_CONTROL || f.control.t !== 'ticket') {
              throw new FrameError('protocol', 'the first frame must be a ticket');
            }
            clearTimeout(ticketTimer);
            const verdict = await this.authorize(f.control, connection.remotePeer, connection).catch(
              (e: Error): Refusal => ({ refuse: { code: 'internal', recover: 'retry', message: e.message } }),
            );
            settle();
            if ('refuse' in verdict) {
              this.#log.info(
                { remote, requestId: f.control.requestId, code: verdict.refuse.code },
                'stream ticket refused',
              );
              refuse(stream, verdict.refuse);
              return;
            }
            session = this.#open(stream, connection, f.control, verdict);
            continue;
          }
          session.lastIn = Date.now();
          if (f.kind === KIND_UPLINK) {
            // counted and rate limited; refusals are told at most once a second (no amplification)
            const u = session.uplink;
            u.take(f.payload);
            session.info.uplinkIn = u.received;
            session.info.uplinkDelivered = u.delivered;
            session.info.uplinkRefused = u.refused;
            const n = u.notice();
            if (n) trySend(stream, encodeControl(n));
          } else if (f.kind === KIND_PING) trySend(stream, encodePing(KIND_PONG, f.ts));
          else if (f.kind === KIND_CONTROL && f.control.t === 'end') {
            this.#end(session, `buyer ended: ${f.control.reason}`, null);
            return;
          } else if (f.kind === KIND_CONTROL && f.control.t === 'ticket') {
            throw new FrameError('protocol', 'a second ticket on the same stream');
          } else if (f.kind === KIND_CONTROL && f.control.t === 'voucher') {
            const s = session;
            if (!s.grant.onVoucher) throw new FrameError('protocol', 'vouchers are not taken on this stream');
            // answered in order (a voucher supersedes the one before)
            const v = f.control;
            s.vouchers = s.vouchers
              .then(() => s.grant.onVoucher!(v))
              .then((ack) => void trySend(stream, encodeControl(ack)))
              .catch((e: Error) => this.#log.error({ err: e.message }, 'voucher handler failed'));
          }
        }
      }
      if (session) this.#end(session, 'buyer closed the stream', null);
    } catch (e) {
      const err = e as Error;
      if (err instanceof FrameError) {
        this.#log.warn({ remote, code: err.code, err: err.message }, 'junk from peer: closing its connection');
        this.emit('peer-error', { remote, code: err.code, message: err.message });
        const pe = { code: `peer-error:${err.code}`, recover: 'abort' as const, message: err.message };
        if (session) this.#end(session, `peer error: ${err.message}`, pe);
        else refuse(stream, pe);
        setTimeout(() => void connection.close().catch(() => connection.abort(err)), 50).unref();
      } else if (session) {
        this.#end(session, `stream failed: ${err.message}`, null);
      }
    } finally {
      clearTimeout(ticketTimer);
      settle();
    }
  }

  #open(stream: Stream, connection: Connection, ticket: Ticket, grant: StreamGrant): Session {
    const { sub, nextSeq, missed, liveSeq } = grant.hub.subscribe({
      lastSeq: ticket.lastSeq,
      maxQueueFrames: this.opts.maxQueueFrames,
      maxQueueBytes: this.opts.maxQueueBytes,
    });
    const now = Date.now();
    const session: Session = {
      info: {
        requestId: ticket.requestId,
        streamId: ticket.streamId,
        remote: connection.remotePeer.toString(),
        openedAt: now,
        framesOut: 0,
        bytesOut: 0,
        dropped: 0,
        uplinkIn: 0,
        uplinkDelivered: 0,
        uplinkRefused: 0,
      },
      stream,
      connection,
      sub,
      grant,
      lastIn: now,
      lastOut: now,
      reportedDropped: 0,
      vouchers: Promise.resolve(),
      uplink: new UplinkMeter(grant.uplink),
      closed: false,
    };
    this.sessions.add(session);
    trySend(
      stream,
      encodeControl({
        t: 'welcome',
        requestId: ticket.requestId,
        streamId: ticket.streamId,
        nextSeq,
        missed,
        liveSeq,
        paidUntil: Math.max(0, Math.floor(grant.deadline())),
        ...(grant.startsAt !== undefined ? { startsAt: Math.floor(grant.startsAt) } : {}),
        keepAliveMs: this.keepAliveMs,
        format: grant.format,
        ...(grant.framing ? { framing: grant.framing } : {}),
      }),
    );
    this.#log.info(
      { remote: session.info.remote, requestId: ticket.requestId, nextSeq, missed },
      'stream session open',
    );
    this.emit('session-open', session.info);
    void this.#pump(session);
    return session;
  }

  async #pump(s: Session): Promise<void> {
    try {
      while (!s.closed) {
        await s.sub.wait();
        if (s.closed || s.sub.closed) return;
        while (s.sub.length > 0 && !s.closed) {
          // hand what is queued (up to ~256 KiB) to the muxer in one send, as a list of the
          // shared frame buffers (no copy): the muxer cuts it into as few frames, encryptions and
          // syscalls as it can — many small frames become one, big ones are not copied again
          const first = s.sub.shift()!.wire;
          let frames = 1;
          let batch: Uint8Array | Uint8ArrayList = first;
          if (s.sub.length > 0 && first.length < COALESCE_BYTES) {
            const list = new Uint8ArrayList(first);
            while (s.sub.length > 0 && list.byteLength < COALESCE_BYTES) {
              list.append(s.sub.shift()!.wire);
              frames++;
            }
            batch = list;
          }
          const bytes = batch.byteLength;
          const ok = s.stream.send(batch);
          s.info.framesOut += frames;
          s.info.bytesOut += bytes;
          s.lastOut = Date.now();
          // wait until THIS stream can take more (net/drain.ts: onDrain() is not enough): frames
          // handed over meanwhile would pile up in libp2p's buffer instead of being dropped
          // (oldest first, counted) from this buyer's bounded queue
          if (!ok) await waitForDrain(s.stream);
        }
      }
    } catch (e) {
      if (!s.closed) this.#end(s, `send failed: ${(e as Error).message}`, null);
    }
  }

  #tick(): void {
    const now = Date.now();
    for (const s of this.sessions) {
      if (s.closed) continue;
      if (s.stream.status !== 'open') {
        this.#end(s, `stream ${s.stream.status}`, null);
        continue;
      }
      if (now > s.grant.deadline()) {
        this.#end(s, 'not paid: paid-until + grace passed', {
          code: 'payment-overdue',
          recover: 'renew',
          message: 'the next period was not paid in time',
        });
        continue;
      }
      if (now - s.lastIn > this.idleTimeoutMs) {
        this.#end(s, 'buyer silent', {
          code: 'idle',
          recover: 'reconnect',
          message: `nothing from the buyer for ${this.idleTimeoutMs} ms`,
        });
        continue;
      }
      s.info.dropped = s.sub.dropped;
      const n = s.uplink.notice(now);
      if (n) trySend(s.stream, encodeControl(n));
      if (s.sub.dropped !== s.reportedDropped || now - s.lastOut > this.keepAliveMs) {
        s.reportedDropped = s.sub.dropped;
        if (!s.stream.writableNeedsDrain) {
          trySend(
            s.stream,
            encodeControl({
              t: 'stats',
              dropped: s.sub.dropped,
              paidUntil: Math.max(0, Math.floor(s.grant.deadline())),
            }),
          );
          s.lastOut = now;
        }
      }
    }
  }

  #end(s: Session, reason: string, error: Omit<ErrorControl, 't'> | null): void {
    if (s.closed) return;
    s.closed = true;
    s.info.dropped = s.sub.dropped;
    s.sub.close();
    this.sessions.delete(s);
    if (error) refuse(s.stream, error);
    else {
      trySend(s.stream, encodeControl({ t: 'end', reason: reason.slice(0, 256) }));
      void s.stream.close().catch(() => s.stream.abort(new Error(reason)));
    }
    this.#log.info(
      { requestId: s.info.requestId, remote: s.info.remote, reason, frames: s.info.framesOut, dropped: s.info.dropped },
      'stream session closed',
    );
    try {
      s.grant.onClose?.(s.info, reason);
    } catch (e) {
      this.#log.error({ err: (e as Error).message }, 'onClose handler failed');
    }
    this.emit('session-close', s.info, reason);
  }
}

export function trySend(stream: Stream, bytes: Uint8Array): boolean {
  try {
    if (stream.writeStatus !== 'writable') return false;
    stream.send(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Send an error control frame, then close the stream (abort if it does not close soon). */
export function refuse(stream: Stream, e: Omit<ErrorControl, 't'>): void {
  trySend(
    stream,
    encodeControl({ t: 'error', code: e.code.slice(0, 64), recover: e.recover, message: e.message.slice(0, 512) }),
  );
  const t = setTimeout(() => stream.abort(new Error(e.message)), 2000);
  t.unref();
  void stream
    .close()
    .then(() => clearTimeout(t))
    .catch(() => stream.abort(new Error(e.message)));
}

const COALESCE_BYTES = 256 * 1024;
