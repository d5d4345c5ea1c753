// Runs in: Node. Free preview before paying: `/axon/preview/1.0.0`, a protocol of its own. A
// buyer's node asks a seller's node (over an open connection, or by dialling the addresses the
// Listing carries) for a few recent frames of one stream; the seller answers from the stream's
// hub (its replay buffer), free, rate-limited per peer, or refuses with a reason. Nothing goes
// on the ledger: no request transaction, no payment. docs/streams.md "Free preview".
//
// Wire: one request and one answer per stream, each `u32 BE length ‖ JSON`, zod-validated.
import { z } from 'zod';
import { multiaddr } from '@multiformats/multiaddr';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Libp2p } from '@libp2p/interface';
import type { Logger } from '../log';
import { FramingSchema, type Framing } from './frames';
import type { StreamHub } from './hub';
import { ipScope } from '../net/addresses';

export const PREVIEW_PROTOCOL = '/axon/preview/1.0.0';

/** What one peer may ask, what one answer holds (docs/streams.md states them). */
export const PREVIEW_LIMITS = {
  /** Previews a peer may fetch at once, then one more every `refillMs`. */
  burst: 3,
  refillMs: 20_000,
  /** Previews the seller answers per minute from all peers together. */
  globalPerMinute: 60,
  /** Most frames per answer (and the default a buyer asks). */
  maxFrames: 10,
  defaultFrames: 5,
  /** Most payload bytes per answer; a larger frame is cut (`truncated`). */
  maxBytes: 64 * 1024,
  /** The request's size limit and the time the seller waits for it. */
  requestMaxBytes: 1024,
  requestTimeoutMs: 5_000,
  /** The largest answer a buyer reads (base64 of maxBytes plus the JSON around it). */
  answerMaxBytes: 256 * 1024,
  /** Peers whose buckets are remembered (the oldest are forgotten beyond it). */
  peersTracked: 10_000,
} as const;

export const PreviewRequestSchema = z
  .object({
    v: z.literal(1),
    streamId: z.string().min(1).max(64),
    frames: z.number().int().min(1).max(PREVIEW_LIMITS.maxFrames).default(PREVIEW_LIMITS.defaultFrames),
  })
  .strict();
export type PreviewRequest = z.input<typeof PreviewRequestSchema>;

const PreviewFrameSchema = z
  .object({
    seq: z.number().int().min(0),
    ts: z.number().int().min(0),
    b64: z.string().max(PREVIEW_LIMITS.answerMaxBytes),
    /** The frame was longer: only its first bytes are here (its full size). */
    size: z.number().int().min(0).optional(),
  })
  .strict();

export const PREVIEW_REFUSALS = ['rate-limited', 'off', 'unknown-stream', 'bad-request', 'busy'] as const;
export type PreviewRefusal = (typeof PREVIEW_REFUSALS)[number];

export const PreviewAnswerSchema = z.discriminatedUnion('ok', [
  z
    .object({
      v: z.literal(1),
      ok: z.literal(true),
      streamId: z.string().max(64),
      format: z.string().max(64),
      framing: FramingSchema.optional(),
      schema: z.string().max(160).nullable(),
      frames: z.array(PreviewFrameSchema).max(PREVIEW_LIMITS.maxFrames),
    })
    .strict(),
  z
    .object({
      v: z.literal(1),
      ok: z.literal(false),
      code: z.enum(PREVIEW_REFUSALS),
      message: z.string().max(300),
      retryAfterMs: z.number().int().min(0).max(3_600_000).optional(),
    })
    .strict(),
]);
export type PreviewAnswer = z.infer<typeof PreviewAnswerSchema>;

/** A preview as the buyer's node hands it on. */
export interface Preview {
  listingId: string;
  streamId: string;
  format: string;
  framing?: Framing;
  /** The seller's schema hint of the moment (null: none yet). */
  schema: string | null;
  frames: { seq: number; ts: number; payload: Uint8Array; truncatedFrom?: number }[];
}

