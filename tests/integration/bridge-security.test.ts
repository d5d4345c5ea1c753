// The headless UI's HTTP + WebSocket bridge on a real loopback server: what a browser page on
// another site, a DNS-rebinding attacker or a local process without the token gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import WebSocket from 'ws';
import { ApiService, type AxonBackend, type EventSink } from '../../src-main/api/service';
import { startBridge, type Bridge } from '../../src-main/bridge/server';
import type { StatusView } from '../../src-shared/contract/api';

const status: StatusView = {
  state: 'ready',
  version: 'test',
  address: '11111111111111111111111111111111',
  peerId: '12D3KooTest',
  cluster: 'local',
  dataDir: '/tmp/x',
  listenAddrs: [],
  serving: false,
  sellingPaused: false,
  buyers: 0,
  purchasesActive: 0,
};

// The bridge under test is real; behind it sits the smallest backend that answers `status`
// and emits events, so that refusals are told apart from answers.
function statusOnlyBackend(): { backend: AxonBackend; emit: EventSink } {
  const sinks = new Set<EventSink>();
  const unsupported = () => {
    throw new Error('not part of this test');
  };
  const backend = new Proxy({} as AxonBackend, {
    get(_t, prop) {
      if (prop === 'status') return () => status;
      if (prop === 'subscribe')
        return (s: EventSink) => {
          sinks.add(s);
          return () => sinks.delete(s);
        };
      return unsupported;
    },
  });
  const emit: EventSink = (event, payload) => {
    for (const s of sinks) s(event, payload);
  };
  return { backend, emit };
}

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function http(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function wsOutcome(url: string, headers: Record<string, string>): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(0));
  });
}

describe('bridge security (headless UI)', () => {
  let bridge: Bridge;
  let dir: string;
  let emit: EventSink;
  let self: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'axon-bridge-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Axon</title>');
    const b = statusOnlyBackend();
    emit = b.emit;
    bridge = await startBridge({ api: new ApiService(b.backend), staticDir: dir });
    self = `127.0.0.1:${bridge.port}`;
  });
  afterAll(async () => {
    await bridge.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const callStatus = (headers: Record<string, string>, token = bridge.token) =>
    http(bridge.port, `/t/${token}/api/call/status`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: '{"args":[]}',
    });

  it('prints a loopback URL with a long random token', () => {
    expect(bridge.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${bridge.port}/t/[A-Za-z0-9_-]{32}/$`));
  });

  it('serves the UI and answers the API with the token', async () => {
    const page = await http(bridge.port, `/t/${bridge.token}/`, { headers: { Host: self } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Axon</title>');
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
    const bare = await http(bridge.port, `/t/${bridge.token}`, { headers: { Host: self } });
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe(`/t/${bridge.token}/`);
    const api = await callStatus({ Host: self, Origin: `http://${self}` });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body)).toEqual({ ok: true, value: status });
  });

  it('refuses requests without the token or with a wrong one', async () => {
    for (const path of ['/', '/index.html', '/api/call/status', `/t/${'x'.repeat(32)}/`, `/t/${bridge.token}x/`]) {
      const r = await http(bridge.port, path, { headers: { Host: self } });
      expect(r.status, path).toBe(403);
      expect(r.body).toMatch(/token/);
    }
    const wrong = await callStatus({ Host: self }, 'A'.repeat(32));
    expect(wrong.status).toBe(403);
    expect(wrong.body).not.toContain('"ok"');
  });

  it('refuses a forged Host header (DNS rebinding) even with the token', async () => {
    for (const host of [
      `evil.example:${bridge.port}`,
      'evil.example',
      `127.0.0.1.nip.io:${bridge.port}`,
      `127.0.0.1:${bridge.port + 1}`,
    ]) {
      const page = await http(bridge.port, `/t/${bridge.token}/`, { headers: { Host: host } });
      expect(page.status, host).toBe(403);
      const api = await callStatus({ Host: host });
      expect(api.status, host).toBe(403);
      expect(api.body).toMatch(/Host/);
    }
  });

  it('refuses a foreign Origin even with the token', async () => {
    for (const origin of ['http://evil.example', `http://evil.example:${bridge.port}`, 'null', `https://${self}`]) {
      const api = await callStatus({ Host: self, Origin: origin });
      expect(api.status, origin).toBe(403);
      expect(api.body).toMatch(/origin/);
    }
  });

  it('refuses WebSocket upgrades without the token, from a foreign Origin, or with a forged Host', async () => {
    const good = `ws://${self}/t/${bridge.token}/api/events`;
    expect(await wsOutcome(good, { Origin: `http://${self}` })).toBe('open');
    expect(await wsOutcome(`ws://${self}/t/${'B'.repeat(32)}/api/events`, { Origin: `http://${self}` })).toBe(403);
    expect(await wsOutcome(good, { Origin: 'http://evil.example' })).toBe(403);
    expect(await wsOutcome(good, {})).toBe(403);
    expect(await wsOutcome(good, { Origin: `http://${self}`, Host: 'evil.example' })).toBe(403);
  });

  it('delivers events to an accepted WebSocket', async () => {
    const ws = new WebSocket(`ws://${self}/t/${bridge.token}/api/events`, { headers: { Origin: `http://${self}` } });
    await new Promise((r) => ws.on('open', r));
    const got = new Promise<unknown>((r) => ws.once('message', (m) => r(JSON.parse(String(m)))));
    emit('notice', { level: 'info', title: 'hello', message: 'world' });
    expect(await got).toEqual({ event: 'notice', payload: { level: 'info', title: 'hello', message: 'world' } });
    ws.close();
  });

  it('refuses non-JSON posts (no cross-site form submissions) and never escapes the UI folder', async () => {
    const form = await http(bridge.port, `/t/${bridge.token}/api/call/status`, {
      method: 'POST',
      headers: { Host: self, 'Content-Type': 'text/plain' },
      body: '{"args":[]}',
    });
    expect(form.status).toBe(415);
    for (const p of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd']) {
      const r = await http(bridge.port, `/t/${bridge.token}${p}`, { headers: { Host: self } });
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('root:');
    }
  });

  it('validates arguments before they reach the node', async () => {
    const r = await http(bridge.port, `/t/${bridge.token}/api/call/airdrop`, {
      method: 'POST',
      headers: { Host: self, 'Content-Type': 'application/json' },
      body: '{"args":[-5]}',
    });
    const body = JSON.parse(r.body);
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe('invalid-argument');
    expect(body.error.message).toMatch(/more than 0 SOL/);
  });
});
