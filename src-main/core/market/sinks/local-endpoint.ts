// Runs in: Node. The buyer's ONE local endpoint: a WebSocket port and a TCP port on 127.0.0.1 from
// which any local program reads any purchased stream by id — one address for many providers.
//
//   WebSocket: ws://127.0.0.1:PORT/streams/<id>?token=T  (id = purchase id, listing id or stream id)
//              ws://127.0.0.1:PORT/streams?token=T      → one JSON message listing the streams, then close
//   TCP:       connect, write "T\n" then "<id>\n", then read NDJSON records (one per frame);
//              "T\nlist\n" gets the list as one JSON line.
// T is the endpoint's token: random, kept in the data dir (`endpoint-token`, 0600), shown by
// `axon status` and printed with the URLs by `axon buy --serve`. Without it nothing is served, so
// that a web page or another user's program cannot read what this user bought. Browsers must also
// come from a page on this machine (Origin http://127.0.0.1 / localhost / [::1]); the Host header
// must name this machine's loopback (no DNS rebinding). docs/security.md, "Local endpoint".
// Each message / line is a FrameRecord (record.ts). A reader that falls behind loses frames
// (counted per client) rather than growing memory or slowing other readers.
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { recordLine, toRecord, type FrameMeta } from './record';

const MAX_BUFFERED = 8 * 1024 * 1024;

interface Client {
  send(line: string): boolean;
  dropped: number;
}

interface Entry {
  meta: FrameMeta;
  clients: Set<Client>;
  frames: number;
}

export interface LocalEndpointOptions {
  host?: string;
  wsPort?: number;
  tcpPort?: number;
  /** File holding the token (created 0600 if missing); omitted = a fresh token per start. */
  tokenFile?: string;
}

/** The endpoint's token from `file`, created (random, 0600) on first use. */
export function loadEndpointToken(file: string): string {
  if (existsSync(file)) {
    const t = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{16,128}$/.test(t)) return t;
  }
  const t = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, t + '\n', { mode: 0o600 });
  return t;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;
const LOOPBACK_ORIGIN = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;

export class LocalEndpoint {
  readonly streams = new Map<string, Entry>();
  #http: HttpServer | null = null;
  #wss: WebSocketServer | null = null;
  #tcp: TcpServer | null = null;
  wsPort = 0;
  tcpPort = 0;
  readonly host: string;
  readonly token: string;

  constructor(readonly opts: LocalEndpointOptions = {}) {
    this.host = opts.host ?? '127.0.0.1';
    this.token = opts.tokenFile ? loadEndpointToken(opts.tokenFile) : randomBytes(24).toString('base64url');
  }