/** The seller refused, or the preview could not be fetched; `code` says why. */
export class PreviewError extends Error {
  override name = 'PreviewError';
  constructor(
    readonly code: PreviewRefusal | 'unreachable' | 'bad-answer' | 'unknown-listing',
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

// ---- wire ----

function frame(json: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** Read one `u32 length ‖ JSON` message of at most `max` bytes. */
async function readMessage(stream: Stream, max: number, signal: AbortSignal): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let have = 0;
  let need = -1;
  const onAbort = (): void => stream.abort(new Error('preview timed out'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const c of stream) {
      const bytes = c instanceof Uint8Array ? c : c.subarray();
      chunks.push(bytes);
      have += bytes.length;
      if (need < 0 && have >= 4) {
        const all = concat(chunks, have);
        need = new DataView(all.buffer, all.byteOffset).getUint32(0);
        if (need > max) throw new PreviewError('bad-answer', `message of ${need} bytes, more than ${max}`);
      }
      if (need >= 0 && have >= 4 + need) {
        const all = concat(chunks, have);
        return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(all.subarray(4, 4 + need))) as unknown;
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) throw new PreviewError('unreachable', 'no answer in time');
  throw new PreviewError('bad-answer', 'the stream ended before a whole message');
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  chunks.length = 0;
  chunks.push(out);
  return out;
}

// ---- seller ----

/** What the preview server needs to know of the seller's streams. */
export interface PreviewSource {
  /** The live stream (its hub, format, framing, hint, whether previews are on); undefined: none. */
  stream(
    streamId: string,
  ):
    { hub: StreamHub; format: string; framing?: Framing; schema: string | null; preview: 'recent' | 'off' } | undefined;
}

export class PreviewServer {
  /** Per peer: tokens left and when they were counted. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #minute = { start: 0, count: 0 };
  served = 0;
  refused = 0;

  constructor(
    private readonly host: Pick<Libp2p, 'handle' | 'unhandle'>,
    private readonly source: PreviewSource,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.host.handle(PREVIEW_PROTOCOL, (stream, connection) => void this.#serve(stream, connection), {
      maxInboundStreams: 4,
      runOnLimitedConnection: true,
    });
  }

  async stop(): Promise<void> {
    await this.host.unhandle(PREVIEW_PROTOCOL).catch(() => undefined);
  }

  /** Take a token of `peer`'s bucket; the wait until the next one when there is none. */
  #take(peer: string, now = Date.now()): number {
    if (now - this.#minute.start >= 60_000) this.#minute = { start: now, count: 0 };
    if (this.#minute.count >= PREVIEW_LIMITS.globalPerMinute) return this.#minute.start + 60_000 - now;
    const b = this.#buckets.get(peer) ?? { tokens: PREVIEW_LIMITS.burst, at: now };
    const refilled = Math.min(PREVIEW_LIMITS.burst, b.tokens + (now - b.at) / PREVIEW_LIMITS.refillMs);
    if (refilled < 1) return Math.ceil((1 - refilled) * PREVIEW_LIMITS.refillMs);
    this.#buckets.delete(peer); // re-inserted last: the map's order is the least recently seen first
    this.#buckets.set(peer, { tokens: refilled - 1, at: now });
    if (this.#buckets.size > PREVIEW_LIMITS.peersTracked) this.#buckets.delete(this.#buckets.keys().next().value!);
    this.#minute.count++;
    return 0;
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    const answer = (a: PreviewAnswer): void => {
      if (!a.ok) {
        this.refused++;
        this.log.info({ peer, code: a.code, msg: a.message }, 'preview refused');
      } else this.served++;
      try {
        stream.send(frame(a));
      } catch {
        /* gone */
      }
      void stream.close().catch(() => stream.abort(new Error('closing')));
    };
    let req: z.infer<typeof PreviewRequestSchema>;
    try {
      const raw = await readMessage(
        stream,
        PREVIEW_LIMITS.requestMaxBytes,
        AbortSignal.timeout(PREVIEW_LIMITS.requestTimeoutMs),
      );
      const r = PreviewRequestSchema.safeParse(raw);
      if (!r.success)
        return answer({
          v: 1,
          ok: false,
          code: 'bad-request',
          message: r.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; '),
        });
      req = r.data;
    } catch (e) {
      return answer({ v: 1, ok: false, code: 'bad-request', message: (e as Error).message.slice(0, 200) });
    }
    const s = this.source.stream(req.streamId);
    if (!s) return answer({ v: 1, ok: false, code: 'unknown-stream', message: `no stream '${req.streamId}' for sale` });
    if (s.preview === 'off')
      return answer({ v: 1, ok: false, code: 'off', message: 'the seller offers no preview of this stream' });
    const wait = this.#take(peer);
    if (wait > 0)
      return answer({
        v: 1,
        ok: false,
        code: 'rate-limited',
        message: `preview limit: ${PREVIEW_LIMITS.burst} at once, then one per ${PREVIEW_LIMITS.refillMs / 1000} s per peer; try again in ${Math.ceil(wait / 1000)} s`,
        retryAfterMs: wait,
      });
    const frames: { seq: number; ts: number; b64: string; size?: number }[] = [];
    let budget: number = PREVIEW_LIMITS.maxBytes;
    // newest first within the byte budget, then put back in order
    for (const f of s.hub.recent(req.frames).reverse()) {
      if (budget <= 0) break;
      const part = f.payload.length > budget ? f.payload.subarray(0, budget) : f.payload;
      budget -= part.length;
      frames.unshift({
        seq: f.seq,
        ts: f.ts,
        b64: Buffer.from(part).toString('base64'),
        ...(part.length < f.payload.length ? { size: f.payload.length } : {}),
      });
    }
    answer({
      v: 1,
      ok: true,
      streamId: req.streamId,
      format: s.format,
      ...(s.framing ? { framing: s.framing } : {}),
      schema: s.schema,
      frames,
    });
  }
}

// ---- buyer ----

/**
 * The addresses a Listing carries so that strangers can reach the seller before any purchase:
 * public (and router-mapped) addresses first, then relay circuits, then LAN addresses (a buyer on
 * the same network; loopback only when the node announces it: tests, one host). Without
 * /p2p/<self>: the seller's PeerId is its address. WebRTC-Direct and link-local are left out.
 */
export function publicAddrs(all: string[], self: string, max = 3): string[] {
  const suffix = `/p2p/${self}`;
  const ranked: { a: string; rank: number }[] = [];
  for (const a of all) {
    const bare = a.endsWith(suffix) ? a.slice(0, -suffix.length) : a;
    if (bare.includes('/webrtc') || bare.length > 120 || ranked.some((x) => x.a === bare)) continue;
    const ip = /^\/ip[46]\/([^/]+)/.exec(bare)?.[1];
    const scope = ip === undefined ? 'invalid' : ipScope(ip);
    const rank = bare.includes('/p2p-circuit')
      ? 1
      : scope === 'public'
        ? 0
        : scope === 'private' || scope === 'loopback'
          ? 2
          : -1;
    if (rank >= 0) ranked.push({ a: bare, rank });
  }
  return ranked
    .sort((x, y) => x.rank - y.rank)
    .slice(0, max)
    .map((x) => x.a);
}

export interface FetchPreviewOptions {
  frames?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Fetch a preview from the seller: over `connection` when one is open, else by dialling `addrs`. */
export async function fetchPreview(
  host: Pick<Libp2p, 'dialProtocol'>,
  target: { listingId: string; streamId: string; peer: PeerId; connection?: Connection; addrs: string[] },
  o: FetchPreviewOptions = {},
): Promise<Preview> {
  const signal = AbortSignal.any([
    o.signal ?? new AbortController().signal,
    AbortSignal.timeout(o.timeoutMs ?? 10_000),
  ]);
  let stream: Stream;
  try {
    if (target.connection?.status === 'open')
      stream = await target.connection.newStream(PREVIEW_PROTOCOL, { signal, runOnLimitedConnection: true });
    else {
      if (target.addrs.length === 0)
        throw new PreviewError(
          'unreachable',
          'the listing carries no address to reach the seller before buying (its seller offers no preview, or has no public address)',
        );
      const mas = target.addrs.map((a) => multiaddr(`${a}/p2p/${target.peer.toString()}`));
      stream = await host.dialProtocol(mas, PREVIEW_PROTOCOL, { signal, runOnLimitedConnection: true });
    }
  } catch (e) {
    if (e instanceof PreviewError) throw e;
    throw new PreviewError('unreachable', `cannot reach the seller for a preview: ${(e as Error).message}`);
  }
  try {
    const req = PreviewRequestSchema.parse({
      v: 1,
      streamId: target.streamId,
      frames: o.frames ?? PREVIEW_LIMITS.defaultFrames,
    });
    stream.send(frame(req));
    const raw = await readMessage(stream, PREVIEW_LIMITS.answerMaxBytes, signal);
    const r = PreviewAnswerSchema.safeParse(raw);
    if (!r.success)
      throw new PreviewError(
        'bad-answer',
        `the seller's preview is malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const a = r.data;
    if (!a.ok) throw new PreviewError(a.code, a.message, a.retryAfterMs);
    return {
      listingId: target.listingId,
      streamId: a.streamId,
      format: a.format,
      ...(a.framing ? { framing: a.framing } : {}),
      schema: a.schema,
      frames: a.frames.map((f) => ({
        seq: f.seq,
        ts: f.ts,
        payload: Uint8Array.from(Buffer.from(f.b64, 'base64')),
        ...(f.size !== undefined ? { truncatedFrom: f.size } : {}),
      })),
    };
  } catch (e) {
    if (e instanceof PreviewError) throw e;
    throw new PreviewError('bad-answer', `preview failed: ${(e as Error).message}`);
  } finally {
    void stream.close().catch(() => stream.abort(new Error('done')));
  }
}
