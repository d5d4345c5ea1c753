// Seller liveness peer to peer (market/liveness.ts): a buyer about to request a listing past its
// refresh point asks the network whether the seller is there before it spends a request
// transaction. Real nodes on loopback, the real local ledger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AxonNode } from '../../src-main/core/node';
import { checkLiveness, pastRefreshPoint } from '../../src-main/core/market/liveness';
import { addressToPeerId } from '../../src-main/core/identity/identity';
import { MarketError } from '../../src-main/core/market/types';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { runCleanups, startLedger, startNode, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;
const PER_MIN = 60_000n;
const TTL_SEC = 16; // refreshed at 8 s, past its refresh point at 12 s, gone at 16 s

function livenessOf(node: AxonNode) {
  return (peer: string, listed: readonly string[] = []) =>
    checkLiveness(
      {
        bestConnection: (p) => node.net.bestConnection(p),
        ping: (p, signal) => node.net.ping(p, signal),
        dial: (t, o) => node.net.libp2p.dial(t, o),
        relayAddrs: () => [],
      },
      peer,
      undefined,
      listed,
    );
}

describe('seller liveness before a request', () => {
  let ledger: LocalLedger;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    const l = await startLedger();
    ledger = l.ledger;
    cleanups.push(l.cleanup);
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('a seller that went away without delisting is found absent peer to peer: no request transaction is spent', async () => {
    const s = await startNode(ledger, { airdrop: SOL, timing: { listingTtlSec: TTL_SEC } });
    const b = await startNode(ledger, { airdrop: SOL });
    cleanups.unshift(s.cleanup, b.cleanup);
    await s.node.sell({ streamId: 'wx', title: 'Weather', source: { kind: 'weather' }, priceDirect: PER_MIN });
    const id = `${s.node.identity.address}:wx`;
    await waitFor(() => b.node.listings().find((l) => l.id === id), 15_000, 'listing');

    // a first purchase: the buyer has met the seller (a connection, its addresses)
    const p = await b.node.buy(id, { minutes: 1 });
    await waitFor(() => b.node.purchase(p.id)?.state === 'streaming', 20_000, 'streaming');
    await b.node.stopPurchase(p.id);
    const sellerPeer = addressToPeerId(s.node.identity.address).toString();
    const alive = await livenessOf(b.node)(sellerPeer);
    expect(alive).toMatchObject({ alive: true });

    // the seller goes away without a Delist; its listing stays on the ledger until its TTL
    await s.cleanup();
    const stale = await waitFor(
      () => {
        const l = b.node.listings().find((x) => x.id === id);
        return l && pastRefreshPoint(l) ? l : undefined;
      },
      TTL_SEC * 1000,
      'listing past its refresh point',
    );
    expect(stale.expiresAt).toBeGreaterThan(Date.now() + 1000); // still listed
    expect(await livenessOf(b.node)(sellerPeer)).toMatchObject({ alive: false });

    const before = await b.node.ledger.balance();
    const err = await b.node.buy(id, { minutes: 1 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MarketError);
    expect((err as MarketError).code).toBe('seller-unreachable');
    expect((err as Error).message).toMatch(/does not answer peer to peer.*nothing was sent/);
    // no request transaction: not a lamport moved, no purchase recorded
    expect(await b.node.ledger.balance()).toBe(before);
    expect(b.node.purchases().filter((x) => x.listingId === id)).toHaveLength(1);
  }, 90_000);

  it('a buyer that never met the seller reaches it at the addresses its Listing gives', async () => {
    const s = await startNode(ledger, { airdrop: SOL });
    const c = await startNode(ledger, { airdrop: SOL });
    cleanups.unshift(s.cleanup, c.cleanup);
    await s.node.sell({ streamId: 'wx2', title: 'Weather 2', source: { kind: 'weather' }, priceDirect: PER_MIN });
    const id = `${s.node.identity.address}:wx2`;
    const l = await waitFor(
      () => c.node.listings().find((x) => x.id === id && x.addrs.length > 0),
      15_000,
      'the listing with its addresses',
    );
    const peer = addressToPeerId(s.node.identity.address).toString();
    // a stranger knows no address of the seller's but the listing's: without them, nobody is dialed
    expect(await livenessOf(c.node)(peer)).toMatchObject({ alive: false });
    const found = await livenessOf(c.node)(peer, l.addrs);
    expect(found, `${JSON.stringify(found)} at ${JSON.stringify(l.addrs)}`).toMatchObject({ alive: true });
  }, 60_000);
});
