// Rate limits and flaky RPC endpoints: the client's transport retries 429 / 5xx / refused
// connections with backoff, and does not retry what cannot succeed (4xx). A rate-limiting
// front (as public RPC providers have) is put in front of the real local ledger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isSolanaError, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR } from '@solana/kit';
import { Identity } from '../../src-main/core/identity/identity';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { createRpc, RpcMeter } from '../../src-main/core/ledger/rpc';
import { silentLogger } from '../../src-main/core/log';
import { inProcessLedger, stop, tempDir, testClient } from './ledger-helpers';

let tmp: ReturnType<typeof tempDir>;
let ledger: LocalLedger;
let front: Server;
let frontUrl: string;
/** Status codes the front answers with before it forwards a request to the ledger. */
const script: number[] = [];
/** Retry-After the front sends with its scripted answers (seconds). */
let retryAfter = '0';
let seen = 0;
/** When each request reached the front (ms). */
const arrivals: number[] = [];

beforeAll(async () => {
  tmp = tempDir('axon-ledger-retry-');
  ledger = await inProcessLedger(tmp.dir);
  const target = new URL(ledger.rpcUrl);
  front = createServer((req, res) => {
    seen++;
    arrivals.push(Date.now());
    const status = script.shift();
    if (status !== undefined) {
      req.resume();
      res.writeHead(status, { 'retry-after': retryAfter, 'content-type': 'text/plain' }).end('slow down');
      return;
    }
    const fwd = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(fwd);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => front?.close(r));
  await ledger?.close();
  tmp?.cleanup();
});

describe('RPC retries', () => {
  it('retries 429 and 5xx answers, then succeeds', async () => {
    const rpc = createRpc(frontUrl, silentLogger, { attempts: 6, baseMs: 10, maxMs: 50 });
    script.push(429, 503, 429);
    seen = 0;
    const slot = await rpc.getSlot().send();
    expect(typeof slot).toBe('bigint');
    expect(seen).toBe(4);
  });

  it('a 429 with Retry-After holds back EVERY request of the client until then, and shows as rate-limited', async () => {
    const meter = new RpcMeter();
    const rpc = createRpc(frontUrl, silentLogger, { attempts: 6, baseMs: 10, maxMs: 50 }, meter);
    expect(meter.health().rateLimited).toBe(false);
    retryAfter = '1';
    script.push(429);
    arrivals.length = 0;
    const first = rpc.getSlot().send();
    // the 429 is in (however loaded the machine is)
    for (let i = 0; i < 400 && meter.health().limitedCount === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(meter.health().rateLimited).toBe(true);
    expect(meter.health().pausedUntil).not.toBeNull();
    const second = rpc.getBlockHeight().send(); // another method: waits too
    await Promise.all([first, second]);
    retryAfter = '0';
    // after the 429, nothing reached the endpoint before its Retry-After had passed
    expect(arrivals.length).toBe(3);
    expect(Math.min(arrivals[1]!, arrivals[2]!) - arrivals[0]!).toBeGreaterThanOrEqual(950);
    const h = meter.health();
    expect(h.limitedCount).toBe(1);
    expect(h.rateLimited).toBe(true); // still visible for a while after the pause
    expect(h.byMethod).toMatchObject({ getSlot: 2, getBlockHeight: 1 });
    meter.close();
    script.length = 0;
  });

  it('gives up after the configured attempts and reports the HTTP error', async () => {
    const rpc = createRpc(frontUrl, silentLogger, { attempts: 3, baseMs: 10, maxMs: 20 });
    script.push(429, 429, 429, 429);
    seen = 0;
    const err = await rpc
      .getSlot()
      .send()
      .catch((e: unknown) => e);
    expect(isSolanaError(err, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR)).toBe(true);
    expect(seen).toBe(3);
    script.length = 0;
  });

  it('does not retry a request the server refuses (4xx other than 429)', async () => {
    const rpc = createRpc(frontUrl, silentLogger, { attempts: 6, baseMs: 10, maxMs: 20 });
    script.push(403);
    seen = 0;
    await expect(rpc.getSlot().send()).rejects.toThrow();
    expect(seen).toBe(1);
  });

  it('a client behind a rate-limited endpoint still posts and reads', async () => {
    const who = Identity.generate();
    const c = testClient(who, { rpcUrl: frontUrl, wsUrl: ledger.wsUrl }, join(tmp.dir, 'rl.db'));
    script.push(429, 429);
    await c.client.airdrop(1_000_000_000n);
    const topic = await c.client.stdinTopic(who.address);
    script.push(429, 500, 429);
    const posted = await c.client.post(topic, stop('through the rate limit'));
    script.push(429);
    const signal = AbortSignal.timeout(20_000);
    for await (const r of c.client.watch(topic, { signal })) {
      expect(r.signature).toBe(posted.signature);
      break;
    }
    expect(signal.aborted).toBe(false);
    await c.close();
  });
});
