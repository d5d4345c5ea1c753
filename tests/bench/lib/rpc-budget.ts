// Benchmark section (issue 13 §1): the RPC budget of a node, counted by a rate-limiting RPC front
// (tests/helpers/rpc-proxy.ts, the public limits) in front of the in-process local ledger.
//  - idle node: a node that neither sells nor buys, over RPC_BENCH_IDLE_SEC (default 120) after
//    its start-up: average requests/s (goal ≤ 1) and the most in any 10 s window, in total (goal
//    ≤ 40% of 100) and per method (goal ≤ 40% of 40);
//  - joining a market with RPC_BENCH_PAST (default 1000) past listings (posted two days ago, on
//    the ledger's clock) and 50 live ones: the requests a new node makes until its catalog is
//    caught up (goal ≤ 200).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalLedger } from '../../../src-main/local-ledger/index';
import { AxonNode } from '../../../src-main/core/node';
import { Identity } from '../../../src-main/core/identity/identity';
import { createLedgerClient } from '../../../src-main/core/ledger/client';
import { expiresIn, newNonce } from '../../../src-main/core/ledger/messages';
import type { AxonMessage } from '../../../src-main/core/ledger/types';
import { openDb } from '../../../src-main/core/store/db';
import { startRpcProxy } from '../../helpers/rpc-proxy';

interface Row {
  measurement: string;
  value: number;
  unit: string;
  note?: string;
}

const IDLE_SEC = Number(process.env.RPC_BENCH_IDLE_SEC ?? 120);
const PAST = Number(process.env.RPC_BENCH_PAST ?? 1000);
const LIVE = 50;
const POSTERS = 10;

function listing(i: number, ttlSec: number): AxonMessage {
  return {
    type: 'Listing',
    nonce: newNonce(),
    expiresAt: expiresIn(ttlSec),
    streamId: `s${i}`,
    title: `Stream ${i}`,
    description: 'bench listing',
    tags: ['bench'],
    format: 'application/x-ndjson',
    rateMilliHz: 1000,
    priceDirect: 60_000n,
    periodSec: 60,
    healthy: true,
    roles: [],
  } as AxonMessage;
}

async function startNode(dir: string, rpc: { rpcUrl: string; wsUrl: string }): Promise<AxonNode> {
  return AxonNode.start({
    dataDir: dir,
    identity: Identity.generate(),
    ledger: rpc,
    endpoint: false,
    net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
    settings: { roles: { relay: 'off', reflector: 'off' } } as never,
  });
}

export async function rpcBudget(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-rpc-'));
  const ledger = await startLocalLedger({ port: 0, dataDir: join(dir, 'ledger'), slotMs: 100 });
  const rows: Row[] = [];
  try {
    // ---- idle node ----
    const idleProxy = await startRpcProxy(ledger);
    const idle = await startNode(join(dir, 'idle'), idleProxy);
    await new Promise((r) => setTimeout(r, 15_000)); // start-up (first syncs, announce) is not idle
    const from = Date.now();
    await new Promise((r) => setTimeout(r, IDLE_SEC * 1000));
    const to = Date.now();
    const per = idleProxy.byMethod(from, to);
    const total = Object.values(per).reduce((a, b) => a + b, 0);
    const maxTotal = idleProxy.maxInWindow(10_000, undefined, from, to);
    const worst = Object.keys(per)
      .map((m) => [m, idleProxy.maxInWindow(10_000, m, from, to)] as const)
      .sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
    const ws = idleProxy.wsCalls.filter((c) => c.at >= from && c.at < to).length;
    rows.push(
      {
        measurement: 'idle node: requests/s (average)',
        value: total / ((to - from) / 1000),
        unit: 'req/s',
        note: `${total} in ${IDLE_SEC} s: ${JSON.stringify(per)}; +${ws} WS calls; goal ≤ 1`,
      },
      {
        measurement: 'idle node: most requests in a 10 s window',
        value: maxTotal,
        unit: 'req',
        note: 'goal ≤ 40 (40% of 100)',
      },
      {
        measurement: 'idle node: most requests of one method in a 10 s window',
        value: worst[1],
        unit: 'req',
        note: `${worst[0]}; goal ≤ 16 (40% of 40)`,
      },
    );
    await idle.shutdown();
    await idleProxy.close();

    // ---- joining a market: PAST old listings, LIVE live ones ----
    const realNow = Date.now;
    const posters = await Promise.all(
      Array.from({ length: POSTERS }, async (_, i) => {
        const id = Identity.generate();
        const db = openDb(join(dir, `poster${i}.db`));
        const c = createLedgerClient({ identity: id, rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl, db });
        await c.airdrop(10_000_000_000n);
        return { c, db };
      }),
    );
    const topic = await posters[0]!.c.marketTopic('main');
    const postAll = async (n: number, ttlSec: number): Promise<void> => {
      let next = 0;
      await Promise.all(
        posters.map(async ({ c }) => {
          for (let i = next++; i < n; i = next++) await c.post(topic, listing(i, ttlSec));
        }),
      );
    };
    const t0 = realNow();
    Date.now = () => realNow() - 2 * 24 * 3600_000; // two days ago, for the ledger's clock and the listings' expiry
    try {
      await postAll(PAST, 900);
    } finally {
      Date.now = realNow;
    }
    await postAll(LIVE, 900);
    const postSec = (realNow() - t0) / 1000;
    for (const p of posters) {
      await p.c.close();
      p.db.close();
    }
    const joinProxy = await startRpcProxy(ledger);
    const started = Date.now();
    const joiner = await startNode(join(dir, 'joiner'), joinProxy);
    const caught = await joiner.waitCatalogSynced(120_000);
    const seen = joiner.listings({}).length;
    const joinReqs = joinProxy.count({ from: started });
    const limited = joinProxy.count({ from: started, limited: true });
    const per2 = joinProxy.byMethod(started);
    rows.push({
      measurement: `joining a market of ${PAST} past / ${LIVE} live listings: requests`,
      value: joinReqs,
      unit: 'req',
      note: `${caught ? 'caught up' : 'NOT caught up'}, ${seen} listings seen; answered ${JSON.stringify(per2)}, ${limited} refused 429 (the front's 40/10 s per method) and retried; goal ≤ 200 (posting took ${postSec.toFixed(0)} s)`,
    });
    await joiner.shutdown();
    await joinProxy.close();
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
