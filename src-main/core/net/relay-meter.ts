// Runs in: Node. What the relay role carries, in total: circuit relay v2 limits each relayed
// connection only (duration, bytes), so the relay's hop handler is wrapped here. Each hop stream is
// counted byte for byte in both directions (its 'message' events = source → destination, its
// send() = destination → source: the library pipes the two streams through exactly these), and:
// - a TOTAL rate cap (bytes/s over all circuits, token bucket with 1 s of burst): over it, every
//   circuit is throttled (reads paused, writes held back until the bucket refills);
// - a DAILY byte budget (UTC day): spent, new hop streams — reservations and circuits — are refused;
//   circuits already open go on (throttled by the rate cap);
// - priced relaying: a circuit whose two peers have not paid (credit() from the market's ledger
//   check) within the grace window is cut.
// The destination of a circuit is read from the CONNECT request (the first hop message).
import { getBase58Decoder } from '@solana/kit';
import type { Connection, Stream } from '@libp2p/interface';
import type { Logger } from '../log';

export interface RelayCap {
  /** Bytes per second over all relayed circuits, both directions; 0/undefined = no cap. */
  bytesPerSec?: number;
  /** Bytes per UTC day over all relayed circuits; 0/undefined = no budget. */
  dailyBytes?: bigint;
}

export interface RelayUse {
  /** Bytes relayed since start (both directions). */
  bytesTotal: bigint;
  /** Bytes relayed today (UTC). */
  bytesToday: bigint;
  /** The average over the last 5 s, bytes/s. */
  bytesPerSec: number;
  capBytesPerSec?: number;
  dailyCapBytes?: bigint;
  /** Circuits open now. */
  circuits: number;
  /** Hop requests refused because the daily budget is spent. */
  refused: number;
  /** The rate cap holds traffic back now. */
  throttled: boolean;
  /** Circuits cut because their peers did not pay the relay. */
  cutUnpaid: number;
}

export interface CircuitInfo {
  id: number;
  /** PeerId of the peer that asked for the circuit. */
  src: string;
  /** PeerId of the peer reached through it (undefined until the request was read). */
  dst?: string;
  openedAt: number;
  bytes: bigint;
}

export interface PayGate {
  /** A circuit whose pair has not paid this long after it opened (or after its paid time ran
   *  out) is cut. */
  graceMs: number;
}

/** The destination PeerId of a circuit relay v2 hop CONNECT request (varint length + HopMessage). */
export function parseHopRequest(chunk: Uint8Array): { type: number; dst?: string } | undefined {
  try {
    let i = 0;
    const varint = (): number => {
      let v = 0;
      for (let shift = 0; shift < 35; shift += 7) {
        const b = chunk[i++];
        if (b === undefined) throw new Error('truncated');
        v += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return v;
      }
      throw new Error('varint too long');
    };
    const len = varint();
    const end = i + len;
    if (end > chunk.length) return undefined;
    let type = -1;
    let dst: string | undefined;
    while (i < end) {
      const tag = varint();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (wire === 0) {
        const v = varint();
        if (field === 1) type = v;
      } else if (wire === 2) {
        const l = varint();
        const body = chunk.subarray(i, i + l);
        i += l;
        if (field === 2) {
          // Peer { bytes id = 1; repeated bytes addrs = 2; }
          let j = 0;
          while (j < body.length) {
            const t = body[j++]!;
            let bl = 0;
            for (let shift = 0; ; shift += 7) {
              const b = body[j++]!;
              bl += (b & 0x7f) * 2 ** shift;
              if (b < 0x80) break;
            }
            if (t >>> 3 === 1) dst = getBase58Decoder().decode(body.subarray(j, j + bl));
            j += bl;
          }
        }
      } else return undefined;
    }
    return { type, ...(dst ? { dst } : {}) };
  } catch {
    return undefined;
  }
}

const HOP_CONNECT = 1;
/** A hop request not complete within this many bytes is no request: counted as a circuit to nowhere. */
const MAX_HOP_REQUEST = 4096;
const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);
const utcDay = (ms: number): number => Math.floor(ms / 86_400_000);

interface Circuit extends CircuitInfo {
  stream: Stream;
  /** writes held back by the rate cap, waiting for a drain */
  waiting: boolean;
}

