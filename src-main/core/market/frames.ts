// Runs in: Node. Wire codec of the stream protocol /axon/stream/1.0.0.
//
// Every unit on the wire is a frame: [u32 BE length][u8 kind][body], length = 1 + body length,
// at most MAX_FRAME_BYTES (4 MiB, as the Neuron spec). Kinds:
//   DATA    seq u64 ‖ source timestamp u64 (unix ms) ‖ payload        (seller → buyer)
//   PING    unix ms u64                                               (either way: keep-alive)
//   PONG    echoed unix ms u64                                        (RTT)
//   CONTROL UTF-8 JSON validated by ControlSchema (ticket, welcome, stats, error, end, and the
//           payment vouchers: voucher (buyer → seller), voucher-ack and settled (seller → buyer),
//           and uplink notices (seller → buyer: buyer messages refused, and why))
//   SDATA   seq u64 ‖ source ts u64 ‖ flag u8 ‖ [h_{i-1} (32) ‖ origin's Ed25519 signature (64)
//           if flag = 1] ‖ payload                                    (seller → buyer)
//           a stream that may be rebroadcast: the origin hash-chains its frames and signs the
//           chain at checkpoints (flag 1: the first frame, then every 10th or ≥ 1 s later); every
//           hop passes the chain fields on unchanged and a rebroadcast's buyer checks the chain
//           (market/frame-chain.ts, docs/mesh.md "Tampering")
//   UPLINK  payload                                                   (buyer → seller, ≤ MAX_UPLINK_BYTES)
//           bytes for the seller's source (device, stdin, MQTT topic) when the listing accepts
//           them (sources/uplink.ts); refused ones are answered with CONTROL uplink, at most 1/s
// The first frame of a stream is the buyer's CONTROL ticket; the seller answers with a CONTROL
// welcome or error. Anything that does not parse is junk: the reader throws FrameError and the
// caller closes the stream with a PeerError-like control message.
import { z } from 'zod';

export const STREAM_PROTOCOL = '/axon/stream/1.0.0';
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
export const MAX_PAYLOAD_BYTES = MAX_FRAME_BYTES - 1 - 16;
/**
 * Largest frame a buyer ever sends to a seller: its ticket, PINGs and short CONTROL frames (an
 * `end` reason ≤ 256 characters, an `error` message ≤ 512, even with every character escaped).
 * The seller's decoder refuses anything larger, so a stranger who has not shown a ticket makes it
 * buffer at most this much per stream (docs/security.md).
 */
export const MAX_BUYER_FRAME_BYTES = 4096;

export const KIND_DATA = 1;
export const KIND_PING = 2;
export const KIND_PONG = 3;
export const KIND_CONTROL = 4;
export const KIND_UPLINK = 5;
/** DATA hash-chained by the stream's origin: seq u64 ‖ ts u64 ‖ flag u8 ‖ [prev (32) ‖ sig (64)] ‖
 *  payload (docs/mesh.md "Tampering"). */
export const KIND_SDATA = 6;
export const SIG_BYTES = 64;
/** A checkpoint's chain hash before its frame (SHA-256). */
export const CHAIN_HASH_BYTES = 32;
/** SDATA flag: 0 = a chained frame, 1 = a checkpoint (prev ‖ sig follow). */
export const SDATA_PLAIN = 0;
export const SDATA_CHECKPOINT = 1;
const CHECKPOINT_BYTES = CHAIN_HASH_BYTES + SIG_BYTES;

/**
 * The origin's chain fields of a frame of a stream that may be rebroadcast (KIND_SDATA): every
 * frame is a link of the origin's hash chain; a checkpoint also carries the chain hash before it
 * (`prev`) and the origin's signature of the chain hash after it (market/frame-chain.ts).
 */
export interface ChainFields {
  checkpoint?: { prev: Uint8Array; sig: Uint8Array };
}
/** Largest uplink message: it must fit a buyer frame. */
export const MAX_UPLINK_BYTES = MAX_BUYER_FRAME_BYTES - 5;

export class FrameError extends Error {
  override name = 'FrameError';
  constructor(
    readonly code: 'frame-too-large' | 'bad-kind' | 'bad-frame' | 'bad-control' | 'protocol',
    message: string,
  ) {
    super(message);
  }
}

const requestId = z
  .string()
  .min(8)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'request id: [A-Za-z0-9_-]{8,64}');
