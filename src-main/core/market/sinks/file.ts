// Runs in: Node. Buyer sink: append every frame of a purchase to a file, one NDJSON record per
// line (record.ts). Writes are buffered by the stream; a full disk stops the sink, not the node.
//
// The file is also the truth about what the buyer already has: when a sink opens on an existing
// file (the node restarted, perhaps after a crash), it reads the last complete record, cuts off a
// line torn by the crash, and from then on skips frames whose seq is not newer than that record's.
// The purchase resumes the stream from that seq, so no frame is written twice and none is missed
// while the seller's replay buffer still holds it.
import {
  closeSync,
  createWriteStream,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  type WriteStream,
} from 'node:fs';
import { dirname } from 'node:path';
import { recordLine, toRecord, type FrameMeta } from './record';

export class FileSink {
  #out: WriteStream;
  written = 0;
  /** Frames not written because the file already held them (seq ≤ lastSeq at open). */
  skipped = 0;
  /** Seq of the newest record of this purchase in the file (-1: none). */
  lastSeq: number;
  /** Bytes of a torn last line removed at open (0 normally). */
  readonly repairedBytes: number;
  error: Error | null = null;

  constructor(
    readonly path: string,
    readonly meta: FrameMeta,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    const tail = readTail(path, meta.purchaseId);
    this.lastSeq = tail.lastSeq;
    this.repairedBytes = tail.repairedBytes;
    this.#out = createWriteStream(path, { flags: 'a' });
    this.#out.on('error', (e) => (this.error = e));
  }

  write(f: { seq: number; ts: number; payload: Uint8Array }): void {
    if (this.error) return;
    if (f.seq <= this.lastSeq) {
      this.skipped++;
      return;
    }
    this.#out.write(recordLine(toRecord(this.meta, f)));
    this.lastSeq = f.seq;
    this.written++;
  }

  close(): Promise<void> {
    return new Promise((r) => this.#out.end(() => r()));
  }
}

const NL = 0x0a;

/**
 * Find the last complete line of an NDJSON file; if the file does not end with a newline, cut the
 * torn part off. Returns the seq of that line when it is a record of `purchaseId`.
 */
function readTail(path: string, purchaseId: string): { lastSeq: number; repairedBytes: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    return { lastSeq: -1, repairedBytes: 0 };
  }
  try {
    let size = fstatSync(fd).size;
    let repairedBytes = 0;
    const lastByte = Buffer.alloc(1);
    if (size > 0) readSync(fd, lastByte, 0, 1, size - 1);
    if (size > 0 && lastByte[0] !== NL) {
      const cut = lastNewline(fd, size - 1);
      repairedBytes = size - (cut + 1);
      ftruncateSync(fd, cut + 1);
      size = cut + 1;
    }
    if (size === 0) return { lastSeq: -1, repairedBytes };
    const start = lastNewline(fd, size - 1) + 1;
    const line = Buffer.alloc(size - 1 - start);
    readSync(fd, line, 0, line.length, start);
    try {
      const r = JSON.parse(line.toString('utf8')) as { purchaseId?: unknown; seq?: unknown };
      if (r.purchaseId === purchaseId && Number.isSafeInteger(r.seq))
        return { lastSeq: r.seq as number, repairedBytes };
    } catch {
      /* not one of our records: nothing to skip */
    }
    return { lastSeq: -1, repairedBytes };
  } finally {
    closeSync(fd);
  }
}

/** Offset of the last '\n' strictly before `end`, or -1. Reads backwards in 64 KiB steps. */
function lastNewline(fd: number, end: number): number {
  const buf = Buffer.alloc(64 * 1024);
  let pos = end;
  while (pos > 0) {
    const from = Math.max(0, pos - buf.length);
    const n = readSync(fd, buf, 0, pos - from, from);
    const i = buf.subarray(0, n).lastIndexOf(NL);
    if (i >= 0) return from + i;
    pos = from;
  }
  return -1;
}