export class RelayMeter {
  #cap: RelayCap;
  #gate?: PayGate;
  #total = 0n;
  #today = 0n;
  #day = utcDay(Date.now());
  #refused = 0;
  #cutUnpaid = 0;
  #bucket: number;
  #bucketAt = Date.now();
  #throttleTimer: NodeJS.Timeout | null = null;
  #gateTimer: NodeJS.Timeout | null = null;
  /** 100 ms slots of the last 5 s for the rate shown. */
  readonly #window: { at: number; bytes: number }[] = [];
  readonly #circuits = new Map<number, Circuit>();
  readonly #hops = new Set<Stream>();
  /** Unix ms until which a pair of peers has paid for relaying. */
  readonly #paidUntil = new Map<string, number>();
  #nextId = 1;

  constructor(
    private readonly log: Logger,
    cap: RelayCap = {},
  ) {
    this.#cap = cap;
    this.#bucket = cap.bytesPerSec ?? 0;
  }

  /** Continue today's counts after a restart (the daily budget is per UTC day, not per run). */
  seedToday(bytes: bigint, refused = 0, cutUnpaid = 0): void {
    this.#rollDay();
    if (bytes > this.#today) this.#today = bytes;
    this.#refused = Math.max(this.#refused, refused);
    this.#cutUnpaid = Math.max(this.#cutUnpaid, cutUnpaid);
  }

  /** Priced relaying on (a gate) or off (undefined). */
  setPayGate(gate: PayGate | undefined): void {
    this.#gate = gate;
    if (this.#gateTimer) clearInterval(this.#gateTimer);
    this.#gateTimer = null;
    if (gate) {
      this.#gateTimer = setInterval(() => this.#checkPaid(), Math.max(200, Math.min(1000, gate.graceMs / 4)));
      this.#gateTimer.unref();
    }
  }

  /** The two peers of a circuit paid for relaying until `untilMs`. */
  credit(a: string, b: string, untilMs: number): void {
    const k = pairKey(a, b);
    this.#paidUntil.set(k, Math.max(this.#paidUntil.get(k) ?? 0, untilMs));
  }

  paidUntil(a: string, b: string): number | undefined {
    return this.#paidUntil.get(pairKey(a, b));
  }

  use(): RelayUse {
    this.#rollDay();
    const now = Date.now();
    const recent = this.#window.filter((w) => w.at > now - 5000).reduce((s, w) => s + w.bytes, 0);
    return {
      bytesTotal: this.#total,
      bytesToday: this.#today,
      bytesPerSec: Math.round(recent / 5),
      ...(this.#cap.bytesPerSec ? { capBytesPerSec: this.#cap.bytesPerSec } : {}),
      ...(this.#cap.dailyBytes ? { dailyCapBytes: this.#cap.dailyBytes } : {}),
      circuits: this.#circuits.size,
      refused: this.#refused,
      throttled: this.#throttleTimer !== null,
      cutUnpaid: this.#cutUnpaid,
    };
  }

  circuits(): CircuitInfo[] {
    return [...this.#circuits.values()].map(({ id, src, dst, openedAt, bytes }) => ({
      id,
      src,
      ...(dst ? { dst } : {}),
      openedAt,
      bytes,
    }));
  }

  #rollDay(): void {
    const d = utcDay(Date.now());
    if (d !== this.#day) {
      this.#day = d;
      this.#today = 0n;
    }
  }

  /** The daily budget is spent (new hop streams are refused). */
  overBudget(): boolean {
    this.#rollDay();
    return !!this.#cap.dailyBytes && this.#today >= this.#cap.dailyBytes;
  }

  /** Wrap the relay service's hop handler: counts, caps, and gates every hop stream. */
  wrap(onHop: (s: Stream, c: Connection) => Promise<void>): (s: Stream, c: Connection) => Promise<void> {
    return async (s, conn) => {
      if (this.overBudget()) {
        this.#refused++;
        this.log.info({ peer: conn.remotePeer.toString() }, 'relay request refused: daily byte budget spent');
        s.abort(new Error('relay over its daily byte budget'));
        return;
      }
      this.#track(s, conn);
      await onHop(s, conn);
    };
  }

  #track(s: Stream, conn: Connection): void {
    this.#hops.add(s);
    let circuit: Circuit | undefined;
    let head: Uint8Array | null = new Uint8Array(0);
    const count = (n: number): void => {
      this.#rollDay();
      this.#total += BigInt(n);
      this.#today += BigInt(n);
      if (circuit) circuit.bytes += BigInt(n);
      const now = Date.now();
      const slot = Math.floor(now / 100) * 100;
      const last = this.#window[this.#window.length - 1];
      if (last?.at === slot) last.bytes += n;
      else {
        this.#window.push({ at: slot, bytes: n });
        while (this.#window.length > 60) this.#window.shift();
      }
      this.#spend(n);
    };
    s.addEventListener('message', (e) => {
      const data = e.data;
      if (head) {
        // the request may come in pieces: read it whole (a split request must not escape the gate)
        const bytes = data.subarray();
        const joined = new Uint8Array(head.length + bytes.length);
        joined.set(head);
        joined.set(bytes, head.length);
        const req = parseHopRequest(joined);
        head = req || joined.length > MAX_HOP_REQUEST ? null : joined;
        if (!head && (!req || req.type === HOP_CONNECT)) {
          circuit = {
            id: this.#nextId++,
            src: conn.remotePeer.toString(),
            ...(req?.dst ? { dst: req.dst } : {}),
            openedAt: Date.now(),
            bytes: 0n,
            stream: s,
            waiting: false,
          };
          this.#circuits.set(circuit.id, circuit);
        }
      }
      count(data.byteLength);
    });
    const send = s.send.bind(s);
    s.send = (data) => {
      count(data.byteLength);
      const ok = send(data);
      if (this.#throttleTimer && circuit) {
        circuit.waiting = true;
        return false; // the relay's pipe waits for 'drain' (sent when the bucket refills)
      }
      return ok;
    };
    s.addEventListener(
      'close',
      () => {
        this.#hops.delete(s);
        if (circuit) this.#circuits.delete(circuit.id);
      },
      { once: true },
    );
  }

  /** Take n bytes from the token bucket; over the cap, hold every circuit back until it refills. */
  #spend(n: number): void {
    const rate = this.#cap.bytesPerSec;
    if (!rate) return;
    const now = Date.now();
    this.#bucket = Math.min(rate, this.#bucket + ((now - this.#bucketAt) / 1000) * rate) - n;
    this.#bucketAt = now;
    if (this.#bucket >= 0 || this.#throttleTimer) return;
    for (const c of this.#circuits.values())
      try {
        c.stream.pause();
      } catch {
        /* closing */
      }
    const wait = Math.ceil((-this.#bucket / rate) * 1000);
    this.#throttleTimer = setTimeout(() => {
      this.#throttleTimer = null;
      for (const c of this.#circuits.values()) {
        try {
          c.stream.resume();
          if (c.waiting) {
            c.waiting = false;
            c.stream.dispatchEvent(new Event('drain'));
          }
        } catch (err) {
          this.log.debug({ err: String(err) }, 'a throttled circuit could not resume (closing?)');
        }
      }
    }, wait);
    this.#throttleTimer.unref();
  }

  /** Cut the circuits whose pair has not paid within the grace window. */
  #checkPaid(): void {
    const gate = this.#gate;
    if (!gate) return;
    const now = Date.now();
    for (const c of this.#circuits.values()) {
      const paid = c.dst ? (this.#paidUntil.get(pairKey(c.src, c.dst)) ?? 0) : 0;
      if (now <= Math.max(c.openedAt, paid) + gate.graceMs) continue;
      this.#cutUnpaid++;
      this.#circuits.delete(c.id);
      this.log.info(
        { src: c.src, dst: c.dst, paidUntil: paid || null, graceMs: gate.graceMs },
        'relayed circuit cut: its peers did not pay the relay',
      );
      c.stream.abort(new Error('the relay was not paid'));
    }
  }

  stop(): void {
    if (this.#throttleTimer) clearTimeout(this.#throttleTimer);
    if (this.#gateTimer) clearInterval(this.#gateTimer);
    this.#throttleTimer = this.#gateTimer = null;
  }
}
