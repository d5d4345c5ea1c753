// Runs in: Node. What a source is: something that, once started, hands payloads to a sink and
// reports failure. The supervisor (supervisor.ts) restarts failed sources with backoff.
export interface SourceSink {
  data(payload: Uint8Array, sourceTs?: number): void;
  /** The source failed (process exited, socket closed, file gone...): restart with backoff. */
  fail(err: Error): void;
}

export interface Source {
  describe(): string;
  format: string;
  rateMilliHz: number;
  start(sink: SourceSink): Promise<void>;
  stop(): Promise<void>;
}
