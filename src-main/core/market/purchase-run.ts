// Runs in: Node. One purchase in progress on the buyer side (the in-memory half of a `purchases`
// row): its connect session, stream, timers and counters, plus the small rules the buyer's parts
// share about it. The SQLite row stays the source of truth; a Run only lives while the node runs.
import type { Connection } from '@libp2p/interface';
import type { ConnectSession } from '../net/types';
import type { PurchaseRow } from '../store/trades';
import type { StreamSession } from './stream-client';
import type { FileSink } from './sinks/file';
import type { RawOutputs } from './sinks/raw';

export interface Run {
  id: string;
  cs: ConnectSession | null;
  session: StreamSession | null;
  payTimer: NodeJS.Timeout | null;
  endTimer: NodeJS.Timeout | null;
  expiryTimer: NodeJS.Timeout | null;
  file: FileSink | null;
  /** Raw-byte outputs (TCP port, UDP, raw file, MQTT), opened with the first stream. */
  outputs: RawOutputs | null;
  /** Last frame received, or when the stream (re)opened: for the stall timeout. */
  lastFrameAt: number;
  /** Last frame actually received by this run (null: none yet). */
  dataAt: number | null;
  paying: boolean;
  /** Transaction fee of one payment (lamports; null: not asked of the ledger yet). */
  payFee: bigint | null;
  stopping: boolean;
  reconnects: number;
  /** frames/lastSeq not yet flushed to SQLite */
  frames: number;
  /** Redirects by full sellers followed so far (docs/mesh.md). */
  redirects?: number;
  /** A failover purchase: the lost source was paid until this unix ms; its first stream asks the
   *  seller to start period 0 then (docs/mesh.md "Faults"). */
  creditUntil?: number;
  /** The connection the stream runs on now (a better path to the seller moves it: BuyerSide.#onPath). */
  conn?: Connection | null;
  /** The stream is being moved to a better connection: its end reopens it there at once. */
  moving?: boolean;
  /** Rebroadcast purchases: the data-stall watchdog (a rebroadcaster connected but not forwarding). */
  stallTimer?: NodeJS.Timeout | null;
  /** Gaps between the last frames received (ms), for the stall watchdog's limit. */
  gaps?: number[];
  /** The newest seq this run received (a chained stream's session starts at a checkpoint: the
   *  frames up to here that come again are skipped). */
  seenSeq?: number;
  /** The seq of the last frame this run handed on (rebroadcast hubs, UI): a frame that does not
   *  follow it breaks a rebroadcast's chain (hub.ts chainGap). */
  handedSeq?: number;
}

/** What the payment scheduler and the stream keeper ask of the purchase state machine (BuyerSide). */
export interface PurchaseControl {
  /** End a run and move its purchase to a final state (no ledger message). */
  finish(run: Run, to: 'ended' | 'failed' | 'rejected', reason: string): void;
  /** Record a purchase transition (skipped, logged at debug, when the state machine refuses it). */
  move(id: string, to: PurchaseRow['state'], reason: string): void;
  /** Stop a purchase and tell the seller (ServiceStop). */
  stopPurchase(id: string, reason: string): Promise<PurchaseRow>;
  /** A rebroadcast purchase whose rebroadcaster altered frames or went away: stop it and buy the
   *  same stream from another rebroadcaster or its origin (docs/mesh.md "Faults"). */
  failover(run: Run, reason: string): void;
}

export function newRun(id: string): Run {
  return {
    id,
    cs: null,
    session: null,
    payTimer: null,
    endTimer: null,
    expiryTimer: null,
    file: null,
    outputs: null,
    lastFrameAt: Date.now(),
    dataAt: null,
    paying: false,
    payFee: null,
    stopping: false,
    reconnects: 0,
    frames: 0,
  };
}

export function clearRunTimers(r: Run): void {
  for (const t of [r.payTimer, r.endTimer, r.expiryTimer, r.stallTimer]) if (t) clearTimeout(t);
  r.payTimer = r.endTimer = r.expiryTimer = r.stallTimer = null;
}

/** When the paid time of a purchase runs out (epoch ms; 0 before it started). */
export function paidUntil(p: PurchaseRow): number {
  if (p.startedAt === null || p.periodMs === null) return 0;
  return p.startedAt + (p.paidThrough + 1) * p.periodMs;
}
