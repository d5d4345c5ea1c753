// Runs in: Node. The headless UI: the app API over HTTP + WebSocket, and the renderer build, on
// loopback only. Layout under http://127.0.0.1:<port>/t/<token>/ :
//   GET  /                    the UI (index.html and its assets, relative URLs)
//   POST /api/call/<command>  body {"args": [...]} → ApiResult JSON
//   GET  /api/events          WebSocket: {"event": name, "payload": ...} per event
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiService } from '../api/service';
import { checkRequest, newToken } from './security';
import { securityHeaders, serveStatic } from './static';

export interface BridgeOptions {
  api: ApiService;
  /** 0 = any free port. */
  port?: number;
  /** The renderer build to serve (out/renderer). */
  staticDir: string;
  /** Defaults to a fresh random token. */
  token?: string;
  log?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export interface Bridge {
  readonly port: number;
  readonly token: string;
  /** The URL to open (contains the token). */
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
/** A WebSocket client this far behind gets no more frame events until it catches up. */
const MAX_BUFFERED = 4 * 1024 * 1024;

function refuse(res: ServerResponse, status: number, message: string, port: number): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...securityHeaders(port) });
  res.end(message + '\n');
}

/** Past this much an oversized body is no longer drained: the connection is dropped. */
const MAX_DRAIN = 64 * 1024 * 1024;

class BodyTooLarge extends Error {}

/** The request body; past MAX_BODY it is read to its end and thrown away (then a 413 is sent). */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        chunks.length = 0;
        if (size > MAX_DRAIN) req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () =>
      size > MAX_BODY
        ? reject(new BodyTooLarge(`request body larger than ${MAX_BODY} bytes`))
        : resolve(Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const token = opts.token ?? newToken();
  let port = opts.port ?? 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const check = checkRequest(req, port, token);
    if (!check.ok) {
      opts.log?.warn(
        { url: redact(req.url), host: req.headers.host, origin: req.headers.origin },
        'bridge: refused request',
      );
      return refuse(res, check.status, check.message, port);
    }
    const rest = check.rest;
    if (!(req.url ?? '').split('?')[0]!.endsWith('/') && rest === '/') {
      // /t/<token> → /t/<token>/ so that the UI's relative asset URLs resolve under the token.
      res.writeHead(308, { Location: `${(req.url ?? '').split('?')[0]}/`, ...securityHeaders(port) });
      res.end();
      return;
    }
    if (rest.startsWith('/api/call/')) {
      if (req.method !== 'POST') return refuse(res, 405, 'use POST', port);
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return refuse(res, 415, 'Content-Type must be application/json', port);
      }
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (e) {
        if (e instanceof BodyTooLarge) {
          res.setHeader('Connection', 'close');
          return refuse(res, 413, e.message, port);
        }
        return refuse(res, 400, `bad request body: ${(e as Error).message}`, port);
      }
      const command = rest.slice('/api/call/'.length);
      const args = (body as { args?: unknown } | null)?.args ?? [];
      const result = await opts.api.call(command, args);
      const json = JSON.stringify(result);
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        ...securityHeaders(port),
      });
      res.end(json);
      return;
    }
    if (rest.startsWith('/api/')) return refuse(res, 404, 'no such API path', port);
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'use GET', port);
    serveStatic(opts.staticDir, rest, res, port);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      opts.log?.warn({ err: (e as Error).message }, 'bridge: request failed');
      if (!res.headersSent) refuse(res, 500, 'internal error', port);
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const check = checkRequest(req, port, token, { requireOrigin: true });
    if (!check.ok || check.rest !== '/api/events') {
      const status = check.ok ? 404 : check.status;
      opts.log?.warn(
        { url: redact(req.url), host: req.headers.host, origin: req.headers.origin },
        'bridge: refused WebSocket',
      );
      socket.end(`HTTP/1.1 ${status} Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.on('error', () => clients.delete(ws));
      // The client never needs to send anything; ignore whatever it sends.
    });
  });

  const unsubscribe = opts.api.subscribe((event, payload) => {
    if (clients.size === 0) return;
    const msg = JSON.stringify({ event, payload });
    for (const ws of clients) {
      if (ws.readyState !== ws.OPEN) continue;
      if (event === 'frames' && ws.bufferedAmount > MAX_BUFFERED) continue;
      ws.send(msg);
    }
  });

  const ping = setInterval(() => {
    for (const ws of clients) ws.ping();
  }, 30_000);
  ping.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/t/${token}/`;
  opts.log?.info({ port }, 'bridge: listening on loopback');

  return {
    port,
    token,
    url,
    close: async () => {
      clearInterval(ping);
      unsubscribe();
      for (const ws of clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A request URL fit for the log: the path token and every query value replaced. */
export function redact(url: string | undefined): string {
  const u = (url ?? '').slice(0, 2048);
  const q = u.indexOf('?');
  const path = (q < 0 ? u : u.slice(0, q)).replace(/\/t\/[^/]+/, '/t/<token>');
  if (q < 0) return path;
  const query = u
    .slice(q + 1)
    .split('&')
    .map((kv) => `${kv.split('=')[0]!.slice(0, 64)}=<redacted>`)
    .join('&');
  return `${path}?${query}`;
}
