// Regression tests of market / node / host fixes — real ledger, real libp2p nodes on loopback,
// real SQLite: a removed stream stays delisted; a buyer never pays for a seller that sends
// nothing, and a shutdown while that purchase stops loses nothing (no unhandled rejection, the
// ServiceStop still reaches the seller); one node per data dir; the demo seller of `npm start`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Identity } from '../../src-main/core/identity/identity';
import { AxonNode } from '../../src-main/core/node';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import type { PurchaseRow } from '../../src-main/core/store/trades';
import { startHost } from '../../src-main/api/host';
import { dataDirHolder } from '../../src-main/core/lock';
import { runCleanups, startChildNode, startNode, startSellerAndBuyer, tempDir, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;

/** A free TCP port whose next port is free too (the local ledger's RPC and pubsub). */
async function freePortPair(): Promise<number> {
  const listen = (port: number): Promise<number | null> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(null));
      srv.listen(port, '127.0.0.1', () => {
        const got = (srv.address() as { port: number }).port;
        srv.close(() => resolve(got));
      });
    });
  for (;;) {
    const p = await listen(0);
    if (p && p < 65_000 && (await listen(p + 1))) return p;
  }
}

describe('market fixes', () => {
  let ledger: LocalLedger;
  const cleanups: (() => Promise<void> | void)[] = [];
  let seller: AxonNode;
  let buyer: AxonNode;

  beforeAll(async () => {
    ({ ledger, seller, buyer } = await startSellerAndBuyer(SOL, cleanups));
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('a removed stream stays delisted (its stopping source does not list it again)', async () => {
    await seller.sell({ streamId: 'gone', title: 'Going away', source: { kind: 'weather', hz: 5 }, priceDirect: 1n });
    const id = `${seller.identity.address}:gone`;
    await waitFor(() => buyer.listings().some((l) => l.id === id), 15_000, 'the listing at the buyer');
    await seller.unsell('gone');
    // a later listing of the same seller: once the buyer has it, it has read everything posted before
    await seller.sell({ streamId: 'marker', title: 'Marker', source: { kind: 'weather', hz: 1 }, priceDirect: 1n });
    await waitFor(() => buyer.listings().some((l) => l.streamId === 'marker'), 15_000, 'the marker listing');
    expect(buyer.listings().some((l) => l.id === id)).toBe(false);
    expect(seller.listings({ includeOwn: true }).some((l) => l.id === id)).toBe(false);
    expect(seller.status().offers.some((o) => o.offer.streamId === 'gone')).toBe(false);
    await seller.unsell('marker');
  });

  it('a seller that sends nothing is paid for the first period only; a shutdown right then loses nothing', async () => {
    const { dir, cleanup } = tempDir('axon-silent-');
    cleanups.push(cleanup);
    const empty = join(dir, 'empty.ndjson');
    writeFileSync(empty, '');
    await seller.sell({
      streamId: 'silent',
      title: 'Never says a word',
      source: { kind: 'file', path: empty },
      priceDirect: 60_000n, // 3 000 lamports per 3 s period
      periodSec: 3,
      graceSec: 2,
    });
    const listing = `${seller.identity.address}:silent`;
    const b = await startNode(ledger, { airdrop: SOL });
    let shut: Promise<void> | null = null;
    cleanups.unshift(() => shut ?? b.cleanup());
    await waitFor(() => b.node.listings().some((l) => l.id === listing), 15_000, 'the silent listing');

    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      let ended: PurchaseRow | null = null;
      b.node.on('purchase', (row) => {
        if (row.state !== 'ended' || ended) return;
        ended = row;
        // shut the node down the moment the purchase ends, while its ServiceStop is on its way
        shut = b.cleanup();
      });
      const p = await b.node.buy(listing, { minutes: 5 });
      await waitFor(() => ended, 30_000, 'the purchase to end');
      await shut;
      expect(ended!.reason).toMatch(/no data from the seller/);
      expect(ended!.paidThrough).toBe(0);
      expect(ended!.spent).toBe(3_000n);
      // the seller got exactly one payment, and knows why the buyer ended
      const sale = await waitFor(
        () => {
          const s = seller.sale(p.id);
          return s && s.state === 'ended' ? s : null;
        },
        15_000,
        'the sale to end',
      );
      expect(sale.reason).toMatch(/buyer (stopped|ended): no data from the seller/);
      expect(sale.paidThrough).toBe(0);
      expect(seller.payments(p.id).map((x) => [x.period, x.state])).toEqual([[0, 'verified']]);
      await new Promise((r) => setTimeout(r, 500)); // a late failure would show up here
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await seller.unsell('silent');
    }
  });

  it('one node per data dir: AxonNode.start and startHost name the process already running there', async () => {
    const { dir, cleanup } = tempDir('axon-locked-');
    cleanups.push(cleanup);
    const child = await startChildNode(ledger, { dataDir: dir, identity: Identity.generate() });
    cleanups.unshift(() => child.kill());
    const pid = child.proc.pid!;
    const err = await AxonNode.start({
      dataDir: dir,
      identity: Identity.generate(),
      ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      new RegExp(`another axon node \\(process ${pid}\\) is running on the data dir`),
    );
    const hostErr = await startHost({
      dataDir: dir,
      ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
    }).catch((e: Error) => e);
    expect((hostErr as Error).message).toMatch(new RegExp(`process ${pid}`));
    // the child is untouched: still its own node
    expect(await child.call<unknown[]>('listings')).toBeInstanceOf(Array);
  });

  it('a first start on the embedded ledger comes with a demo seller whose streams can be bought at once; --no-demo delists them', async () => {
    const { dir, cleanup } = tempDir('axon-host-');
    cleanups.push(cleanup);
    // a fresh data dir whose local ledger port is free: the host embeds the ledger (as `npm start` does)
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ localLedgerPort: await freePortPair() }));
    const host = await startHost({ dataDir: dir, identity: Identity.generate(), net: { host: '127.0.0.1' } });
    let closed = false;
    cleanups.unshift(() => (closed ? undefined : host.close()));
    expect(host.localLedger).not.toBeNull();
    const demo = host.demoSeller!;
    expect(demo).toBeTruthy();
    expect(host.notes.join('\n')).toMatch(/Demo seller \w+ is selling/);
    const demoListings = await waitFor(
      () => {
        const ls = host.node.listings().filter((l) => l.seller === demo.identity.address);
        return ls.length === 2 ? ls : null;
      },
      15_000,
      'the demo listings in Browse',
    );
    expect(demoListings.map((l) => l.streamId).sort()).toEqual(['demo-aircraft', 'demo-weather']);
    // Buy works right away: the host funded the empty wallet on its local ledger
    let frames = 0;
    host.node.on('frame', () => frames++);
    const p = await host.node.buy(`${demo.identity.address}:demo-aircraft`, { minutes: 1 });
    await waitFor(() => frames >= 3, 20_000, 'demo frames');
    await waitFor(() => host.node.purchase(p.id)!.paidThrough >= 0, 10_000, 'the first payment');
    await host.node.stopPurchase(p.id);
    closed = true;
    await host.close();
    // closing the host stopped the demo seller too: its data dir is free again
    expect(dataDirHolder(join(dir, 'demo-seller'))).toBeNull();
    // the next start with --no-demo takes the demo streams off the market (not after their TTL)
    const again = await startHost({
      dataDir: dir,
      identity: host.node.identity,
      net: { host: '127.0.0.1' },
      demo: false,
    });
    cleanups.unshift(() => again.close());
    expect(again.demoSeller).toBeNull();
    expect(again.notes.join('\n')).toMatch(/Delisted the 2 demo streams/);
    await waitFor(
      () => again.node.listings().filter((l) => l.seller === demo.identity.address).length === 0,
      15_000,
      'the demo listings gone from Browse',
    );
  });
});
