// Request pacing (ledger/rpc.ts RpcPacer): a node spends its RPC requests from token buckets sized
// from its settings instead of only recovering from 429s. Against a counting, rate-limiting front
// of the real local ledger (10 calls of one method per 10 s), a burst of reads from an unpaced
// client gets 429s; the same burst from a client paced at 8 per method per 10 s never does, and no
// 10 s window carries more than the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Identity } from '../../src-main/core/identity/identity';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import { startRpcProxy, type RpcProxy } from '../helpers/rpc-proxy';
import { tempDir, testClient, type TestClient } from './ledger-helpers';

const LIMITS = { windowMs: 10_000, perMethod: 10, total: 100, retryAfterSec: 1 };
const BURST = 12;

let tmp: ReturnType<typeof tempDir>;
let ledger: LocalLedger;
const proxies: RpcProxy[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  tmp = tempDir('axon-rpc-pacing-');
  ledger = await startLocalLedger({ port: 0, dataDir: join(tmp.dir, 'ledger') });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(proxies.map((p) => p.close()));
  await ledger?.close();
  tmp?.cleanup();
});

async function behindProxy(name: string, opts: Parameters<typeof testClient>[3]) {
  const proxy = await startRpcProxy(ledger, LIMITS);
  proxies.push(proxy);
  const c = testClient(
    Identity.generate(),
    { rpcUrl: proxy.rpcUrl, wsUrl: proxy.wsUrl },
    join(tmp.dir, `${name}.db`),
    opts,
  );
  clients.push(c);
  return { proxy, c };
}

describe('request pacing', () => {
  it('an unpaced burst runs into the limiter (what pacing prevents)', async () => {
    const { proxy, c } = await behindProxy('unpaced', { pacing: false });
    // some reads even give up after their retries: the limiter's window outlasts them
    await Promise.allSettled(Array.from({ length: BURST }, () => c.client.balance(Identity.generate().address)));
    expect(proxy.count({ method: 'getBalance', limited: true })).toBeGreaterThan(0);
  }, 60_000);

  it('a paced burst stays within the limits: no 429, every read answered, visible in the RPC health', async () => {
    const { proxy, c } = await behindProxy('paced', { pacing: { requestsPer10s: 60, perMethodPer10s: 8 } });
    const answers = await Promise.all(
      Array.from({ length: BURST }, () => c.client.balance(Identity.generate().address)),
    );
    expect(answers).toHaveLength(BURST);
    expect(proxy.count({ method: 'getBalance', limited: true })).toBe(0);
    expect(proxy.count({ method: 'getBalance' })).toBe(BURST);
    expect(proxy.maxInWindow(LIMITS.windowMs, 'getBalance')).toBeLessThanOrEqual(LIMITS.perMethod);
    const h = c.client.rpcHealth();
    expect(h.rateLimited).toBe(false);
    expect(h.pacing).toMatchObject({ requestsPer10s: 60, perMethodPer10s: 8 });
    expect(h.pacing!.paced).toBeGreaterThan(0);
  }, 60_000);
});
