// Runs in: Node. Buyer sink: append every frame of a purchase to a file, one NDJSON record per
// line (record.ts). Writes are buffered by the stream; a full disk stops the sink, not the node.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { recordLine, toRecord, type FrameMeta } from './record';

export class FileSink {
  #out: WriteStream;
  written = 0;
  error: Error | null = null;

  constructor(
    readonly path: string,
    readonly meta: FrameMeta,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.#out = createWriteStream(path, { flags: 'a' });
    this.#out.on('error', (e) => (this.error = e));
  }

  write(f: { seq: number; ts: number; payload: Uint8Array }): void {
    if (this.error) return;
    this.#out.write(recordLine(toRecord(this.meta, f)));
    this.written++;
  }

  close(): Promise<void> {
    return new Promise((r) => this.#out.end(() => r()));
  }
}
