// Runs in: Node. What a source is: something that, once started, hands payloads to a sink and
// reports failure. The supervisor (index.ts) restarts failed sources with backoff.
import type { Framing } from './framing';

export interface SourceSink {
  data(payload: Uint8Array, sourceTs?: number): void;
  /** The source failed (process exited, socket closed, file gone...): restart with backoff. */
  fail(err: Error): void;
  /** Something was dropped but the source goes on (an over-long line, a partial frame). */
  warn?(message: string): void;
}

export interface Source {
  describe(): string;
  format: string;
  /** How the source's bytes are cut into frames (framing.ts). */
  framing: Framing;
  rateMilliHz: number;
  start(sink: SourceSink): Promise<void>;
  /** Uplink: hand bytes from a buyer to the device / stdin / topic; a string says why not.
   *  Present only when the source's config has `uplink` (sources/uplink.ts). */
  uplink?(bytes: Uint8Array): string | null;
  stop(): Promise<void>;
}
