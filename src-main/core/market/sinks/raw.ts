// Runs in: Node. Buyer sinks that hand on exactly the bytes the seller's device emitted (framing.ts
// rebuilds them from the frames), so the buyer plugs a purchase into the tools they already run:
//   tcp   a TCP port (127.0.0.1 by default) serving the raw bytes to every client that connects —
//         `tar1090`/`readsb --net-connector`, QGroundControl over TCP, `nc`. No handshake: clients
//         of these protocols cannot send a token, so the port is bound to loopback unless the
//         buyer names another address. A client that reads too slowly loses whole frames
//         (counted), never the others' data.
//   udp   a UDP forwarder: each frame is sent as one datagram to host:port (QGroundControl's 14550)
//   file  a file of raw bytes (appended), checkpointed: see RawFile below
//   mqtt  one MQTT message per frame to the buyer's broker under a chosen topic (mqtt.ts)
// NDJSON with metadata stays available through FileSink (file.ts) and the local endpoint.
import { closeSync, existsSync, mkdirSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, type Server, type Socket, type AddressInfo } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { z } from 'zod';
import { rawBytes } from '../sources/framing';
import type { Framing } from '../frames';
import { MqttSink, MqttSinkSchema } from './mqtt';

const port = z.number().int().min(0).max(65535);
const host = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:_-]+$/, 'a host name or IP address');

export const RawSinksSchema = z
  .object({
    /** Append the raw bytes to this file. */
    file: z.string().min(1).max(4096).optional(),
    /** Serve the raw bytes on this TCP port (port 0: any free port, see `tcpPort`). */
    tcp: z
      .object({ host: host.default('127.0.0.1'), port })
      .strict()
      .optional(),
    /** Send each frame as one UDP datagram to host:port. */
    udp: z
      .object({ host: host.default('127.0.0.1'), port: port.min(1) })
      .strict()
      .optional(),
    /** Publish each frame as one MQTT message to the buyer's broker (mqtt.ts). */
    mqtt: MqttSinkSchema.optional(),
  })
  .strict();
export type RawSinksConfig = z.infer<typeof RawSinksSchema>;
export type RawSinksInput = z.input<typeof RawSinksSchema>;

