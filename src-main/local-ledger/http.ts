// Runs in: Node. The JSON-RPC HTTP endpoint (POST /), as Agave serves it: JSON-RPC errors with
// HTTP 200, GET /health. Bodies over the limit get HTTP 413 with a JSON-RPC error; the connection
// is drained, not trusted, and the server keeps serving. Unlike Agave there is no CORS: a request
// from a web page (it carries an Origin header) is refused with 403 — on the HTTP side and on the
// pubsub WebSocket — so that a page the user opens cannot drive the user's ledger.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errorResponse, INVALID_REQUEST, RpcError, stringifyJson } from './rpc-errors';
import type { RpcDispatcher } from './rpc';

export const MAX_BODY_BYTES = 1024 * 1024;
/** Past this much we stop draining an oversized request and drop the connection. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Why a request with this Origin header is refused, or null to serve it. Browsers send Origin on
 * cross-origin requests and on every WebSocket upgrade; Node clients (@solana/kit, web3.js, the
 * Axon node) send none. 'null' (sandboxed pages, file://) is a browser too.
 */
export function originRefusal(origin: string | undefined): string | null {
  if (origin === undefined) return null;
  return `Requests from web pages are not served by the local ledger (Origin '${origin.slice(0, 100)}')`;
}

function send(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

export function createRpcHttpServer(dispatcher: RpcDispatcher, log: Logger, maxBody = MAX_BODY_BYTES): Server {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const refused = originRefusal(req.headers.origin);
    if (refused) {
      log.debug({ origin: String(req.headers.origin).slice(0, 100) }, 'local ledger: origin refused');
      send(res, 403, stringifyJson(errorResponse(null, new RpcError(INVALID_REQUEST, refused))));
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { Allow: 'POST, OPTIONS' });
      res.end();
      return;
    }
    if (req.method === 'GET' && (req.url === '/health' || req.url?.startsWith('/health?'))) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'Content-Type': 'text/plain' });
      res.end('Used HTTP Method is not allowed. POST or OPTIONS is required');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const refuseOversized = (): void =>
      send(
        res,
        413,
        stringifyJson(
          errorResponse(null, new RpcError(INVALID_REQUEST, `Invalid request: body larger than ${maxBody} bytes`)),
        ),
        { Connection: 'close' },
      );
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) {
        tooLarge = true;
        chunks.length = 0;
        if (size > MAX_DRAIN_BYTES) {
          refuseOversized();
          req.destroy();
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      /* client went away */
    });
    req.on('end', () => {
      if (tooLarge) {
        log.debug({ size }, 'local ledger: oversized request refused');
        refuseOversized();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      dispatcher.handleBody(body).then(
        (out) => send(res, 200, out),
        (e: unknown) => {
          log.error({ err: (e as Error)?.message }, 'local ledger: request failed');
          send(res, 200, stringifyJson(errorResponse(null, e)));
        },
      );
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    else socket.destroy();
  });
  return server;
}
