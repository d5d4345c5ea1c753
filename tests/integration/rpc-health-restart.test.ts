// The RPC counts a user wants after a restart (issue 13 §3): a node paced under tight limits in
// front of a rate-limiting RPC front gets a 429 and has requests held back by its pacer; it is
// shut down and started again on the same data dir, and `axon status` (another process, no node
// running) still shows the 429 and the pacer's waits of the first run, summed over both runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identity } from '../../src-main/core/identity/identity';
import { AxonNode } from '../../src-main/core/node';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { runCleanups, startLedger, tempDir } from './market-helpers';
import { startRpcProxy, type RpcProxy } from '../helpers/rpc-proxy';
import { axonAsync } from '../helpers/cli';

describe('RPC health across a restart', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let ledger: LocalLedger;
  let proxy: RpcProxy;
  let dir: string;

  beforeAll(async () => {
    const l = await startLedger();
    ledger = l.ledger;
    cleanups.push(l.cleanup);
    proxy = await startRpcProxy(ledger);
    cleanups.unshift(() => proxy.close());
    const t = tempDir('axon-rpc-restart-');
    dir = t.dir;
    cleanups.push(t.cleanup);
  });
  afterAll(async () => runCleanups(cleanups));

  const start = (): Promise<AxonNode> =>
    AxonNode.start({
      dataDir: dir,
      identity: Identity.generate(),
      ledger: { rpcUrl: proxy.rpcUrl, wsUrl: proxy.wsUrl },
      // 8 calls of one method per 10 s (a burst of 2): a burst of reads waits for its turn
      settings: { rpcPacing: { requestsPer10s: 60, perMethodPer10s: 8 } },
      net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
    });

  it('429s and paced requests of an earlier run are still in `axon status`', async () => {
    const first = await start();
    try {
      proxy.refuseNext(1);
      await Promise.all(Array.from({ length: 5 }, () => first.ledger.balance(Identity.generate().address)));
      const h = first.status().rpc;
      expect(h.limitedCount).toBe(1);
      expect(h.pacing!.paced).toBeGreaterThan(0);
    } finally {
      await first.shutdown();
    }
    const second = await start();
    expect(second.status().rpc.limitedCount).toBe(0); // this run's own count starts again
    await second.shutdown();

    const r = await axonAsync(['--data-dir', dir, 'status']);
    expect(r.status, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('rpc '));
    expect(line).toMatch(/in all runs 1 rate-limited \(429\), the last .*, [1-9]\d* paced \(waited \d+(\.\d)? s\)/);
    const json = JSON.parse((await axonAsync(['--data-dir', dir, 'status', '--json'])).stdout) as {
      rpc: { limitedTotal: number; pacedTotal: number; waitedTotalMs: number };
    };
    expect(json.rpc.limitedTotal).toBe(1);
    expect(json.rpc.pacedTotal).toBeGreaterThan(0);
    expect(json.rpc.waitedTotalMs).toBeGreaterThan(0);
  }, 90_000);
});
