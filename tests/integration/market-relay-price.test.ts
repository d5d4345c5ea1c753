// Priced relays on the product path (real nodes on loopback, the real local ledger): a relay
// announces a price; a seller reachable only through it sells; a buyer that accepts the price
// pays the relay's share beside each period's payment, in the same transaction, and the relay
// credits it and keeps the circuit; a buyer that does not pay the relay is cut after the grace
// window; a buyer with the default settings (free relays only) does not use the priced relay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxonNode } from '../../src-main/core/node';
import { Identity } from '../../src-main/core/identity/identity';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import type { RelayPricing } from '../../src-main/core/market/types';
import { isFinal } from '../../src-main/core/store/trades';
import type { SettingsInput } from '../../src-main/core/settings';
import { FAST_TIMING, runCleanups, startLedger, tempDir, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;
const PER_MIN = 60_000n; // 2000 lamports per 2 s period
const RELAY_PRICE = 600; // lamports per minute: 20 lamports per 2 s period
const cleanups: (() => Promise<void> | void)[] = [];
const hidden = { host: '127.0.0.1', announceFilter: { allowLoopback: false, allowPrivate: false }, punch: false };

async function start(
  ledger: LocalLedger,
  o: { settings?: SettingsInput; net?: Record<string, unknown> } = {},
): Promise<AxonNode> {
  const t = tempDir('axon-relay-price-');
  const node = await AxonNode.start({
    dataDir: t.dir,
    identity: Identity.generate(),
    settings: { stunServers: [], ...o.settings },
    ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
    timing: FAST_TIMING,
    endpoint: false,
    net: o.net ?? { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
    roleTiming: {
      announceTtlSec: 60,
      healthIntervalMs: 2_000,
      discoveryIntervalMs: 60_000,
    },
  });
  await node.airdrop(SOL);
  cleanups.unshift(async () => {
    await node.shutdown();
    t.cleanup();
  });
  return node;
}

describe('priced relays', () => {
  let relay: AxonNode;
  let seller: AxonNode;
  let listingId: string;
  const off = { relay: 'off', reflector: 'off' } as const;

  beforeAll(async () => {
    const l = await startLedger();
    cleanups.push(l.cleanup);
    ledgerOf = l.ledger;
    // the relay's payment grace and poll are settings (roles.relayGraceSec / relayPayPollSec)
    relay = await start(l.ledger, {
      settings: {
        roles: { relay: 'on', reflector: 'off', relayPrice: RELAY_PRICE, relayGraceSec: 5, relayPayPollSec: 1 },
      },
    });
    expect(await relay.roles.announce()).toBe(true);
    seller = await start(l.ledger, { settings: { roles: off }, net: hidden });
    const relayPeer = relay.identity.peerId.toString();
    // the seller (reachable only through relays) reserves on the relay it found in the directory
    await waitFor(() => seller.status().relays.some((a) => a.includes(relayPeer)), 30_000, 'a reservation');
    await seller.sell({ streamId: 'ticks', title: 'Ticks', source: { kind: 'weather', hz: 5 }, priceDirect: PER_MIN });
    listingId = `${seller.identity.address}:ticks`;
  });
  afterAll(() => runCleanups(cleanups));

  async function buyer(roles: SettingsInput['roles']): Promise<AxonNode> {
    const b = await start(ledgerOf, { settings: { roles: { ...off, ...roles } }, net: hidden });
    const relayPeer = relay.identity.peerId.toString();
    await waitFor(() => b.status().roleNodes.find((c) => c.peer === relayPeer), 20_000, 'the relay in the directory');
    await waitFor(() => b.listing(listingId), 20_000, 'the listing');
    return b;
  }
  let ledgerOf: LocalLedger;

  it('a buyer that accepts the price pays the relay its share in each payment transaction; the relay credits it and keeps relaying', async () => {
    const b = await buyer({ maxRelayPrice: 1000 });
    const relayBefore = await relay.ledger.balance();
    const p = await b.buy(listingId, { minutes: 10 });
    await waitFor(
      () => b.purchase(p.id)?.paidThrough !== undefined && b.purchase(p.id)!.paidThrough >= 4,
      40_000,
      'periods paid',
    );
    expect(b.purchase(p.id)!.state).toBe('streaming');
    expect(b.status().peers.find((x) => x.peer === seller.identity.peerId.toString())?.path?.kind).toBe('relayed');

    const out = b.relayPayments(p.id);
    expect(out.length).toBeGreaterThanOrEqual(2);
    expect(out.every((r) => r.direction === 'out' && r.lamports === 20n && r.relay === relay.identity.address)).toBe(
      true,
    );
    // the share went in the same transaction as the seller's payment for that period
    const toSeller = new Map(b.payments(p.id).map((x) => [x.period, x.signature]));
    for (const r of out) expect(toSeller.get(r.period)).toBe(r.signature);

    // the relay saw each share, matched it to the circuit, and was paid exactly that
    await waitFor(
      () => relay.relayPayments(p.id).filter((r) => r.state === 'verified').length >= out.length,
      10_000,
      'the relay verified the shares',
    );
    const got = relay.relayPayments(p.id).filter((r) => r.state === 'verified');
    expect(got.every((r) => r.payer === b.identity.address && r.peer === seller.identity.address)).toBe(true);
    const received = got.reduce((a, r) => a + r.lamports, 0n);
    expect((await relay.ledger.balance()) - relayBefore).toBeGreaterThanOrEqual(received);
    expect(relay.status().relayUse?.cutUnpaid).toBe(0);
    // the buyer's cost: the shares count with the fees (the cap covers them)
    const final = await b.stop(p.id);
    const shares = b.relayPayments(p.id).reduce((a, r) => a + r.lamports, 0n);
    expect(final.fees).toBeGreaterThanOrEqual(shares);
  });

  it('a buyer that uses the priced relay without paying it is cut after the grace window (roles.relayGraceSec)', async () => {
    const b = await buyer({ maxRelayPrice: 1000 });
    // a modified client: it uses every relay and never pays one
    const freeloader: RelayPricing = { allowed: () => true, shareFor: () => undefined, recordShare: () => undefined };
    Object.assign(AxonNode.internalsForTests(b).market.ctx, { relayPricing: freeloader });
    const p = await b.buy(listingId, { minutes: 10 });
    await waitFor(() => b.purchase(p.id)?.state === 'streaming', 30_000, 'streaming');
    await waitFor(() => (relay.status().relayUse?.cutUnpaid ?? 0) >= 1, 20_000, 'the unpaid circuit cut');
    expect(b.relayPayments(p.id)).toEqual([]);
    await b.stop(p.id).catch(() => undefined);
  });

  it('with the default settings (free relays only) a buyer does not use the priced relay, and pays nothing', async () => {
    const b = await buyer({});
    // the buyer, reachable only through relays too, holds a reservation on the priced relay: it
    // must not offer it to the seller either (a clean-clone CI run had the seller reverse-dial the
    // buyer through it — the purchase streamed over a relay the buyer never accepted)
    const relayPeer = relay.identity.peerId.toString();
    await waitFor(() => b.status().relays.some((a) => a.includes(relayPeer)), 30_000, "the buyer's reservation");
    const p = await b.buy(listingId, { minutes: 10 });
    const done = await waitFor(
      () => (['failed', 'ended'].includes(b.purchase(p.id)!.state) ? b.purchase(p.id) : undefined),
      60_000,
      'the purchase to fail',
    );
    expect(done!.reason).toMatch(/could not connect/);
    expect(done!.spent).toBe(0n);
    expect(b.relayPayments(p.id)).toEqual([]);
    // what the seller was offered to reach the buyer names no relay the buyer will not pay
    const offered = seller.sale(p.id)?.peerInfo;
    expect(offered).toBeTruthy();
    expect([...offered!.relays, ...offered!.addrs].filter((a) => a.includes(relayPeer))).toEqual([]);
  });
});

describe('a voucher purchase that moves to a priced relay mid-way', () => {
  // the block above ran (and stopped) its nodes in its afterAll: start from an empty list
  beforeAll(() => void cleanups.splice(0));
  afterAll(() => runCleanups(cleanups));

  it('pays the relay its share inside its vouchers; the relay checks each one and keeps the circuit; the share lands with the seller’s settlement', async () => {
    const l = await startLedger();
    cleanups.push(l.cleanup);
    const off = { relay: 'off', reflector: 'off' } as const;
    const free = await start(l.ledger, { settings: { roles: { relay: 'on', reflector: 'off' } } });
    expect(await free.roles.announce()).toBe(true);
    const seller = await start(l.ledger, { settings: { roles: off }, net: hidden });
    const freePeer = free.identity.peerId.toString();
    await waitFor(() => seller.status().relays.some((a) => a.includes(freePeer)), 30_000, 'a reservation (free)');
    // then a priced relay: the seller reserves on it too (after the free one: that one is first in
    // its accept, and the buyer's ladder gives the first relay a head start)
    const priced = await start(l.ledger, {
      settings: {
        roles: { relay: 'on', reflector: 'off', relayPrice: RELAY_PRICE, relayGraceSec: 5, relayPayPollSec: 1 },
      },
    });
    expect(await priced.roles.announce()).toBe(true);
    const pricedPeer = priced.identity.peerId.toString();
    const relayBefore = await priced.ledger.balance();
    await waitFor(() => seller.status().relays.some((a) => a.includes(pricedPeer)), 30_000, 'a reservation (priced)');
    await seller.sell({ streamId: 'ticks', title: 'Ticks', source: { kind: 'weather', hz: 5 }, priceDirect: PER_MIN });
    const listing = `${seller.identity.address}:ticks`;
    const b = await start(l.ledger, { settings: { roles: { ...off, maxRelayPrice: 1000 } }, net: hidden });
    await waitFor(() => b.listing(listing), 20_000, 'the listing');
    await waitFor(() => b.status().roleNodes.find((c) => c.peer === pricedPeer), 20_000, 'the priced relay known');
    const p = await b.buy(listing, { minutes: 10 });
    const viaRelay = (peer: string): boolean =>
      b.status().peers.some((x) => x.peer === seller.identity.peerId.toString() && x.path?.relay === peer);
    await waitFor(() => (b.purchase(p.id)?.paidThrough ?? -1) >= 1, 30_000, 'vouched periods');
    expect(viaRelay(freePeer)).toBe(true);
    // paying with vouchers (the default), over a free relay: no relay share
    expect(b.relayPayments(p.id)).toEqual([]);

    // the free relay goes away: the purchase moves to the priced one
    await free.shutdown();
    await waitFor(() => viaRelay(pricedPeer), 60_000, 'the purchase moved to the priced relay').catch((e) => {
      console.log(
        'DEBUG',
        JSON.stringify(
          { p: b.purchase(p.id), peers: b.status().peers, relays: seller.status().relays },
          (_k, v) => (typeof v === 'bigint' ? String(v) : v),
          1,
        ),
      );
      throw e;
    });
    const moved = b.purchase(p.id)!.paidThrough;
    await waitFor(
      () => (b.purchase(p.id)?.paidThrough ?? -1) >= moved + 4 || isFinal(b.purchase(p.id)!.state),
      60_000,
      'periods over the priced relay',
    );
    // still streaming (else the purchase's reason says why not)
    expect(b.purchase(p.id)!.state, b.purchase(p.id)!.reason ?? '').toBe('streaming');

    // the buyer's vouchers carried the relay's share (20 lamports per 2 s period), one row each
    const out = b.relayPayments(p.id);
    expect(out.length).toBeGreaterThanOrEqual(3);
    for (const r of out) {
      expect(r).toMatchObject({ direction: 'out', lamports: 20n, relay: priced.identity.address });
      expect(r.reason).toMatch(/voucher/);
    }
    // the relay checked each voucher it was handed and credited the circuit: not cut
    const sum = out.reduce((a, r) => a + r.lamports, 0n);
    await waitFor(
      () =>
        priced
          .relayPayments(p.id)
          .filter((r) => r.state === 'verified')
          .reduce((a, r) => a + r.lamports, 0n) >= sum,
      15_000,
      'the relay credited the shares',
    );
    expect(priced.relayPayments(p.id).every((r) => r.payer === b.identity.address)).toBe(true);
    // taken from the vouchers the buyer handed it (not waiting for a settlement on the ledger)
    expect(priced.relayPayments(p.id).some((r) => /voucher/.test(r.reason ?? ''))).toBe(true);
    expect(priced.status().relayUse?.cutUnpaid).toBe(0);

    // bad input at the relay: refused with a specific reason, nothing credited
    const pricing = AxonNode.internalsForTests(b).market.ctx.relayPricing!;
    const junk = { requestId: p.id, period: 999, nonceAccount: b.identity.address, tx: 'AAAA' };
    expect(await pricing.sendVoucher!(pricedPeer, { ...junk, tx: 'not base64!' })).toEqual({
      ok: false,
      reason: 'bad voucher message: tx: base64',
    });
    expect(await pricing.sendVoucher!(pricedPeer, junk)).toEqual({
      ok: false,
      reason: `${b.identity.address} is no nonce account`,
    });
    expect(priced.relayPayments(p.id).some((r) => r.period === 999)).toBe(false);

    // the end: the seller settles the last voucher; the relay's share lands in the same transaction
    const final = await b.stop(p.id);
    const shares = b.relayPayments(p.id).reduce((a, r) => a + r.lamports, 0n);
    expect(final.fees).toBeGreaterThanOrEqual(shares);
    await waitFor(
      async () => (await priced.ledger.balance()) - relayBefore >= shares,
      40_000,
      'the shares on the relay’s balance',
    );
    // booked as the seller's once: what the buyer paid the seller excludes the relay's share
    const paidSeller = b.payments(p.id).filter((x) => x.direction === 'out');
    for (const x of paidSeller) expect(x.recipient).toBe(seller.identity.address);
  }, 240_000);
});
