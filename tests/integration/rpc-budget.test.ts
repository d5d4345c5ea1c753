// The RPC budget on the product path: a seller and a buyer (real nodes on loopback) each reach the
// real local ledger only through their own counting, rate-limiting RPC front (the public limits:
// 100 requests / 10 s, 40 / 10 s per method, 429 + Retry-After beyond). They list, buy, stream,
// pay and stop; the test pins the requests per method per window, then a burst of 429s: the node
// shows "rate-limited", waits as told, and the purchase still completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identity } from '../../src-main/core/identity/identity';
import type { AxonNode } from '../../src-main/core/node';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { AxonNode as Node } from '../../src-main/core/node';
import { FAST_TIMING, runCleanups, startLedger, tempDir, waitFor } from './market-helpers';
import { startRpcProxy, type RpcProxy } from '../helpers/rpc-proxy';

const SOL = 1_000_000_000n;
const PER_MIN = 60_000n;

async function nodeBehind(ledger: LocalLedger, proxy: RpcProxy, cleanups: (() => Promise<void> | void)[]) {
  const t = tempDir('axon-rpc-budget-');
  const node = await Node.start({
    dataDir: t.dir,
    identity: Identity.generate(),
    ledger: { rpcUrl: proxy.rpcUrl, wsUrl: proxy.wsUrl },
    // periods longer than one Retry-After pause (a 429 holds every request of the node back)
    timing: { ...FAST_TIMING, periodSec: 5, graceSec: 5 },
    net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
  });
  cleanups.unshift(async () => {
    await node.shutdown();
    t.cleanup();
  });
  return node;
}

describe('RPC budget through a rate-limiting front', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let ledger: LocalLedger;
  let sp: RpcProxy;
  let bp: RpcProxy;
  let seller: AxonNode;
  let buyer: AxonNode;

  beforeAll(async () => {
    const l = await startLedger();
    ledger = l.ledger;
    cleanups.push(l.cleanup);
    sp = await startRpcProxy(ledger);
    bp = await startRpcProxy(ledger);
    cleanups.unshift(
      () => sp.close(),
      () => bp.close(),
    );
    seller = await nodeBehind(ledger, sp, cleanups);
    buyer = await nodeBehind(ledger, bp, cleanups);
    await Promise.all([seller.airdrop(SOL), buyer.airdrop(SOL)]);
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('a purchase stays within the public limits, and a burst of 429s is waited out visibly', async () => {
    const start = Date.now();
    await seller.sell({
      streamId: 'adsb',
      title: 'Aircraft',
      tags: ['adsb'],
      source: { kind: 'adsb', aircraft: 2 },
      priceDirect: PER_MIN,
    });
    const listingId = `${seller.identity.address}:adsb`;
    await waitFor(() => buyer.listings().find((l) => l.id === listingId), 20_000, 'listing on the buyer');
    const frames: number[] = [];
    buyer.on('frame', (f) => frames.push(f.seq));
    const p = await buyer.buy(listingId, { minutes: 10 });
    await waitFor(
      () => seller.sale(p.id)?.paidThrough !== undefined && seller.sale(p.id)!.paidThrough >= 1,
      30_000,
      'paid',
    );

    // the endpoint starts refusing: both nodes see 429s, pause, and say so
    const before = frames.length;
    sp.refuseNext(1);
    bp.refuseNext(1);
    await waitFor(
      () => buyer.status().rpc.rateLimited && seller.status().rpc.rateLimited,
      30_000,
      'rate-limited state',
    );
    expect(buyer.status().rpc.limitedCount).toBeGreaterThanOrEqual(1);
    // ...and the purchase goes on: frames keep coming, the next periods get paid
    const paid = seller.sale(p.id)!.paidThrough;
    await waitFor(() => frames.length > before + 20, 30_000, 'frames after the 429s');
    await waitFor(() => seller.sale(p.id)!.paidThrough > paid, 30_000, 'a period paid after the 429s');
    await buyer.stop(p.id);
    const end = Date.now();

    for (const [name, px] of [
      ['seller', sp],
      ['buyer', bp],
    ] as const) {
      const per = px.byMethod(start, end);
      const maxTotal = px.maxInWindow(10_000, undefined, start, end);
      const worst = Math.max(...Object.keys(per).map((m) => px.maxInWindow(10_000, m, start, end)));
      console.log(`${name}: ${JSON.stringify(per)}; max/10 s: ${maxTotal} total, ${worst} per method`);
      // never over 40% of the public limits in any 10 s window, even while buying and selling
      expect(maxTotal, `${name} total per 10 s`).toBeLessThanOrEqual(40);
      expect(worst, `${name} per method per 10 s`).toBeLessThanOrEqual(16);
    }
    // every call the front saw went through the node's one rpc layer and was counted there (the
    // node counts a call before sending it: read the front first)
    const seen = bp.count();
    expect(buyer.status().rpc.requests).toBeGreaterThanOrEqual(seen);
    expect(buyer.status().rpc.requests).toBeLessThanOrEqual(seen + 3);
  }, 120_000);
});
