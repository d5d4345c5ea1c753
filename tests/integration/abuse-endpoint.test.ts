// The buyer's local endpoint against what a web page or another local program can try: a real
// seller and buyer on the real local ledger, the buyer serving its purchase on its endpoint.
// Without the token (kept in the data dir) nothing is served, a page from another site is refused
// even with the token, and the user's own reader gets the frames (docs/security.md, "Local endpoint").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { AxonNode } from '../../src-main/core/node';
import { runCleanups, startLedger, startNode, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;

/** 'open' with the first message, or the HTTP status of the refused upgrade. */
function wsTry(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number | 'open'; first?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('message', (m) => {
      resolve({ status: 'open', first: String(m) });
      ws.terminate();
    });
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('error', () => resolve({ status: 0 }));
  });
}

/** Everything a TCP reader gets within `ms` after writing `text`. */
function tcpTry(port: number, text: string, ms = 1500): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (got += d));
    sock.on('error', () => undefined);
    sock.write(text);
    const done = (): void => {
      sock.destroy();
      resolve(got);
    };
    sock.on('close', done);
    setTimeout(done, ms);
  });
}

describe("the buyer's local endpoint", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let seller: AxonNode;
  let buyer: AxonNode;
  let buyerDir: string;
  let purchaseId: string;

  beforeAll(async () => {
    const l = await startLedger();
    cleanups.push(l.cleanup);
    const s = await startNode(l.ledger, { airdrop: SOL });
    const b = await startNode(l.ledger, { airdrop: SOL });
    cleanups.unshift(s.cleanup, b.cleanup);
    seller = s.node;
    buyer = b.node;
    buyerDir = b.dataDir;
    await seller.sell({ streamId: 'wx', title: 'Weather', source: { kind: 'weather', hz: 10 }, priceDirect: 1000n });
    const id = `${seller.identity.address}:wx`;
    await waitFor(() => buyer.listings().find((l) => l.id === id), 15_000, 'listing');
    purchaseId = (await buyer.buy(id, { minutes: 5, serve: true })).id;
    await waitFor(() => (buyer.purchase(purchaseId)?.frames ?? 0) > 0, 20_000, 'frames');
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('keeps its token in the data dir, readable by the user only, and shows it in the node status', () => {
    const ep = buyer.status().endpoint!;
    const file = join(buyerDir, 'endpoint-token');
    expect(readFileSync(file, 'utf8').trim()).toBe(ep.token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('serves nothing over WebSocket without the right token (before the fix: the frames)', async () => {
    const { wsPort, token } = buyer.status().endpoint!;
    const url = `ws://127.0.0.1:${wsPort}/streams/${purchaseId}`;
    expect((await wsTry(url)).status).toBe(401);
    expect((await wsTry(`${url}?token=wrong${token.slice(5)}`)).status).toBe(401);
    expect((await wsTry(`ws://127.0.0.1:${wsPort}/streams`)).status).toBe(401);
    const list = await fetch(`http://127.0.0.1:${wsPort}/streams`);
    expect(list.status).toBe(401);
  });

  it('refuses a page from another site even with the token, and a rebinding Host', async () => {
    const { wsPort, token } = buyer.status().endpoint!;
    const url = `ws://127.0.0.1:${wsPort}/streams/${purchaseId}?token=${token}`;
    expect((await wsTry(url, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await wsTry(url, { Host: `evil.example:${wsPort}` })).status).toBe(403);
    // a page the user serves on this machine may read with the token
    const local = await wsTry(url, { Origin: 'http://localhost:3000' });
    expect(local.status).toBe('open');
  });

  it('serves nothing over TCP unless the first line is the token (before the fix: the frames)', async () => {
    const { tcpPort, token } = buyer.status().endpoint!;
    const refused = await tcpTry(tcpPort, `${purchaseId}\n`);
    expect(refused).toMatch(/missing or wrong token/);
    expect(refused).not.toMatch(/"seq"/);
    const served = await tcpTry(tcpPort, `${token}\n${purchaseId}\n`, 3000);
    expect(JSON.parse(served.split('\n')[0]!)).toMatchObject({ streamId: 'wx', seq: expect.any(Number) });
  });

  it('closes a TCP connection that sends no token within 10 s', async () => {
    const { tcpPort } = buyer.status().endpoint!;
    const sock = connect(tcpPort, '127.0.0.1');
    sock.on('error', () => undefined);
    const closed = await new Promise<boolean>((resolve) => {
      sock.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 15_000);
    });
    sock.destroy();
    expect(closed).toBe(true);
  });

  it("serves the user's own reader that presents the token", async () => {
    const { wsPort, token } = buyer.status().endpoint!;
    const got = await wsTry(`ws://127.0.0.1:${wsPort}/streams/${purchaseId}?token=${token}`);
    expect(got.status).toBe('open');
    expect(JSON.parse(got.first!)).toMatchObject({ streamId: 'wx', seq: expect.any(Number) });
  });
});
