// A counting, rate-limiting RPC front (HTTP JSON-RPC + WebSocket pubsub) put in front of the real
// local ledger, as a public RPC provider is: it counts every JSON-RPC call per method (a batch
// counts each call) with its time, answers 429 with Retry-After when a method exceeds its limit in
// the sliding window (or the total does), and can be told to refuse the next requests outright.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface ProxyLimits {
  windowMs: number;
  perMethod: number;
  total: number;
  /** Retry-After seconds sent with a 429. */
  retryAfterSec: number;
}
export const PUBLIC_LIMITS: ProxyLimits = { windowMs: 10_000, perMethod: 40, total: 100, retryAfterSec: 1 };

export interface Call {
  at: number;
  method: string;
  /** Answered 429 instead of forwarded. */
  limited: boolean;
}

export interface RpcProxy {
  rpcUrl: string;
  wsUrl: string;
  calls: Call[];
  /** WebSocket subscription calls (logsSubscribe, signatureSubscribe, …). */
  wsCalls: Call[];
  /** Refuse the next `n` HTTP requests with 429 (whatever the limits). */
  refuseNext(n: number): void;
  /** Calls of `method` (all methods when omitted) forwarded in [from, to). */
  count(o?: { method?: string; from?: number; to?: number; limited?: boolean }): number;
  /** The most calls (of `method`, or in total) forwarded in any window of `windowMs`. */
  maxInWindow(windowMs: number, method?: string, from?: number, to?: number): number;
  byMethod(from?: number, to?: number): Record<string, number>;
  close(): Promise<void>;
}

export async function startRpcProxy(
  target: { rpcUrl: string; wsUrl: string },
  limits: ProxyLimits = PUBLIC_LIMITS,
): Promise<RpcProxy> {
  const up = new URL(target.rpcUrl);
  const calls: Call[] = [];
  const wsCalls: Call[] = [];
  let refuse = 0;
  const inWindow = (now: number, method?: string): number => {
    let n = 0;
    for (let i = calls.length - 1; i >= 0; i--) {
      const c = calls[i]!;
      if (c.at <= now - limits.windowMs) break;
      if (!c.limited && (method === undefined || c.method === method)) n++;
    }
    return n;
  };
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let methods: string[] = ['?'];
      try {
        const msg = JSON.parse(body.toString()) as { method?: string } | { method?: string }[];
        methods = (Array.isArray(msg) ? msg : [msg]).map((m) => String(m?.method ?? '?'));
      } catch {
        /* forwarded as is: the ledger answers the parse error */
      }
      const now = Date.now();
      const over =
        refuse > 0 ||
        inWindow(now) + methods.length > limits.total ||
        methods.some((m) => inWindow(now, m) + 1 > limits.perMethod);
      for (const m of methods) calls.push({ at: now, method: m, limited: over });
      if (over) {
        if (refuse > 0) refuse--;
        res.writeHead(429, { 'retry-after': String(limits.retryAfterSec), 'content-type': 'text/plain' });
        res.end('Too many requests');
        return;
      }
      const fwd = request(
        { host: up.hostname, port: up.port, method: 'POST', path: up.pathname, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      fwd.on('error', () => res.writeHead(502).end());
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', r));
  wss.on('connection', (client) => {
    const server = new WebSocket(target.wsUrl);
    const pending: (Buffer | string)[] = [];
    server.on('open', () => {
      for (const m of pending.splice(0)) server.send(m);
    });
    server.on('message', (d, isBinary) => client.readyState === WebSocket.OPEN && client.send(d, { binary: isBinary }));
    server.on('close', () => client.close());
    server.on('error', () => client.close());
    client.on('message', (d: Buffer) => {
      try {
        const msg = JSON.parse(d.toString()) as { method?: string };
        wsCalls.push({ at: Date.now(), method: String(msg.method ?? '?'), limited: false });
      } catch {
        /* forwarded as is */
      }
      if (server.readyState === WebSocket.OPEN) server.send(d.toString());
      else pending.push(d.toString());
    });
    client.on('close', () => server.close());
    client.on('error', () => server.close());
  });
  const inRange = (c: Call, from = 0, to = Infinity): boolean => c.at >= from && c.at < to;
  return {
    rpcUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    wsUrl: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    calls,
    wsCalls,
    refuseNext: (n) => void (refuse += n),
    count: (o = {}) =>
      calls.filter(
        (c) =>
          inRange(c, o.from, o.to) &&
          (o.method === undefined || c.method === o.method) &&
          (o.limited === undefined || c.limited === o.limited),
      ).length,
    maxInWindow(windowMs, method, from = 0, to = Infinity) {
      const xs = calls.filter((c) => !c.limited && inRange(c, from, to) && (!method || c.method === method));
      let best = 0;
      for (let i = 0, j = 0; i < xs.length; i++) {
        while (xs[i]!.at - xs[j]!.at >= windowMs) j++;
        best = Math.max(best, i - j + 1);
      }
      return best;
    },
    byMethod(from, to) {
      const out: Record<string, number> = {};
      for (const c of calls) if (!c.limited && inRange(c, from, to)) out[c.method] = (out[c.method] ?? 0) + 1;
      return out;
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}
