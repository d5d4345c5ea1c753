// Runs in: Node. Fan-out hub: one source read serves many buyers.
//
// The hub numbers frames (seq), encodes each DATA frame ONCE and hands the same bytes to every
// subscriber. Each subscriber has its own bounded queue (frames and bytes): when a buyer reads
// too slowly its OLDEST queued frames are dropped and counted — it never slows the hub or the
// other buyers. A short replay buffer lets a reconnecting buyer resume from its last seq.
import { EventEmitter } from 'node:events';
import { encodeData, type Framing } from './frames';

export interface HubFrame {
  seq: number;
  ts: number;
  payload: Uint8Array;
  /** The origin's signature of the frame (a stream that may be rebroadcast; docs/mesh.md). */
  sig?: Uint8Array;
  /** The encoded DATA frame (length prefix included), shared by all subscribers. */
  wire: Uint8Array;
}

export interface HubOptions {
  /** Frames kept for resume (default 1024). */
  replayFrames?: number;
  /** Bytes kept for resume (default 8 MiB). */
  replayBytes?: number;
}

export interface SubscriberOptions {
  /** Resume after this seq if it is still in the replay buffer (-1/undefined = live only). */
  lastSeq?: number;
  maxQueueFrames?: number;
  maxQueueBytes?: number;
}

export class Subscriber {
  readonly queue: HubFrame[] = [];
  queuedBytes = 0;
  dropped = 0;
  delivered = 0;
  #head = 0;
  #wake: (() => void) | null = null;
  #closed = false;

  constructor(
    readonly hub: StreamHub,
    readonly maxFrames: number,
    readonly maxBytes: number,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  get length(): number {
    return this.queue.length - this.#head;
  }

  /** Called by the hub: enqueue, dropping the oldest frames beyond the bounds. */
  offer(f: HubFrame): void {
    if (this.#closed) return;
    this.queue.push(f);
    this.queuedBytes += f.wire.length;
    while (this.length > 1 && (this.length > this.maxFrames || this.queuedBytes > this.maxBytes)) {
      const old = this.queue[this.#head]!;
      this.#head++;
      this.queuedBytes -= old.wire.length;
      this.dropped++;
    }
    this.#compact();
    const w = this.#wake;
    if (w) {
      this.#wake = null;
      w();
    }
  }

  /** Queue replayed frames without applying the bounds (a resume gets all it asked for). */
  preload(frames: HubFrame[]): void {
    for (const f of frames) {
      this.queue.push(f);
      this.queuedBytes += f.wire.length;
    }
  }

  /** Take the next frame or undefined. */
  shift(): HubFrame | undefined {
    if (this.length === 0) return undefined;
    const f = this.queue[this.#head]!;
    this.#head++;
    this.queuedBytes -= f.wire.length;
    this.delivered++;
    this.#compact();
    return f;
  }

  /** Resolves when a frame is queued or the subscriber is closed. */
  wait(): Promise<void> {
    if (this.length > 0 || this.#closed) return Promise.resolve();
    return new Promise((r) => (this.#wake = r));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.hub.unsubscribe(this);
    this.queue.length = 0;
    this.#head = 0;
    this.queuedBytes = 0;
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.queue.length) {
      this.queue.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

export interface HubEvents {
  frame: [HubFrame];
  subscribers: [number];
}

export class StreamHub extends EventEmitter<HubEvents> {
  /** The framing of a hub fed by a purchase (a rebroadcast): its origin's (frames.ts). */
  framing: Framing | undefined = undefined;
  /** An origin whose stream may be rebroadcast signs each frame (market/mesh.ts frameSigner). */
  signer: ((ts: number, payload: Uint8Array) => Uint8Array) | undefined = undefined;
  readonly subscribers = new Set<Subscriber>();
  #nextSeq = 0;
  #replay: HubFrame[] = [];
  #replayBytes = 0;
  readonly replayFrames: number;
  readonly replayBytesMax: number;
  framesIn = 0;
  bytesIn = 0;
  /** Bytes of the frames as each buyer's stream carries them (header, origin signature, payload). */
  wireBytesIn = 0;
  /** When the first frame came (unix ms; null: none yet). */
  firstFrameAt: number | null = null;

  constructor(
    readonly streamId: string,
    opts: HubOptions = {},
  ) {
    super();
    this.replayFrames = opts.replayFrames ?? 1024;
    this.replayBytesMax = opts.replayBytes ?? 8 * 1024 * 1024;
  }

  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Continue numbering after a restart (seq stays monotonic for resuming buyers). */
  setNextSeq(seq: number): void {
    if (seq > this.#nextSeq) this.#nextSeq = seq;
  }

  /** Publish a frame; `sig` is the origin's signature a rebroadcast passes on (else the hub's signer's). */
  publish(payload: Uint8Array, ts = Date.now(), sig?: Uint8Array): HubFrame {
    const seq = this.#nextSeq++;
    const s = sig ?? this.signer?.(ts, payload);
    const f: HubFrame = { seq, ts, payload, wire: encodeData(seq, ts, payload, s), ...(s ? { sig: s } : {}) };
    this.framesIn++;
    this.bytesIn += payload.length;
    this.wireBytesIn += f.wire.length;
    this.firstFrameAt ??= Date.now();
    this.#replay.push(f);
    this.#replayBytes += f.wire.length;
    while (
      this.#replay.length > this.replayFrames ||
      (this.#replayBytes > this.replayBytesMax && this.#replay.length > 1)
    ) {
      this.#replayBytes -= this.#replay.shift()!.wire.length;
    }
    for (const s of this.subscribers) s.offer(f);
    this.emit('frame', f);
    return f;
  }

  /** The newest `n` frames still in the replay buffer, oldest first (previews, schema inference). */
  recent(n: number): HubFrame[] {
    return n > 0 ? this.#replay.slice(-n) : [];
  }

  /**
   * New subscriber. With lastSeq, frames after it still in the replay buffer are queued first;
   * `missed` counts those that were no longer there.
   */
  subscribe(opts: SubscriberOptions = {}): { sub: Subscriber; nextSeq: number; missed: number } {
    const sub = new Subscriber(this, opts.maxQueueFrames ?? 256, opts.maxQueueBytes ?? 4 * 1024 * 1024 + 64);
    let nextSeq = this.#nextSeq;
    let missed = 0;
    const last = opts.lastSeq ?? -1;
    if (last >= 0 && last + 1 < this.#nextSeq) {
      const from = last + 1;
      const oldest = this.#replay[0]?.seq ?? this.#nextSeq;
      missed = Math.max(0, oldest - from);
      sub.preload(this.#replay.filter((f) => f.seq >= from));
      nextSeq = Math.max(from, oldest);
    }
    this.subscribers.add(sub);
    this.emit('subscribers', this.subscribers.size);
    return { sub, nextSeq, missed };
  }

  unsubscribe(sub: Subscriber): void {
    if (this.subscribers.delete(sub)) this.emit('subscribers', this.subscribers.size);
  }

  close(): void {
    for (const s of [...this.subscribers]) s.close();
    this.#replay = [];
    this.#replayBytes = 0;
  }
}
