// Runs in: Node. How a byte stream (a TCP device, a file, a command's stdout) is cut into frames.
// Each source declares its framing (docs/market.md, "Framings"):
//   lines            one frame per line; the payload is the line without its '\n' (a '\r' before
//                    it is kept, so CRLF protocols like SBS stay byte-exact); the raw bytes of the
//                    frame are payload + '\n'
//   datagrams        one frame per message (UDP packet, WebSocket or MQTT message): payload = bytes
//   length-prefixed  a 1, 2 or 4 byte length (big or little endian) then that many bytes; the
//                    payload is the whole frame, prefix included
//   raw              the byte stream cut where it arrived (≤ 64 KiB per frame), for protocols the
//                    seller does not want parsed (Beast, MAVLink over TCP, ...)
// Whatever the framing, concatenating rawBytes() of the frames gives back exactly the bytes the
// device emitted (datagram framings keep one frame per datagram). Bounded memory: a line or a
// declared length beyond the limit is reported (warn / fail) and never buffered whole.
import { z } from 'zod';
import { FramingSchema, MAX_PAYLOAD_BYTES, type Framing } from '../frames';

export { FramingSchema, type Framing };

export const LengthPrefixSchema = z
  .object({
    /** Width of the length field in bytes. */
    bytes: z.union([z.literal(1), z.literal(2), z.literal(4)]).default(2),
    /** Byte order of the length field. */
    endian: z.enum(['be', 'le']).default('be'),
    /** true: the length counts the prefix too; false (default): only the bytes after it. */
    includesPrefix: z.boolean().default(false),
  })
  .strict();
export type LengthPrefix = z.infer<typeof LengthPrefixSchema>;

/** Largest frame a byte-stream framing produces (lines, length-prefixed). */
export const MAX_FRAME_PAYLOAD = MAX_PAYLOAD_BYTES;
/** Largest chunk of a 'raw' framing. */
export const RAW_CHUNK_BYTES = 64 * 1024;

const NL = 0x0a;
const NL_BYTE = Uint8Array.of(NL);

/** The bytes the device emitted for one frame of this framing. */
export function rawBytes(framing: Framing, payload: Uint8Array): Uint8Array[] {
  return framing === 'lines' ? [payload, NL_BYTE] : [payload];
}

export interface FramerEvents {
  frame(payload: Uint8Array): void;
  /** Something was dropped (an over-long line, a partial frame at the end): stream goes on. */
  warn(message: string): void;
}

/** Cuts a byte stream into frames. `end()` at disconnect reports a partial frame, if any. */
export interface Framer {
  push(chunk: Uint8Array): void;
  end(): void;
  /** Bytes held waiting for the rest of a frame. */
  readonly buffered: number;
}

export function createFramer(
  framing: Framing,
  on: FramerEvents,
  o: { lengthPrefix?: LengthPrefix; maxFrame?: number } = {},
): Framer {
  const max = Math.min(o.maxFrame ?? MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD);
  switch (framing) {
    case 'lines':
      return new LineFramer(on, max);
    case 'length-prefixed':
      return new LengthPrefixFramer(on, LengthPrefixSchema.parse(o.lengthPrefix ?? {}), max);
    case 'raw':
    case 'datagrams':
      // a byte stream declared as datagrams is cut like raw: there are no datagrams in it
      return new RawFramer(on);
  }
}

class RawFramer implements Framer {
  readonly buffered = 0;
  constructor(readonly on: FramerEvents) {}
  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i += RAW_CHUNK_BYTES)
      this.on.frame(Uint8Array.from(chunk.subarray(i, i + RAW_CHUNK_BYTES)));
  }
  end(): void {}
}

/** Lines; a line longer than `max` is dropped (up to its newline) with one warning. */
export class LineFramer implements Framer {
  #parts: Uint8Array[] = [];
  #len = 0;
  /** Inside an over-long line: skip until its newline. */
  #skipping = false;
  #skipped = 0;
  overlong = 0;
  constructor(
    readonly on: FramerEvents,
    readonly max = MAX_FRAME_PAYLOAD,
  ) {}
  get buffered(): number {
    return this.#len;
  }
  push(chunk: Uint8Array): void {
    let from = 0;
    while (from < chunk.length) {
      const i = chunk.indexOf(NL, from);
      const end = i < 0 ? chunk.length : i;
      if (this.#skipping) this.#skipped += end - from;
      else if (this.#len + (end - from) > this.max) {
        this.#skipping = true;
        this.#skipped = this.#len + (end - from);
        this.#parts = [];
        this.#len = 0;
      } else if (end > from) {
        this.#parts.push(chunk.subarray(from, end));
        this.#len += end - from;
      }
      if (i < 0) break;
      if (this.#skipping) {
        this.overlong++;
        this.on.warn(`dropped a line of ${this.#skipped} bytes: longer than the ${this.max} byte limit`);
        this.#skipping = false;
        this.#skipped = 0;
      } else this.on.frame(this.#take());
      from = i + 1;
    }
    // copy what is kept: the chunk's buffer may be reused by its reader
    if (this.#parts.length > 1 || (this.#parts[0] && this.#parts[0].buffer === chunk.buffer)) {
      const keep = this.#take();
      if (keep.length) {
        this.#parts = [keep];
        this.#len = keep.length;
      }
    }
  }
  #take(): Uint8Array {
    const out = new Uint8Array(this.#len);
    let off = 0;
    for (const p of this.#parts) {
      out.set(p, off);
      off += p.length;
    }
    this.#parts = [];
    this.#len = 0;
    return out;
  }
  end(): void {
    if (this.#skipping) this.on.warn(`dropped a line of ${this.#skipped}+ bytes cut by the disconnect`);
    else if (this.#len) this.on.warn(`dropped a partial line of ${this.#len} bytes (no newline before the disconnect)`);
    this.#parts = [];
    this.#len = 0;
    this.#skipping = false;
  }
}

/** Length-prefixed frames; a declared length beyond `max` is an error (the stream is out of step). */
export class LengthPrefixFramer implements Framer {
  #buf: Uint8Array = new Uint8Array(0);
  constructor(
    readonly on: FramerEvents,
    readonly p: LengthPrefix,
    readonly max = MAX_FRAME_PAYLOAD,
  ) {}
  get buffered(): number {
    return this.#buf.length;
  }
  push(chunk: Uint8Array): void {
    let buf = this.#buf.length ? concat(this.#buf, chunk) : chunk;
    for (;;) {
      if (buf.length < this.p.bytes) break;
      const v = new DataView(buf.buffer, buf.byteOffset, this.p.bytes);
      const le = this.p.endian === 'le';
      const n = this.p.bytes === 1 ? v.getUint8(0) : this.p.bytes === 2 ? v.getUint16(0, le) : v.getUint32(0, le);
      const total = this.p.includesPrefix ? n : n + this.p.bytes;
      if (total < this.p.bytes) throw new Error(`length prefix ${n} is shorter than the prefix itself`);
      if (total > this.max) throw new Error(`declared frame length ${n} exceeds the ${this.max} byte limit`);
      if (buf.length < total) break;
      this.on.frame(Uint8Array.from(buf.subarray(0, total)));
      buf = buf.subarray(total);
    }
    this.#buf = Uint8Array.from(buf);
  }
  end(): void {
    if (this.#buf.length)
      this.on.warn(`dropped a partial frame of ${this.#buf.length} bytes at the disconnect (length-prefixed)`);
    this.#buf = new Uint8Array(0);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
