// The app API end to end without a browser: two real headless nodes on the real local ledger,
// each behind its real bridge; the test talks HTTP + WebSocket exactly as the UI does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Serving } from '../../src-main/cli/commands/serve';
import { apiCall, apiCallRaw, bridgePair, until } from '../helpers/serve';
import type { FrameView, PurchaseView } from '../../src-shared/contract/api';
import { VOUCHER_EXTRA_FEES } from '../../src-main/core/market/voucher';

describe('app API over the bridge, two real nodes', () => {
  let seller: Serving;
  let buyer: Serving;
  let pair: Awaited<ReturnType<typeof bridgePair>> | undefined;

  beforeAll(async () => {
    pair = await bridgePair('axon-api', {
      timing: { listingTtlSec: 30, requestTimeoutMs: 15_000, keepAliveMs: 1000, graceSec: 3 },
    });
    ({ seller, buyer } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  it('sells, lists, quotes, buys, streams, pays, renews and stops', async () => {
    const stream = await apiCall<{ streamId: string; listingId: string; healthy: boolean }>(seller, 'sell', {
      title: 'API aircraft',
      description: 'test feed',
      tags: ['adsb'],
      format: 'application/x-ndjson',
      source: { kind: 'synthetic', feed: 'aircraft' },
      priceDirect: '600000',
      periodSec: 5,
    });
    expect(stream.streamId).toBe('api-aircraft');

    const listing = await until(
      async () =>
        (
          await apiCall<{ id: string; priceDirect: string; periodSec: number }[]>(buyer, 'listings', { text: 'API' })
        )[0],
      'listing',
    );
    expect(listing).toMatchObject({ id: stream.listingId, priceDirect: '600000', periodSec: 5 });

    const quote = await apiCall<{ pricePerPeriod: string; feePerPeriod: string; cap: string; problem?: string }>(
      buyer,
      'quote',
      {
        listingId: listing.id,
        tier: 'direct',
        maxMinutes: 2,
      },
    );
    // 2 minutes of 5 s periods: 24 periods, each its price and its payment's fee, plus (vouchers, the
    // default) the nonce account's creation, the last settlement and the close
    const fee = BigInt(quote.feePerPeriod);
    expect(quote.pricePerPeriod).toBe('50000');
    expect(BigInt(quote.cap)).toBe((50_000n + fee) * 24n + VOUCHER_EXTRA_FEES * fee);
    expect(quote.problem).toBeUndefined();

    // Live frames come over the WebSocket, as in the UI.
    const origin = `http://127.0.0.1:${buyer.bridge!.port}`;
    const ws = new WebSocket(`ws://127.0.0.1:${buyer.bridge!.port}/t/${buyer.bridge!.token}/api/events`, {
      headers: { Origin: origin },
    });
    const frames: FrameView[] = [];
    ws.on('message', (m) => {
      const { event, payload } = JSON.parse(String(m)) as { event: string; payload: FrameView[] };
      if (event === 'frames') frames.push(...payload);
    });
    await new Promise((r) => ws.on('open', r));

    const bought = await apiCall<PurchaseView>(buyer, 'buy', { listingId: listing.id, tier: 'direct', maxMinutes: 2 });
    expect(bought.state).toBe('requested');
    expect(bought.maxLamports).toBe(quote.cap); // the cap the quote showed is the cap the buy set
    await until(
      async () =>
        (await apiCall<PurchaseView[]>(buyer, 'purchases')).find((p) => p.id === bought.id && p.state === 'streaming'),
      'streaming',
      30_000,
    );
    await until(async () => frames.length > 10, 'frames over the WebSocket');
    expect(JSON.parse(frames[0]!.text).aircraft.length).toBeGreaterThan(0);
    const recent = await apiCall<FrameView[]>(buyer, 'recentFrames', bought.id, 5);
    expect(recent).toHaveLength(5);

    const peers = await apiCall<{ address: string; connected: boolean; path: string }[]>(buyer, 'peers');
    expect(peers.find((p) => p.address === seller.host.node.identity.address)).toMatchObject({
      connected: true,
      path: 'direct-lan',
    });

    const payments = await until(async () => {
      const p = await apiCall<{ direction: string; lamports: string; requestId: string }[]>(buyer, 'payments');
      return p.length ? p : null;
    }, 'payment in history');
    expect(payments[0]).toMatchObject({ direction: 'out', lamports: '50000', requestId: bought.id });
    const conns = await apiCall<{ peerId: string }[]>(buyer, 'connections');
    expect(conns.length).toBeGreaterThan(0);
    const sales = await until(
      async () => (await apiCall<{ id: string; state: string }[]>(seller, 'sales')).find((s) => s.id === bought.id),
      'sale on the seller',
    );
    expect(sales.state).toMatch(/connecting|streaming/);

    const renewed = await apiCall<PurchaseView>(buyer, 'renew', bought.id, 3);
    expect(renewed.maxMinutes).toBe(5);
    expect(BigInt(renewed.maxLamports)).toBe(BigInt(quote.cap) + (50_000n + fee) * 36n); // 3 more minutes

    const stopped = await apiCall<PurchaseView>(buyer, 'stopPurchase', bought.id);
    expect(stopped.state).toBe('ended');
    ws.close();
  });

  it('pauses all selling from the tray and reports it', async () => {
    const paused = await apiCall<{ sellingPaused: boolean }>(seller, 'setSellingPaused', true);
    expect(paused.sellingPaused).toBe(true);
    expect((await apiCall<{ paused: boolean }[]>(seller, 'ownStreams')).every((s) => s.paused)).toBe(true);
    await apiCall(seller, 'setSellingPaused', false);
    expect((await apiCall<{ paused: boolean }[]>(seller, 'ownStreams')).every((s) => !s.paused)).toBe(true);
  });

  it('says what went wrong and what to do', async () => {
    const missing = await apiCallRaw(buyer, 'buy', {
      listingId: `${seller.host.node.identity.address}:no-such-stream`,
      tier: 'direct',
      maxMinutes: 1,
    });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.hint).toMatch(/Refresh Browse/);
    const login = await apiCallRaw(buyer, 'updateSettings', { startOnLogin: true });
    expect(login).toMatchObject({ ok: false, error: { code: 'not-supported' } });
    const saved = await apiCall<{ restartRequired: boolean; settings: { stunServers: string[] } }>(
      buyer,
      'updateSettings',
      { stunServers: ['stun.example.org:3478'] },
    );
    expect(saved).toMatchObject({ restartRequired: true, settings: { stunServers: ['stun.example.org:3478'] } });
  });
});
