// Runs in: Node. Sources that read the outside world: tail a file, a command's stdout, a local
// TCP port (client), a local UDP port (bound), a WebSocket URL. Line-oriented sources emit one
// frame per line (without the newline); UDP one frame per datagram; WebSocket one per message.
import { spawn, type ChildProcess } from 'node:child_process';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import WebSocket from 'ws';
import type { Source, SourceSink } from './types';

const MAX_LINE = 4 * 1024 * 1024 - 64;

/** Split a byte stream into lines; drops a line longer than MAX_LINE (counted). */
export class LineSplitter {
  #rest: Buffer = Buffer.alloc(0);
  overlong = 0;
  constructor(readonly onLine: (line: Uint8Array) => void) {}
  push(chunk: Buffer): void {
    let buf = this.#rest.length ? Buffer.concat([this.#rest, chunk]) : chunk;
    let i: number;
    while ((i = buf.indexOf(10)) >= 0) {
      let line = buf.subarray(0, i);
      if (line.length && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      if (line.length) this.onLine(Uint8Array.from(line));
      buf = buf.subarray(i + 1);
    }
    if (buf.length > MAX_LINE) {
      this.overlong++;
      buf = Buffer.alloc(0);
    }
    this.#rest = Buffer.from(buf);
  }
}

export interface FileTailOptions {
  path: string;
  /** Start at the beginning of the file instead of its end. */
  fromStart?: boolean;
  format?: string;
  pollMs?: number;
}

/** `tail -F`: follow appended lines, survive truncation; a missing file is a failure (restart). */
export function fileTailSource(o: FileTailOptions): Source {
  let fh: FileHandle | null = null;
  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  return {
    describe: () => `tail ${o.path}`,
    format: o.format ?? 'application/x-ndjson',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopped = false;
      fh = await open(o.path, 'r');
      let pos = o.fromStart ? 0 : (await fh.stat()).size;
      const splitter = new LineSplitter((l) => sink.data(l));
      let reading = false;
      const buf = Buffer.alloc(256 * 1024);
      const readMore = async (): Promise<void> => {
        if (reading || stopped || !fh) return;
        reading = true;
        try {
          const st = await stat(o.path).catch(() => null);
          if (!st) throw new Error(`${o.path} disappeared`);
          if (st.size < pos) pos = 0; // truncated: start over
          for (;;) {
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
            if (bytesRead === 0) break;
            pos += bytesRead;
            splitter.push(buf.subarray(0, bytesRead));
          }
        } catch (e) {
          if (!stopped) sink.fail(e as Error);
        } finally {
          reading = false;
        }
      };
      try {
        watcher = watch(o.path, () => void readMore());
        watcher.on('error', () => undefined);
      } catch {
        /* polling below covers it */
      }
      timer = setInterval(() => void readMore(), o.pollMs ?? 250);
      await readMore();
    },
    async stop() {
      stopped = true;
      watcher?.close();
      if (timer) clearInterval(timer);
      await fh?.close().catch(() => undefined);
      fh = null;
    },
  };
}

export interface CommandOptions {
  command: string;
  args?: string[];
  cwd?: string;
  format?: string;
}

/** A command's stdout, one frame per line. Its exit is a failure (restarted with backoff). */
export function commandSource(o: CommandOptions): Source {
  let child: ChildProcess | null = null;
  let stopping = false;
  return {
    describe: () => [o.command, ...(o.args ?? [])].join(' '),
    format: o.format ?? 'application/x-ndjson',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopping = false;
      const c = spawn(o.command, o.args ?? [], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'ignore'] });
      child = c;
      const splitter = new LineSplitter((l) => sink.data(l));
      c.stdout!.on('data', (d: Buffer) => splitter.push(d));
      await new Promise<void>((resolve, reject) => {
        c.once('spawn', () => resolve());
        c.once('error', (e) => reject(e));
      });
      c.on('exit', (code, sig) => {
        if (!stopping) sink.fail(new Error(`command exited (${sig ?? `code ${code}`})`));
      });
    },
    async stop() {
      stopping = true;
      const c = child;
      child = null;
      if (c && c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), 2000);
        t.unref();
        await new Promise((r) => c.once('exit', r));
        clearTimeout(t);
      }
    },
  };
}

export interface TcpOptions {
  host?: string;
  port: number;
  format?: string;
}

/** Connect to a local TCP port (e.g. dump1090's SBS output) and read lines. */
export function tcpSource(o: TcpOptions): Source {
  let sock: Socket | null = null;
  let stopping = false;
  const host = o.host ?? '127.0.0.1';
  return {
    describe: () => `tcp ${host}:${o.port}`,
    format: o.format ?? 'text/plain',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopping = false;
      const s = createConnection({ host, port: o.port });
      sock = s;
      const splitter = new LineSplitter((l) => sink.data(l));
      s.on('data', (d: Buffer) => splitter.push(d));
      await new Promise<void>((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', reject);
      });
      s.on('error', () => undefined);
      s.on('close', () => {
        if (!stopping) sink.fail(new Error(`tcp ${host}:${o.port} closed`));
      });
    },
    async stop() {
      stopping = true;
      sock?.destroy();
      sock = null;
    },
  };
}

export interface UdpOptions {
  host?: string;
  port: number;
  format?: string;
}

/** Bind a local UDP port: one frame per datagram. */
export function udpSource(o: UdpOptions): Source {
  let sock: UdpSocket | null = null;
  let stopping = false;
  const host = o.host ?? '127.0.0.1';
  return {
    describe: () => `udp ${host}:${o.port}`,
    format: o.format ?? 'application/octet-stream',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopping = false;
      const s = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: true });
      sock = s;
      s.on('message', (m: Buffer) => sink.data(Uint8Array.from(m)));
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(o.port, host, () => resolve());
      });
      s.on('error', (e) => {
        if (!stopping) sink.fail(e);
      });
    },
    async stop() {
      stopping = true;
      await new Promise<void>((r) => (sock ? sock.close(() => r()) : r()));
      sock = null;
    },
  };
}

export interface WebSocketSourceOptions {
  url: string;
  format?: string;
}

/** A WebSocket URL: one frame per message. */
export function webSocketSource(o: WebSocketSourceOptions): Source {
  let ws: WebSocket | null = null;
  let stopping = false;
  return {
    describe: () => `websocket ${o.url}`,
    format: o.format ?? 'application/json',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopping = false;
      const w = new WebSocket(o.url, { maxPayload: MAX_LINE });
      ws = w;
      w.on('message', (data: WebSocket.RawData) => {
        const b = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        sink.data(Uint8Array.from(b));
      });
      await new Promise<void>((resolve, reject) => {
        w.once('open', () => resolve());
        w.once('error', reject);
      });
      w.on('error', () => undefined);
      w.on('close', (code) => {
        if (!stopping) sink.fail(new Error(`websocket closed (${code})`));
      });
    },
    async stop() {
      stopping = true;
      ws?.terminate();
      ws = null;
    },
  };
}