const streamId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:-]+$/, 'stream id: [A-Za-z0-9._:-]{1,64}');

export const TicketSchema = z
  .object({
    t: z.literal('ticket'),
    v: z.literal(1),
    requestId,
    streamId,
    /** Last sequence number the buyer received (resume); -1 or absent = from now. */
    lastSeq: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).optional(),
    /** A failover (docs/mesh.md "Faults"): the buyer paid another source of this stream's origin up
     *  to this unix ms; it asks that period 0 start then. Read on the purchase's first stream only. */
    creditUntil: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();
export type Ticket = z.infer<typeof TicketSchema>;

/** How the seller's source cut its bytes into frames (sources/framing.ts). */
export const FramingSchema = z.enum(['lines', 'datagrams', 'length-prefixed', 'raw']);
export type Framing = z.infer<typeof FramingSchema>;

export const WelcomeSchema = z
  .object({
    t: z.literal('welcome'),
    requestId,
    streamId,
    /** Sequence number of the first DATA frame that will follow. */
    nextSeq: z.number().int().min(0),
    /** Frames the buyer asked for that were no longer in the replay buffer. */
    missed: z.number().int().min(0),
    /** Seq of the first frame sent live: the ones before it are replayed (a resume, or a chained
     *  stream's start at its newest checkpoint: hub.ts), older than their timestamps say. */
    liveSeq: z.number().int().min(0).optional(),
    /** Unix ms until which the seller streams without a further payment (incl. grace). */
    paidUntil: z.number().int().min(0),
    /** Unix ms at which period 0 of this purchase starts (its paid time counts from there): later
     *  than now when the seller granted the ticket's creditUntil; absent = when the stream opened. */
    startsAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    keepAliveMs: z.number().int().min(100).max(600_000),
    format: z.string().max(128),
    /** The stream's framing: a buyer's raw sinks rebuild the device's bytes with it. */
    framing: FramingSchema.optional(),
  })
  .strict();
export type Welcome = z.infer<typeof WelcomeSchema>;

export const StatsSchema = z
  .object({
    t: z.literal('stats'),
    /** Frames dropped for this buyer so far (slow reader, drop-oldest). */
    dropped: z.number().int().min(0),
    paidUntil: z.number().int().min(0),
  })
  .strict();

export const RecoverSchema = z.enum(['retry', 'reconnect', 'renew', 'refund-none', 'abort']);
export const ErrorControlSchema = z
  .object({
    t: z.literal('error'),
    code: z.string().min(1).max(64),
    recover: RecoverSchema,
    message: z.string().max(512),
  })
  .strict();
export type ErrorControl = z.infer<typeof ErrorControlSchema>;

export const EndSchema = z.object({ t: z.literal('end'), reason: z.string().max(256) }).strict();

/** Seller → buyer: uplink messages were refused (why, and how many since the last notice). */
export const UplinkNoticeSchema = z
  .object({
    t: z.literal('uplink'),
    code: z.enum(['not-allowed', 'rate-limited', 'device-unavailable']),
    refused: z.number().int().min(0),
    message: z.string().max(512),
  })
  .strict();
export type UplinkNotice = z.infer<typeof UplinkNoticeSchema>;

// Payment vouchers (docs/market.md "Vouchers"; market/voucher.ts): the buyer hands the seller a
// signed durable-nonce transaction per period; the seller answers each with an ack, and tells the
// buyer when it settled one on the ledger.
const lamportsText = z.string().regex(/^\d{1,20}$/, 'lamports: a decimal integer');
const base58 = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,88}$/, 'base58');
export const VoucherControlSchema = z
  .object({
    t: z.literal('voucher'),
    /** The last period it pays through (cumulative since the last settlement). */
    period: z.number().int().min(0).max(10_000_000),
    nonceAccount: base58,
    /** The signed transaction, base64 (≤ 1232 bytes on the wire). */
    tx: z
      .string()
      .max(1700)
      .regex(/^[A-Za-z0-9+/=]+$/, 'base64'),
  })
  .strict();
export type VoucherControl = z.infer<typeof VoucherControlSchema>;
export const VoucherAckSchema = z
  .object({
    t: z.literal('voucher-ack'),
    period: z.number().int().min(0).max(10_000_000),
    ok: z.boolean(),
    /** Refusal: its code (wrong-amount, wrong-nonce, …) and detail. */
    reason: z.string().max(256).optional(),
    paidUntil: z.number().int().min(0),
  })
  .strict();