/** Validate a buyer's raw sink choice (IPC, CLI): a clear error naming the bad field. */
export function parseRawSinks(input: unknown): RawSinksConfig {
  const r = RawSinksSchema.safeParse(input);
  if (!r.success)
    throw new Error(
      `bad output: ${r.error.issues.map((i) => `${i.path.join('.') || 'raw'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** Bytes a slow TCP client may have queued before it loses frames. */
const MAX_CLIENT_BUFFER = 8 * 1024 * 1024;
/** Largest datagram UDP carries (IPv4). */
const MAX_DATAGRAM = 65_507;

/** Where a raw file stands: the last frame written and the file's size after it. */
export interface RawFileCheckpoint {
  seq: number;
  offset: number;
}

/** Bytes held before they are written (a frame burst), and how long at most. */
const FILE_FLUSH_BYTES = 64 * 1024;
const FILE_FLUSH_MS = 100;

/**
 * The raw file output, byte-exact across a crash. Frames are appended with synchronous writes
 * (batched: at most 64 KiB or 100 ms held), so what a checkpoint names is in the OS when the
 * checkpoint is taken; the purchase saves the checkpoint (seq, size) in SQLite every second. On a
 * resume after a crash the file is cut back to the checkpoint's size (bytes of frames written
 * after it) and the stream resumes after the checkpoint's seq: the file gets each frame once.
 * Frames at or before the checkpoint's seq are not written again.
 */
export class RawFile {
  #fd: number | null;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | null = null;
  /** The last frame handed to the file, and the file's size once everything handed is written. */
  seq: number;
  offset: number;
  /** Bytes found beyond the checkpoint and cut at open (a crash between two checkpoints). */
  readonly cutBytes: number;
  /** The file was shorter than its checkpoint (the OS lost writes): bytes missing. */
  readonly missingBytes: number;

  constructor(
    readonly path: string,
    from: RawFileCheckpoint | null,
    private readonly onError: (e: Error) => void,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    const size = existsSync(path) ? statSync(path).size : 0;
    this.seq = from?.seq ?? -1;
    this.offset = from ? Math.min(from.offset, size) : size;
    this.cutBytes = from && size > from.offset ? size - from.offset : 0;
    this.missingBytes = from && size < from.offset ? from.offset - size : 0;
    if (this.cutBytes) truncateSync(path, from!.offset);
    this.#fd = openSync(path, 'a');
  }

  /** Append a frame's bytes unless the file already has that frame. */
  write(seq: number, parts: Uint8Array[]): void {
    if (this.#fd === null || seq <= this.seq) return;
    for (const p of parts) {
      this.#pending.push(Buffer.from(p.buffer, p.byteOffset, p.length));
      this.#pendingBytes += p.length;
      this.offset += p.length;
    }
    this.seq = seq;
    if (this.#pendingBytes >= FILE_FLUSH_BYTES) this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), FILE_FLUSH_MS);
      this.#timer.unref();
    }
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#fd === null || this.#pendingBytes === 0) return;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      for (let off = 0; off < buf.length;) off += writeSync(this.#fd, buf, off);
    } catch (e) {
      this.onError(new Error(`raw file ${this.path}: ${(e as Error).message}`));
      closeSync(this.#fd);
      this.#fd = null;
    }
  }

  /** Write what is held, then say where the file stands (saved with the purchase's progress). */
  checkpoint(): RawFileCheckpoint {
    this.flush();
    return { seq: this.seq, offset: this.offset };
  }

  close(): void {
    this.flush();
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

export interface RawSinkStats {
  framesOut: number;
  bytesOut: number;
  /** Frames not delivered somewhere (slow TCP client, datagram too big, broker down). */
  dropped: number;
  tcpPort: number | null;
  tcpClients: number;
  error: string | null;
}

/** The raw outputs of one purchase; lives as long as the purchase runs (across reconnects). */
export class RawOutputs {
  readonly stats: RawSinkStats = { framesOut: 0, bytesOut: 0, dropped: 0, tcpPort: null, tcpClients: 0, error: null };
  #file: RawFile | null = null;
  /** Frames up to this seq reached the live outputs before a restart: not sent to them again. */
  #liveFrom = -1;
  #tcp: Server | null = null;
  #clients = new Set<Socket>();
  #udp: UdpSocket | null = null;
  #mqtt: MqttSink | null = null;

  constructor(
    readonly config: RawSinksConfig,
    /** Bytes a client sent back (a TCP client, a datagram to the forwarder's socket): the uplink. */
    readonly onUplink?: (bytes: Uint8Array) => void,
  ) {}

  async start(
    o: {
      purchaseId: string;
      onError?: (e: Error) => void;
      /** The raw file's saved checkpoint (a resume): the file is cut back to it. */
      fileCheckpoint?: RawFileCheckpoint | null;
      /** The last frame the purchase had when it resumed: the live outputs skip up to it. */
      liveFrom?: number;
    } = { purchaseId: '' },
  ): Promise<void> {
    const fail = (e: Error): void => {
      this.stats.error = e.message;
      o.onError?.(e);
    };
    const c = this.config;
    this.#liveFrom = o.liveFrom ?? -1;
    if (c.file) {
      try {
        this.#file = new RawFile(c.file, o.fileCheckpoint ?? null, fail);
      } catch (e) {
        throw new Error(`cannot write the raw file ${c.file}: ${(e as Error).message}`, { cause: e });
      }
    }
    if (c.tcp) {
      const srv = createServer((s) => {
        this.#clients.add(s);
        this.stats.tcpClients = this.#clients.size;
        s.on('error', () => undefined);
        // what the client says (a ground station's commands) goes up the stream when the listing
        // takes messages; otherwise the seller refuses it (and says so)
        s.on('data', (d: Buffer) => this.onUplink?.(Uint8Array.from(d)));
        s.on('close', () => {
          this.#clients.delete(s);
          this.stats.tcpClients = this.#clients.size;
        });
      });
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (e) =>
          reject(new Error(`cannot serve raw bytes on ${c.tcp!.host}:${c.tcp!.port}: ${e.message}`)),
        );
        srv.listen(c.tcp!.port, c.tcp!.host, () => resolve());
      });
      srv.on('error', (e) => fail(e));
      this.#tcp = srv;
      this.stats.tcpPort = (srv.address() as AddressInfo).port;
    }
    if (c.udp) {
      const s = createSocket(c.udp.host.includes(':') ? 'udp6' : 'udp4');
      s.on('error', (e) => fail(new Error(`udp forward to ${c.udp!.host}:${c.udp!.port}: ${e.message}`)));
      // replies from the ground station we forward to go up the stream (from that address only)
      s.on('message', (m, rinfo) => {
        if (rinfo.port === c.udp!.port) this.onUplink?.(Uint8Array.from(m));
      });
      this.#udp = s;
    }
    if (c.mqtt) {
      this.#mqtt = new MqttSink(c.mqtt, { clientId: `axon-${o.purchaseId}`.slice(0, 64), onError: fail });
      this.#mqtt.start();
    }
  }

  /** The raw file's checkpoint now (null: no raw file): its bytes are written first. */
  fileCheckpoint(): RawFileCheckpoint | null {
    return this.#file?.checkpoint() ?? null;
  }

  /** Bytes the raw file had beyond its checkpoint at a resume (cut), and bytes it lacked. */
  get fileRepair(): { cut: number; missing: number } {
    return { cut: this.#file?.cutBytes ?? 0, missing: this.#file?.missingBytes ?? 0 };
  }

  write(f: { seq: number; payload: Uint8Array }, framing: Framing): void {
    const parts = rawBytes(framing, f.payload);
    const size = parts.reduce((n, p) => n + p.length, 0);
    this.#file?.write(f.seq, parts);
    // the live outputs had the frames up to liveFrom before the restart
    if (f.seq <= this.#liveFrom) return;
    this.stats.framesOut++;
    this.stats.bytesOut += size;
    for (const s of this.#clients) {
      if (s.writableLength > MAX_CLIENT_BUFFER) {
        this.stats.dropped++;
        continue;
      }
      for (const p of parts) s.write(p);
    }
    if (this.#udp) {
      if (size > MAX_DATAGRAM) this.stats.dropped++;
      else {
        const dgram = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        this.#udp.send(dgram, this.config.udp!.port, this.config.udp!.host);
      }
    }
    // MQTT carries messages: one per frame, the payload as it is (a line without its newline)
    if (this.#mqtt && !this.#mqtt.publish(f.payload)) this.stats.dropped++;
  }

  async close(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    file?.close();
    for (const s of this.#clients) s.destroy();
    this.#clients.clear();
    const srv = this.#tcp;
    this.#tcp = null;
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
    const u = this.#udp;
    this.#udp = null;
    if (u) await new Promise<void>((r) => u.close(() => r()));
    await this.#mqtt?.close();
    this.#mqtt = null;
  }
}
