// Runs in: Node. Fan-out hub: one source read serves many buyers.
//
// The hub numbers frames (seq), encodes each DATA frame ONCE and hands the same bytes to every
// subscriber. Each subscriber has its own bounded queue (frames and bytes): when a buyer reads
// too slowly its OLDEST queued frames are dropped and counted — it never slows the hub or the
// other buyers. A short replay buffer lets a reconnecting buyer resume from its last seq.
//
// A chained stream (one that may be rebroadcast: its frames carry the origin's hash chain,
// docs/mesh.md "Tampering") has one more rule: a buyer can check the chain only from a checkpoint
// on, so every subscriber starts at one (the newest still in the replay buffer: up to 9 recent
// frames at once, then live ones), and whenever frames are lost — a slow subscriber's dropped
// frames, a rebroadcast's own incoming gap (chainGap) — the frames after the loss wait for the next
// checkpoint: an honest hop never looks like a tamperer.
import { EventEmitter } from 'node:events';
import { encodeData, type ChainFields, type Framing } from './frames';

export interface HubFrame {
  seq: number;
  ts: number;
  payload: Uint8Array;
  /** The origin's hash-chain fields (a stream that may be rebroadcast; docs/mesh.md). */
  chain?: ChainFields;
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
  /** Resume after this seq if it is still in the replay buffer (-1/undefined = live only; a
   *  chained stream: from the checkpoint at or before it, or the first one after). */
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
  /** Chained frames lost: the next ones are dropped until a checkpoint comes. */
  #resync = false;

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

  /** Waiting for a checkpoint (chained frames were lost before). */
  get resyncing(): boolean {
    return this.#resync;
  }

  /** Called by the hub: enqueue, dropping the oldest frames beyond the bounds (a chained stream:
   *  and the frames after them up to the next checkpoint). */
  offer(f: HubFrame): void {
    if (this.#closed) return;
    if (this.#resync && f.chain && !f.chain.checkpoint) {
      this.dropped++;
      return;
    }
    this.#resync = false;
    this.queue.push(f);
    this.queuedBytes += f.wire.length;
    let lost = false;
    while (this.length > 1 && (this.length > this.maxFrames || this.queuedBytes > this.maxBytes)) {
      this.#dropHead();
      lost = true;
    }
    if (lost) this.#skipToCheckpoint();
    this.#compact();
    const w = this.#wake;
    if (w) {
      this.#wake = null;
      w();
    }
  }

  /** Start waiting for a checkpoint (a chained stream whose replay buffer holds none to start at). */
  resync(): void {
    this.#resync = true;
    this.#skipToCheckpoint();
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

  #dropHead(): void {
    const old = this.queue[this.#head]!;
    this.#head++;
    this.queuedBytes -= old.wire.length;
    this.dropped++;
  }

  /** After lost frames of a chained stream: drop queued frames up to the next checkpoint (none
   *  queued: the next offered ones until it comes). */
  #skipToCheckpoint(): void {
    for (;;) {
      const f = this.queue[this.#head];
      if (!f) {
        this.#resync = true;
        return;
      }
      if (!f.chain || f.chain.checkpoint) return;
      this.#dropHead();
    }
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
  /** An origin whose stream may be rebroadcast hash-chains its frames (market/frame-chain.ts frameChainer). */
  chainer: ((ts: number, payload: Uint8Array) => ChainFields) | undefined = undefined;
  readonly subscribers = new Set<Subscriber>();
  #nextSeq = 0;
  #replay: HubFrame[] = [];
  #replayBytes = 0;
  /** The stream's frames carry the origin's chain (seen on the last frame published). */
  #chained = false;
  /** Chained frames were lost before the next one (a fresh hub, chainGap): hold them back until a checkpoint. */
  #chainBroken = true;
  /** Chained frames held back so (they take a seq each: subscribers see the gap). */
  chainSkipped = 0;
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

  /**
   * Publish a frame; `chain` is the origin's chain fields a rebroadcast passes on unchanged (else
   * the hub's chainer's). null: a chained frame held back after lost frames, waiting for a
   * checkpoint (its seq is used up, so every subscriber sees the gap).
   */
  publish(payload: Uint8Array, ts = Date.now(), chain?: ChainFields): HubFrame | null {
    const seq = this.#nextSeq++;
    const c = chain ?? this.chainer?.(ts, payload);
    this.#chained = c !== undefined;
    if (c) {
      if (c.checkpoint) this.#chainBroken = false;
      else if (this.#chainBroken) {
        this.chainSkipped++;
        return null;
      }
    }
    const f: HubFrame = { seq, ts, payload, wire: encodeData(seq, ts, payload, c), ...(c ? { chain: c } : {}) };
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

  /** A rebroadcast's own incoming stream lost frames: the chain breaks here for its buyers, so the
   *  next chained frames are held back until a checkpoint. */
  chainGap(): void {
    this.#chainBroken = true;
  }

  /**
   * New subscriber. With lastSeq, frames after it still in the replay buffer are queued first;
   * `missed` counts those that were no longer there. A chained stream starts at a checkpoint: the
   * one at or before where the subscriber asks to start (live: the newest), else the first after
   * (frames were lost), else the next one published.
   */
  subscribe(opts: SubscriberOptions = {}): { sub: Subscriber; nextSeq: number; missed: number; liveSeq: number } {
    const sub = new Subscriber(this, opts.maxQueueFrames ?? 256, opts.maxQueueBytes ?? 4 * 1024 * 1024 + 64);
    let nextSeq = this.#nextSeq;
    let missed = 0;
    const last = opts.lastSeq ?? -1;
    if (this.#chained) {
      const from = last >= 0 ? last + 1 : this.#nextSeq;
      const at = this.#checkpointAt(from);
      if (at >= 0) {
        const frames = this.#replay.slice(at);
        sub.preload(frames);
        nextSeq = frames[0]!.seq;
      } else sub.resync();
      if (last >= 0) missed = Math.max(0, (at >= 0 ? nextSeq : this.#nextSeq) - from);
    } else if (last >= 0 && last + 1 < this.#nextSeq) {
      const from = last + 1;
      const oldest = this.#replay[0]?.seq ?? this.#nextSeq;
      missed = Math.max(0, oldest - from);
      sub.preload(this.#replay.filter((f) => f.seq >= from));
      nextSeq = Math.max(from, oldest);
    }
    this.subscribers.add(sub);
    this.emit('subscribers', this.subscribers.size);
    return { sub, nextSeq, missed, liveSeq: this.#nextSeq };
  }

  /** Index in the replay buffer of the newest checkpoint with seq ≤ from, else of the oldest one
   *  (all are after from); -1: none. */
  #checkpointAt(from: number): number {
    let at = -1;
    for (let i = this.#replay.length - 1; i >= 0; i--) {
      const f = this.#replay[i]!;
      if (!f.chain?.checkpoint) continue;
      at = i;
      if (f.seq <= from) break;
    }
    return at;
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
