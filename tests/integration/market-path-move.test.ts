// A purchase streaming over a hole-punched data channel moves to a direct TCP connection when one
// comes up (BuyerSide.#onPath, docs/market.md): the stream is reopened on the better path after its
// last seq, so the data keeps coming in order with nothing lost and no reconnect, and the data
// channel can go. Real nodes on loopback and the real local ledger; the seller announces no
// address, so the connect ladder can only meet it by the ICE hole punch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multiaddr } from '@multiformats/multiaddr';
import { AxonNode } from '../../src-main/core/node';
import { Identity } from '../../src-main/core/identity/identity';
import { FAST_TIMING, startLedger, tempDir, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;

describe('a stream moves to a better path', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let ledger: Awaited<ReturnType<typeof startLedger>>['ledger'];
  const node = async (announceLoopback: boolean): Promise<AxonNode> => {
    const t = tempDir('axon-pathmove-');
    const n = await AxonNode.start({
      dataDir: t.dir,
      identity: Identity.generate(),
      ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
      timing: { ...FAST_TIMING, periodSec: 3, graceSec: 12, keepAliveMs: 2000 },
      net: { host: '127.0.0.1', announceFilter: { allowLoopback: announceLoopback } },
    });
    cleanups.unshift(async () => {
      await n.shutdown();
      t.cleanup();
    });
    await n.airdrop(SOL);
    return n;
  };
  beforeAll(async () => {
    const l = await startLedger();
    ledger = l.ledger;
    cleanups.push(l.cleanup);
  });
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('from a data channel to TCP: frames go on in order, no reconnect, nothing paid twice', async () => {
    const [seller, buyer] = await Promise.all([node(false), node(false)]);
    await seller.sell({
      streamId: 'wx',
      title: 'Weather',
      source: { kind: 'weather', hz: 10 },
      priceDirect: 60_000n,
    });
    const id = `${seller.identity.address}:wx`;
    await waitFor(() => buyer.listing(id), 45_000, 'the listing on the buyer');
    const seqs: number[] = [];
    buyer.on('frame', (f) => seqs.push(f.seq));
    const p = await buyer.buy(id, { minutes: 2 });
    await waitFor(() => seqs.length >= 5, 45_000, 'frames over the punched data channel');
    const sellerPeer = seller.net.peerId.toString();
    const transport = (): string | undefined =>
      buyer.status().peers.find((x) => x.peer === sellerPeer)?.path?.transport;
    expect(transport()).toBe('webrtc');

    // a direct TCP connection to the seller comes up (as a later direct dial would land)
    await buyer.net.libp2p.dial(multiaddr(`/ip4/127.0.0.1/tcp/${seller.net.port}/p2p/${sellerPeer}`), { force: true });
    await waitFor(() => transport() === 'tcp', 15_000, 'TCP the best path');
    const moved = seqs.length;
    await waitFor(() => seqs.length >= moved + 10, 15_000, 'frames after the move');
    // the data channel goes: a stream still on it would drop and reconnect
    for (const c of buyer.net.libp2p.getConnections(seller.net.peerId))
      if (c.remoteAddr.toString().includes('/webrtc')) await c.close();
    const closed = seqs.length;
    await waitFor(() => seqs.length >= closed + 20, 15_000, 'frames after the data channel closed');
    // in order, nothing missing, nothing twice
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1)).toBe(true);
    const steps = buyer.history('purchase', p.id).map((t) => t.to);
    expect(steps.filter((s) => s === 'connecting').length).toBe(1); // the first connect only
    expect(buyer.purchase(p.id)!.state).toBe('streaming');
    // one payment per period, as without the move
    await waitFor(() => buyer.purchase(p.id)!.paidThrough >= 0, 30_000, 'paid');
    const bought = buyer.purchase(p.id)!;
    expect(bought.spent).toBe(bought.pricePerPeriod! * BigInt(bought.paidThrough + 1));
    await buyer.stop(p.id);
  });
});
