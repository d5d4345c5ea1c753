// Runs in: Node. Sources that read the outside world: tail a file, a command's stdout, a local
// TCP port (client), a local UDP port (bound), a WebSocket URL. Byte-stream sources (file,
// command, TCP) cut frames by their declared framing (framing.ts; lines by default); UDP gives one
// frame per datagram, WebSocket one per message.
import { spawn, type ChildProcess } from 'node:child_process';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import WebSocket from 'ws';
import type { Source, SourceSink } from './types';
import type { UplinkConfig } from './uplink';
import { createFramer, MAX_FRAME_PAYLOAD, type Framer, type Framing, type LengthPrefix } from './framing';

const MAX_LINE = MAX_FRAME_PAYLOAD;

/** How a byte-stream source (file, command, TCP) cuts its bytes into frames (framing.ts). */
export interface StreamFraming {
  /** Default 'lines'. */
  framing?: Framing;
  lengthPrefix?: LengthPrefix;
}

function framerFor(o: StreamFraming, sink: SourceSink): Framer {
  return createFramer(
    o.framing ?? 'lines',
    { frame: (p) => sink.data(p), warn: (m) => sink.warn?.(m) },
    { lengthPrefix: o.lengthPrefix },
  );
}

/** Run a framer step; a framing error (stream out of step) fails the source. */
function feed(f: Framer, chunk: Uint8Array, sink: SourceSink): boolean {
  try {
    f.push(chunk);
    return true;
  } catch (e) {
    sink.fail(e as Error);
    return false;
  }
}

export interface FileTailOptions extends StreamFraming {
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
    format: o.format ?? (o.framing && o.framing !== 'lines' ? 'application/octet-stream' : 'application/x-ndjson'),
    framing: o.framing ?? 'lines',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopped = false;
      fh = await open(o.path, 'r');
      let pos = o.fromStart ? 0 : (await fh.stat()).size;
      const splitter = framerFor(o, sink);
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
            if (!feed(splitter, buf.subarray(0, bytesRead), sink)) return;
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

export interface CommandOptions extends StreamFraming {
  /** Buyers' uplink messages go to the command's stdin (only when set). */
  uplink?: UplinkConfig;
  command: string;
  args?: string[];
  cwd?: string;
  format?: string;
}

/** A command's stdout, one frame per line. Its exit is a failure (restarted with backoff). */
export function commandSource(o: CommandOptions): Source {
  let child: ChildProcess | null = null;
  let stopping = false;
  const uplink = o.uplink
    ? (bytes: Uint8Array): string | null => {
        const stdin = child?.stdin;
        if (!stdin || !stdin.writable) return 'the command is not running';
        if (stdin.writableLength > 1024 * 1024) return 'the command is not reading its input';
        stdin.write(bytes);
        return null;
      }
    : undefined;
  return {
    ...(uplink ? { uplink } : {}),
    describe: () => [o.command, ...(o.args ?? [])].join(' '),
    format: o.format ?? (o.framing && o.framing !== 'lines' ? 'application/octet-stream' : 'application/x-ndjson'),
    framing: o.framing ?? 'lines',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopping = false;
      const c = spawn(o.command, o.args ?? [], {
        cwd: o.cwd,
        stdio: [o.uplink ? 'pipe' : 'ignore', 'pipe', 'ignore'],
      });
      child = c;
      c.stdin?.on('error', () => undefined);
      const splitter = framerFor(o, sink);
      c.stdout!.on('data', (d: Buffer) => void feed(splitter, d, sink));
      c.stdout!.on('end', () => splitter.end());
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

export interface TcpOptions extends StreamFraming {
  /** Buyers' uplink messages are written to the device's TCP connection (only when set). */
  uplink?: UplinkConfig;
  host?: string;
  port: number;
  format?: string;
}

/** Connect to a local TCP port (e.g. dump1090's SBS output) and read lines. */
export function tcpSource(o: TcpOptions): Source {
  let sock: Socket | null = null;
  let stopping = false;
  const host = o.host ?? '127.0.0.1';
  const uplink = o.uplink
    ? (bytes: Uint8Array): string | null => {
        if (!sock || sock.connecting || sock.destroyed) return `the device at ${host}:${o.port} is not connected`;
        if (sock.writableLength > 1024 * 1024) return `the device at ${host}:${o.port} is not reading`;
        sock.write(bytes);
        return null;
      }
    : undefined;
  return {
    ...(uplink ? { uplink } : {}),
    describe: () => `tcp ${host}:${o.port}`,
    format: o.format ?? (o.framing && o.framing !== 'lines' ? 'application/octet-stream' : 'text/plain'),
    framing: o.framing ?? 'lines',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopping = false;
      const s = createConnection({ host, port: o.port });
      sock = s;
      const splitter = framerFor(o, sink);
      s.on('data', (d: Buffer) => {
        if (!feed(splitter, d, sink)) s.destroy();
      });
      s.on('end', () => splitter.end());
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
  /** Buyers' uplink messages are sent as datagrams (to `uplink.to`, else the last sender). */
  uplink?: UplinkConfig;
  host?: string;
  port: number;
  format?: string;
}

/** Bind a local UDP port: one frame per datagram. */
export function udpSource(o: UdpOptions): Source {
  let sock: UdpSocket | null = null;
  let stopping = false;
  const host = o.host ?? '127.0.0.1';
  /** Where the last datagram came from: the device, for an uplink without `to`. */
  let device: { address: string; port: number } | null = null;
  const uplink = o.uplink
    ? (bytes: Uint8Array): string | null => {
        const to = o.uplink!.to ? { address: o.uplink!.to.host, port: o.uplink!.to.port } : device;
        if (!sock) return 'the UDP port is not open';
        if (!to) return 'no datagram from the device yet: nowhere to send';
        sock.send(bytes, to.port, to.address);
        return null;
      }
    : undefined;
  return {
    ...(uplink ? { uplink } : {}),
    describe: () => `udp ${host}:${o.port}`,
    format: o.format ?? 'application/octet-stream',
    framing: 'datagrams',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopping = false;
      const s = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: true });
      sock = s;
      s.on('message', (m: Buffer, rinfo) => {
        device = { address: rinfo.address, port: rinfo.port };
        sink.data(Uint8Array.from(m));
      });
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
    framing: 'datagrams',
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
