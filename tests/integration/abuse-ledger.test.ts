// The local ledger against abusive clients on loopback: a pubsub socket that never reads, too many
// subscriptions on one socket, too many sockets from one address, and web pages (an Origin
// header). Each bound holds and honest @solana/kit clients keep being served
// (docs/security.md, "Local ledger").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Socket } from 'node:net';
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from '@solana/kit';
import {
  MAX_CONNECTIONS_PER_IP,
  MAX_SUBSCRIPTIONS_PER_SOCKET,
  MAX_UNSENT_BYTES,
} from '../../src-main/local-ledger/pubsub';
import { airdrop, memoIx, SOL, startTestLedger, type TestLedger } from './local-ledger-helpers';

let t: TestLedger;

beforeAll(async () => {
  t = await startTestLedger({ dirPrefix: 'axon-abuse-ledger-', payerLamports: 10n * SOL });
});
afterAll(async () => {
  await t?.close();
});

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** Sends JSON-RPC requests on `ws` and collects the answers by id. */
function rpcOn(
  ws: WebSocket,
): (method: string, params: unknown[]) => Promise<{ result?: unknown; error?: { message: string } }> {
  let next = 1;
  const waiting = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    if (typeof m.id === 'number') waiting.get(m.id)?.(m);
  });
  return (method, params) =>
    new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
}

/** The honest path still works: a kit airdrop, confirmed through a fresh pubsub subscription. */
async function honestClientServed(): Promise<void> {
  const who = await generateKeyPairSigner();
  await airdrop(t.rpc, t.subs, who.address, 1_000_000n);
  expect((await t.rpc.getBalance(who.address).send()).value).toBe(1_000_000n);
}

describe('local ledger bounds', () => {
  it(`refuses subscription ${MAX_SUBSCRIPTIONS_PER_SOCKET + 1} on one socket with a JSON-RPC error`, async () => {
    const ws = await open(t.ledger.wsUrl);
    const call = rpcOn(ws);
    const ids: unknown[] = [];
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_SOCKET; i++) ids.push((await call('slotSubscribe', [])).result);
    expect(ids.every((id) => typeof id === 'number')).toBe(true);
    const over = await call('slotSubscribe', []);
    // before the fix: any number of subscriptions, each one more notification per slot
    expect(over.error?.message).toMatch(/Too many subscriptions/);
    // unsubscribing frees a place
    expect((await call('slotUnsubscribe', [ids[0]])).result).toBe(true);
    expect((await call('slotSubscribe', [])).result).toEqual(expect.any(Number));
    ws.close();
    await honestClientServed();
  });

  it('closes a socket that never reads once its unsent notifications pass the bound; others are served', async () => {
    const ws = await open(t.ledger.wsUrl);
    const call = rpcOn(ws);
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_SOCKET; i++) {
      await call('logsSubscribe', ['all', { commitment: 'processed' }]);
    }
    let closed = false;
    let received = 0;
    ws.on('message', (d: Buffer) => (received += d.length));
    ws.on('close', () => (closed = true));
    const socket = (ws as unknown as { _socket: Socket })._socket;
    socket.pause(); // never read again (until the end of the test)

    // each memo of ~800 bytes shows up in the logs of every 'all' subscription: ~100 kB per
    // transaction for this socket; send ~5× the bound plus what the kernel's buffers hold
    const { value: bh } = await t.rpc.getLatestBlockhash().send();
    const text = 'x'.repeat(800);
    const total = Math.ceil((5 * MAX_UNSENT_BYTES + 16 * 1024 * 1024) / (MAX_SUBSCRIPTIONS_PER_SOCKET * 900));
    for (let i = 0; i < total; i++) {
      const msg = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(t.payer, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(bh, m),
        (m) => appendTransactionMessageInstructions([memoIx(t.payer.address, `${i} ${text}`)], m),
      );
      const tx = await signTransactionMessageWithSigners(msg);
      await t.rpc.sendTransaction(getBase64EncodedWireTransaction(tx), { encoding: 'base64' }).send();
    }
    const sent = total * MAX_SUBSCRIPTIONS_PER_SOCKET * 900;
    await honestClientServed(); // served while the slow socket is stuck

    // read what reached this client: it was cut, not sent everything (before the fix: all of it)
    socket.resume();
    const end = Date.now() + 20_000;
    while (!closed && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(true);
    expect(received).toBeLessThan(sent / 2);
  });

  it(`refuses connection ${MAX_CONNECTIONS_PER_IP + 1} from one address (HTTP 429)`, async () => {
    const held: WebSocket[] = [];
    try {
      let over = '';
      // the test's own kit client may hold a connection already: open until refused
      for (let i = 0; i <= MAX_CONNECTIONS_PER_IP && !over; i++) {
        await open(t.ledger.wsUrl).then(
          (ws) => held.push(ws),
          (e: Error) => (over = e.message),
        );
      }
      // before the fix: every connection accepted
      expect(held.length).toBeLessThanOrEqual(MAX_CONNECTIONS_PER_IP);
      expect(held.length).toBeGreaterThanOrEqual(MAX_CONNECTIONS_PER_IP - 2);
      expect(over).toBe('HTTP 429');
    } finally {
      for (const ws of held) ws.close();
    }
    await new Promise((r) => setTimeout(r, 200));
    await honestClientServed();
  });

  it('refuses web pages: an Origin header gets 403 on HTTP and on the WebSocket', async () => {
    const res = await fetch(t.ledger.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'requestAirdrop', params: [t.payer.address, 1000] }),
    });
    // before the fix: 200 with CORS '*', so any page could drive the ledger and read the answer
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await expect(open(t.ledger.wsUrl, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    await honestClientServed();
  });
});
