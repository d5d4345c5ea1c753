// Runs in: Node. The bridge's request guards: loopback only, an unguessable token in the path,
// and Host / Origin checks so that a web page cannot reach the API through DNS rebinding
// (its requests carry its own Host name) or cross-site requests (they carry a foreign Origin).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

export function allowedOrigins(port: number): Set<string> {
  return new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
}

export type Refusal = { status: number; message: string };

/**
 * Checks every request (and WebSocket upgrade) must pass before anything else.
 * `requireOrigin`: browsers always send Origin on WebSocket upgrades; insist on it there.
 */
export function checkRequest(
  req: IncomingMessage,
  port: number,
  token: string,
  opts: { requireOrigin?: boolean } = {},
): { ok: true; rest: string } | ({ ok: false } & Refusal) {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!allowedHosts(port).has(host)) {
    return {
      ok: false,
      status: 403,
      message: `refused: Host '${host.slice(0, 100)}' is not this machine's loopback address`,
    };
  }
  const origin = req.headers.origin;
  if (origin !== undefined || opts.requireOrigin) {
    if (!origin || !allowedOrigins(port).has(origin.toLowerCase())) {
      return {
        ok: false,
        status: 403,
        message: `refused: requests from origin '${String(origin).slice(0, 100)}' are not allowed`,
      };
    }
  }
  // The path is /t/<token>/<rest>: relative asset URLs of the UI then carry the token by themselves.
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const m = /^\/t\/([A-Za-z0-9_-]{1,128})(\/.*)?$/.exec(path);
  if (!m || !tokensEqual(m[1] ?? '', token)) {
    return {
      ok: false,
      status: 403,
      message:
        'refused: missing or wrong access token. Open the URL printed by `axon serve --ui` (it contains the token).',
    };
  }
  return { ok: true, rest: m[2] ?? '/' };
}

/** Content-Security-Policy of the UI: nothing but its own scripts, styles and API. */
export function contentSecurityPolicy(port?: number): string {
  const ws = port ? ` ws://127.0.0.1:${port} ws://localhost:${port}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
