// Runs in: Node. Live state the UI needs that the core does not keep: recent frames per purchase
// (decoded to text for display), the frame rate, and per-peer throughput samples.
import { isUtf8 } from 'node:buffer';
import type { FrameView } from '../../src-shared/contract/api';

export const FRAMES_KEPT = 200;
const TEXT_MAX = 4096;
const RATE_WINDOW_MS = 3000;
export const THROUGHPUT_SAMPLES = 60;

const decoder = new TextDecoder('utf-8', { fatal: false });
const HEX_MAX = 256;

/** A frame as the UI shows it: text (cut to a few KiB), and hex when it is binary. */
export function toFrameView(purchaseId: string, f: { seq: number; ts: number; payload: Uint8Array }): FrameView {
  const bytes = f.payload.length > TEXT_MAX ? f.payload.subarray(0, TEXT_MAX) : f.payload;
  const view: FrameView = { purchaseId, seq: f.seq, ts: f.ts, text: decoder.decode(bytes) };
  // binary (not UTF-8): its first bytes as hex too, for the raw view (docs/streams.md)
  if (!isUtf8(bytes)) view.hex = Buffer.from(bytes.subarray(0, HEX_MAX)).toString('hex');
  return view;
}

export class FrameLog {
  readonly #frames = new Map<string, FrameView[]>();
  readonly #arrivals = new Map<string, number[]>();
  readonly #counts = new Map<string, number>();
  #pending: FrameView[] = [];

  add(f: { purchaseId: string; seq: number; ts: number; payload: Uint8Array }, now = Date.now()): void {
    const view = toFrameView(f.purchaseId, f);
    let buf = this.#frames.get(f.purchaseId);
    if (!buf) this.#frames.set(f.purchaseId, (buf = []));
    buf.push(view);
    if (buf.length > FRAMES_KEPT) buf.splice(0, buf.length - FRAMES_KEPT);
    let arr = this.#arrivals.get(f.purchaseId);
    if (!arr) this.#arrivals.set(f.purchaseId, (arr = []));
    arr.push(now);
    this.#counts.set(f.purchaseId, (this.#counts.get(f.purchaseId) ?? 0) + 1);
    this.#pending.push(view);
  }

  /** Frames received since the last call (sent to the UI in one event). */
  drain(): FrameView[] {
    const p = this.#pending;
    this.#pending = [];
    return p;
  }

  recent(purchaseId: string, limit: number): FrameView[] {
    return (this.#frames.get(purchaseId) ?? []).slice(-limit);
  }

  /** Frames per second over the last few seconds. */
  rate(purchaseId: string, now = Date.now()): number {
    const arr = this.#arrivals.get(purchaseId);
    if (!arr) return 0;
    while (arr.length && arr[0]! < now - RATE_WINDOW_MS) arr.shift();
    return Math.round((arr.length / (RATE_WINDOW_MS / 1000)) * 10) / 10;
  }

  /** Frames received by this process (the store's counter may lag behind). */
  count(purchaseId: string): number {
    return this.#counts.get(purchaseId) ?? 0;
  }
}

/** Bytes/s per peer from successive byte counters. */
export class ThroughputMeter {
  readonly #last = new Map<string, { at: number; bytes: number }>();
  readonly #samples = new Map<string, number[]>();

  sample(peer: string, totalBytes: number, now = Date.now()): number[] {
    const prev = this.#last.get(peer);
    let s = this.#samples.get(peer);
    if (!s) this.#samples.set(peer, (s = []));
    if (prev && now > prev.at) {
      s.push(Math.max(0, Math.round(((totalBytes - prev.bytes) * 1000) / (now - prev.at))));
      if (s.length > THROUGHPUT_SAMPLES) s.shift();
    }
    this.#last.set(peer, { at: now, bytes: totalBytes });
    return [...s];
  }

  samples(peer: string): number[] {
    return [...(this.#samples.get(peer) ?? [])];
  }
}