export type VoucherAck = z.infer<typeof VoucherAckSchema>;
export const SettledSchema = z
  .object({
    t: z.literal('settled'),
    signature: base58,
    through: z.number().int().min(0).max(10_000_000),
    lamports: lamportsText,
  })
  .strict();
export type Settled = z.infer<typeof SettledSchema>;

export const ControlSchema = z.discriminatedUnion('t', [
  TicketSchema,
  WelcomeSchema,
  StatsSchema,
  ErrorControlSchema,
  EndSchema,
  VoucherControlSchema,
  VoucherAckSchema,
  SettledSchema,
  UplinkNoticeSchema,
]);
export type Control = z.infer<typeof ControlSchema>;

export type Frame =
  | { kind: typeof KIND_DATA; seq: number; ts: number; payload: Uint8Array; chain?: ChainFields }
  | { kind: typeof KIND_PING; ts: number }
  | { kind: typeof KIND_PONG; ts: number }
  | { kind: typeof KIND_CONTROL; control: Control }
  | { kind: typeof KIND_UPLINK; payload: Uint8Array };

const TWO32 = 0x1_0000_0000;

function putU64(view: DataView, off: number, n: number): void {
  view.setUint32(off, Math.floor(n / TWO32));
  view.setUint32(off + 4, n >>> 0);
}
function getU64(view: DataView, off: number): number {
  const hi = view.getUint32(off);
  if (hi > 0x1fffff) throw new FrameError('bad-frame', 'u64 field beyond 2^53');
  return hi * TWO32 + view.getUint32(off + 4);
}

/** One DATA frame, encoded once and shared by every subscriber of a hub; with `chain`, an SDATA frame. */
export function encodeData(seq: number, ts: number, payload: Uint8Array, chain?: ChainFields): Uint8Array {
  if (chain) return encodeChainedData(seq, ts, payload, chain);
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new FrameError('frame-too-large', `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  }
  // every byte is written below, so skip the zero fill (a measurable cost for 64 KiB frames)
  const out = Buffer.allocUnsafe(4 + 1 + 16 + payload.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, 1 + 16 + payload.length);
  out[4] = KIND_DATA;
  putU64(view, 5, seq);
  putU64(view, 13, ts);
  out.set(payload, 21);
  return out;
}

/** A DATA frame with the origin's chain fields (KIND_SDATA). */
function encodeChainedData(seq: number, ts: number, payload: Uint8Array, chain: ChainFields): Uint8Array {
  const cp = chain.checkpoint;
  if (cp && (cp.prev.length !== CHAIN_HASH_BYTES || cp.sig.length !== SIG_BYTES))
    throw new FrameError(
      'bad-frame',
      `a checkpoint carries a ${CHAIN_HASH_BYTES}-byte chain hash and a ${SIG_BYTES}-byte signature`,
    );
  const extra = 1 + (cp ? CHECKPOINT_BYTES : 0);
  if (payload.length > MAX_PAYLOAD_BYTES - extra) {
    throw new FrameError('frame-too-large', `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES - extra}`);
  }
  const out = Buffer.allocUnsafe(4 + 1 + 16 + extra + payload.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, 1 + 16 + extra + payload.length);
  out[4] = KIND_SDATA;
  putU64(view, 5, seq);
  putU64(view, 13, ts);
  out[21] = cp ? SDATA_CHECKPOINT : SDATA_PLAIN;
  if (cp) {
    out.set(cp.prev, 22);
    out.set(cp.sig, 22 + CHAIN_HASH_BYTES);
  }
  out.set(payload, 21 + extra);
  return out;
}

export function encodePing(kind: typeof KIND_PING | typeof KIND_PONG, ts: number): Uint8Array {
  const out = new Uint8Array(4 + 1 + 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, 9);
  out[4] = kind;
  putU64(view, 5, ts);
  return out;
}

export function encodeUplink(payload: Uint8Array): Uint8Array {
  if (payload.length === 0 || payload.length > MAX_UPLINK_BYTES)
    throw new FrameError(
      'frame-too-large',
      `an uplink message holds 1 to ${MAX_UPLINK_BYTES} bytes, not ${payload.length}`,
    );
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setUint32(0, 1 + payload.length);
  out[4] = KIND_UPLINK;
  out.set(payload, 5);
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function encodeControl(c: Control): Uint8Array {
  const body = enc.encode(JSON.stringify(c));
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(0, 1 + body.length);
  out[4] = KIND_CONTROL;
  out.set(body, 5);
  return out;
}

function decodeBody(body: Uint8Array): Frame {
  const kind = body[0];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (kind) {
    case KIND_DATA:
      if (body.length < 17) throw new FrameError('bad-frame', 'DATA frame shorter than its header');
      return { kind, seq: getU64(view, 1), ts: getU64(view, 9), payload: body.subarray(17) };
    case KIND_SDATA: {
      if (body.length < 18) throw new FrameError('bad-frame', 'chained DATA frame shorter than its header');
      const flag = body[17];
      const seq = getU64(view, 1);
      const ts = getU64(view, 9);
      if (flag === SDATA_PLAIN) return { kind: KIND_DATA, seq, ts, chain: {}, payload: body.subarray(18) };
      if (flag !== SDATA_CHECKPOINT) throw new FrameError('bad-frame', `chained DATA frame with unknown flag ${flag}`);
      if (body.length < 18 + CHECKPOINT_BYTES)
        throw new FrameError('bad-frame', 'chained DATA checkpoint shorter than its chain hash and signature');
      return {
        kind: KIND_DATA,
        seq,
        ts,
        chain: {
          checkpoint: {
            prev: body.subarray(18, 18 + CHAIN_HASH_BYTES),
            sig: body.subarray(18 + CHAIN_HASH_BYTES, 18 + CHECKPOINT_BYTES),
          },
        },
        payload: body.subarray(18 + CHECKPOINT_BYTES),
      };
    }
    case KIND_PING:
    case KIND_PONG:
      if (body.length !== 9) throw new FrameError('bad-frame', 'PING/PONG frame must hold 8 bytes');
      return { kind, ts: getU64(view, 1) };
    case KIND_UPLINK:
      if (body.length < 2) throw new FrameError('bad-frame', 'empty UPLINK frame');
      return { kind, payload: body.subarray(1) };
    case KIND_CONTROL: {
      let json: unknown;
      try {
        json = JSON.parse(dec.decode(body.subarray(1)));
      } catch {
        throw new FrameError('bad-control', 'CONTROL frame is not UTF-8 JSON');
      }
      const r = ControlSchema.safeParse(json);
      if (!r.success) {
        throw new FrameError(
          'bad-control',
          `CONTROL frame invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      }
      return { kind, control: r.data };
    }
    default:
      throw new FrameError('bad-kind', `unknown frame kind ${kind}`);
  }
}