  /** Why an HTTP request / WebSocket upgrade is refused (status + text), or null to serve it. */
  #refusal(req: IncomingMessage): { status: number; message: string } | null {
    const host = req.headers.host ?? '';
    if (!LOOPBACK_HOST.test(host)) return { status: 403, message: `Host '${host.slice(0, 100)}' is not this machine` };
    const origin = req.headers.origin;
    if (origin !== undefined && !LOOPBACK_ORIGIN.test(origin)) {
      return { status: 403, message: `pages from '${origin.slice(0, 100)}' may not read purchased streams` };
    }
    const q = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const given = q.get('token') ?? auth ?? '';
    if (!sameToken(given, this.token)) {
      return {
        status: 401,
        message: 'missing or wrong token: add ?token=<the token shown by `axon status`> to the URL',
      };
    }
    return null;
  }

  async start(): Promise<{ wsPort: number; tcpPort: number }> {
    this.#http = createServer((req, res) => {
      const refused = this.#refusal(req);
      if (refused) {
        res.writeHead(refused.status, { 'content-type': 'text/plain' }).end(refused.message + '\n');
        return;
      }
      if ((req.url ?? '').split('?')[0] === '/streams') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.list()));
      } else {
        res.writeHead(404).end('use ws://host:port/streams/<id>?token=<token>\n');
      }
    });
    this.#wss = new WebSocketServer({
      server: this.#http,
      maxPayload: 4096, // readers do not talk
      verifyClient: (info, done) => {
        const refused = this.#refusal(info.req);
        if (refused) done(false, refused.status, refused.message);
        else done(true);
      },
    });
    this.#wss.on('connection', (ws, req) => this.#onWs(ws, req.url ?? '/'));
    await new Promise<void>((r) => this.#http!.listen(this.opts.wsPort ?? 0, this.host, r));
    this.wsPort = (this.#http.address() as AddressInfo).port;
    this.#tcp = createTcpServer((sock) => this.#onTcp(sock));
    await new Promise<void>((r) => this.#tcp!.listen(this.opts.tcpPort ?? 0, this.host, r));
    this.tcpPort = (this.#tcp.address() as AddressInfo).port;
    return { wsPort: this.wsPort, tcpPort: this.tcpPort };
  }

  async stop(): Promise<void> {
    for (const c of this.#wss?.clients ?? []) c.terminate();
    this.#wss?.close();
    await new Promise<void>((r) => (this.#http ? this.#http.close(() => r()) : r()));
    this.#http?.closeAllConnections();
    await new Promise<void>((r) => (this.#tcp ? this.#tcp.close(() => r()) : r()));
  }

  /** Make a purchase readable here (under its purchase id, listing id and stream id). */
  add(meta: FrameMeta): void {
    if (!this.streams.has(meta.purchaseId)) this.streams.set(meta.purchaseId, { meta, clients: new Set(), frames: 0 });
  }

  remove(purchaseId: string): void {
    this.streams.delete(purchaseId);
  }

  list(): (FrameMeta & { readers: number; frames: number })[] {
    return [...this.streams.values()].map((e) => ({ ...e.meta, readers: e.clients.size, frames: e.frames }));
  }

  publish(purchaseId: string, f: { seq: number; ts: number; payload: Uint8Array }): void {
    const e = this.streams.get(purchaseId);
    if (!e) return;
    e.frames++;
    if (e.clients.size === 0) return;
    const line = recordLine(toRecord(e.meta, f));
    for (const c of e.clients) if (!c.send(line)) c.dropped++;
  }

  #resolve(id: string): Entry | undefined {
    const direct = this.streams.get(id);
    if (direct) return direct;
    for (const e of this.streams.values()) if (e.meta.listingId === id || e.meta.streamId === id) return e;
    return undefined;
  }

  #onWs(ws: WebSocket, url: string): void {
    const path = decodeURIComponent(url.split('?')[0] ?? '/');
    if (path === '/streams' || path === '/streams/') {
      ws.send(JSON.stringify(this.list()));
      ws.close(1000, 'list sent');
      return;
    }
    const m = /^\/streams\/(.+)$/.exec(path);
    const entry = m ? this.#resolve(m[1]!) : undefined;
    if (!entry) {
      ws.close(4404, 'unknown stream id');
      return;
    }
    const client: Client = {
      dropped: 0,
      send: (line) => {
        if (ws.bufferedAmount > MAX_BUFFERED) return false;
        ws.send(line.slice(0, -1));
        return true;
      },
    };
    entry.clients.add(client);
    ws.on('close', () => entry.clients.delete(client));
    ws.on('error', () => entry.clients.delete(client));
  }

  #onTcp(sock: Socket): void {
    let buf = '';
    let subscribed = false;
    let authorized = false;
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    // the token and the id must come soon: an idle connection holds nothing for long
    sock.setTimeout(10_000, () => {
      if (!subscribed) sock.destroy();
    });
    sock.on('data', (d: string) => {
      if (subscribed) return; // readers do not talk after subscribing
      buf += d;
      if (buf.length > 1024) return void sock.destroy();
      let i = buf.indexOf('\n');
      if (i < 0) return;
      if (!authorized) {
        const given = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!sameToken(given, this.token)) {
          sock.end(
            JSON.stringify({
              error: 'missing or wrong token: send the token shown by `axon status` as the first line',
            }) + '\n',
          );
          subscribed = true; // ignore the rest
          return;
        }
        authorized = true;
        i = buf.indexOf('\n');
        if (i < 0) return;
      }
      const id = buf.slice(0, i).trim();
      if (id === 'list') {
        sock.end(JSON.stringify(this.list()) + '\n');
        return;
      }
      const entry = this.#resolve(id);
      if (!entry) {
        sock.end(JSON.stringify({ error: 'unknown stream id', id }) + '\n');
        return;
      }
      subscribed = true;
      sock.setTimeout(0);
      const client: Client = {
        dropped: 0,
        send: (line) => {
          if (sock.writableLength > MAX_BUFFERED) return false;
          sock.write(line);
          return true;
        },
      };
      entry.clients.add(client);
      sock.on('close', () => entry.clients.delete(client));
    });
  }
}
