// Runs in: Node. Serves the renderer build (out/renderer) to the headless UI: only files under
// the build directory, with the security headers of the Electron window.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { ServerResponse } from 'node:http';
import { contentSecurityPolicy } from './security';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(port),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

export function serveStatic(root: string, rest: string, res: ServerResponse, port: number): void {
  const base = resolve(root);
  const index = join(base, 'index.html');
  if (!existsSync(index)) {
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', ...securityHeaders(port) });
    res.end(`The UI is not built (no ${index}). Run \`npm run build\`, then start again.\n`);
    return;
  }
  let rel: string;
  try {
    rel = decodeURIComponent(rest);
  } catch {
    rel = '/';
  }
  const file = rel === '/' || rel === '' ? index : resolve(base, '.' + normalize(rel));
  const inside = file === base || file.startsWith(base + sep);
  if (!inside || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...securityHeaders(port) });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': file === index ? 'no-store' : 'max-age=3600',
    ...securityHeaders(port),
  });
  createReadStream(file).pipe(res);
}