/**
 * Incremental reader: push chunks as they arrive, take whole frames out. Throws FrameError on
 * junk (oversize length, unknown kind, invalid control) — the stream must then be closed.
 */
export class FrameDecoder {
  #chunks: Uint8Array[] = [];
  #len = 0;
  readonly maxFrame: number;

  constructor(maxFrame = MAX_FRAME_BYTES) {
    this.maxFrame = maxFrame;
  }

  get buffered(): number {
    return this.#len;
  }

  push(chunk: Uint8Array | { subarray(): Uint8Array }): Frame[] {
    const c = chunk instanceof Uint8Array ? chunk : chunk.subarray();
    if (c.length) {
      this.#chunks.push(c);
      this.#len += c.length;
    }
    const out: Frame[] = [];
    for (;;) {
      if (this.#len < 4) break;
      const head = this.#peek(4);
      const n = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (n === 0) throw new FrameError('bad-frame', 'zero-length frame');
      if (n > this.maxFrame) throw new FrameError('frame-too-large', `frame of ${n} bytes exceeds ${this.maxFrame}`);
      if (this.#len < 4 + n) break;
      const whole = this.#take(4 + n);
      out.push(decodeBody(whole.subarray(4)));
    }
    return out;
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    this.#coalesce(n);
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Uint8Array {
    let first = this.#chunks[0]!;
    if (first.length < n) {
      this.#coalesce(n);
      first = this.#chunks[0]!;
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#len -= n;
    return out;
  }

  /** Join the first chunks until the first holds at least n bytes (copying only those). */
  #coalesce(n: number): void {
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    let used = 0;
    while (off < n) {
      const c = this.#chunks[used]!;
      const take = Math.min(c.length, n - off);
      out.set(take === c.length ? c : c.subarray(0, take), off);
      off += take;
      if (take === c.length) used++;
      else this.#chunks[used] = c.subarray(take);
    }
    this.#chunks.splice(0, used, out);
  }
}
