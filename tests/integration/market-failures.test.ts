// Failure paths of a purchase, each with a clear message and nothing lost — real ledger, real nodes.
import { isFinal } from '../../src-main/core/store/trades';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Identity } from '../../src-main/core/identity/identity';
import type { AxonNode } from '../../src-main/core/node';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { MarketError } from '../../src-main/core/market/types';
import { openStream, StreamRefusedError } from '../../src-main/core/market/stream-client';
import { STREAM_PROTOCOL } from '../../src-main/core/market/frames';
import { multiaddr } from '@multiformats/multiaddr';
import {
  settleNativeThreads,
  startChildNode,
  startCrashableBuyer,
  startLedger,
  startNode,
  tempDir,
  waitFor,
} from './market-helpers';

const SOL = 1_000_000_000n;
const PER_MIN = 60_000n; // 2 000 lamports per 2 s period

describe('purchase failure paths', () => {
  let ledger: LocalLedger;
  const cleanups: (() => Promise<void> | void)[] = [];
  let seller: AxonNode;
  let listingId: string;

  beforeAll(async () => {
    const l = await startLedger();
    ledger = l.ledger;
    cleanups.push(l.cleanup);
    const s = await startNode(ledger, { airdrop: SOL });
    cleanups.unshift(s.cleanup);
    seller = s.node;
    await seller.sell({
      streamId: 'wx',
      title: 'Weather',
      source: { kind: 'weather', hz: 10 },
      priceDirect: PER_MIN,
      capacity: 1,
    });
    listingId = `${seller.identity.address}:wx`;
  });
  afterAll(async () => {
    for (const c of cleanups) await c();
    // let libdatachannel's threads wind down before the worker exits (see docs/market.md)
    await new Promise((r) => setTimeout(r, 1500));
  });

  async function buyerNode(airdrop?: bigint, identity?: Identity, dataDir?: string): Promise<AxonNode> {
    const b = await startNode(ledger, { airdrop, identity, dataDir });
    cleanups.unshift(b.cleanup);
    await waitFor(() => b.node.listings().find((l) => l.id === listingId), 15_000, 'listing');
    return b.node;
  }

  it('insufficient balance: refused before any transaction is sent', async () => {
    const poor = await buyerNode();
    const err = await poor.buy(listingId, { minutes: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(MarketError);
    expect((err as MarketError).code).toBe('insufficient-balance');
    expect((err as Error).message).toMatch(/nothing was sent/);
    // the quote (Browse) tells the same need as buy() refuses on: first period, fees, rents
    const [, need, perPeriod] = /below the (\d+) lamports needed to start \(first period (\d+) /.exec(
      (err as Error).message,
    )!;
    expect(await poor.solNeededToStart(BigInt(perPeriod!))).toBe(BigInt(need!));
    expect(poor.purchases()).toHaveLength(0);
    expect(await poor.ledger.balance()).toBe(0n);
  });

  it('seller at capacity: rejected with the reason, nothing paid; a forged ticket is refused; the stream is cut after the grace when the buyer stops paying', async () => {
    const a = await buyerNode(SOL);
    const b = await buyerNode(SOL);
    const pa = await a.buy(listingId, { minutes: 5 });
    await waitFor(() => a.purchase(pa.id)!.paidThrough >= 0, 20_000, 'first buyer streaming');

    const pb = await b.buy(listingId, { minutes: 5 });
    const rejected = await waitFor(
      () => {
        const r = b.purchase(pb.id)!;
        return r.state === 'rejected' ? r : null;
      },
      15_000,
      'rejection',
    );
    expect(rejected.reason).toMatch(/^full: .*capacity/);
    expect(rejected.spent).toBe(0n);
    expect(b.payments(pb.id)).toHaveLength(0);

    // b presents a's request id on its own connection: refused as forged
    const err = await openStream(
      b.net.libp2p,
      seller.net.multiaddrs().map((a) => multiaddr(a)),
      { requestId: pa.id, streamId: 'wx' },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(StreamRefusedError);
    expect((err as StreamRefusedError).code).toBe('forged-ticket');

    // a can no longer pay: move (almost) all its lamports away
    const balance = await a.ledger.balance();
    const fee = await a.ledger.estimateFee(true);
    const sink = Identity.generate().address;
    await a.ledger.post(
      await a.ledger.stdinTopic(sink),
      {
        type: 'ServiceStop',
        nonce: new Uint8Array(16).fill(1),
        expiresAt: Math.floor(Date.now() / 1000) + 60,
        requestId: 'drain-balance-1',
        reason: 'test',
      },
      { transfer: { to: sink, lamports: balance - fee } },
    );
    // vouchers: the seller sees the balance drop (subscription), settles at once, the settlement
    // fails, and the stream is cut with that reason — before the grace runs out
    const ended = await waitFor(
      () => {
        const s = seller.sale(pa.id)!;
        return isFinal(s.state) ? s : null;
      },
      20_000,
      'seller cut',
    );
    expect(ended.state).toBe('failed');
    expect(ended.reason).toMatch(/settlement failed: the buyer emptied its account/);
    await waitFor(() => isFinal(a.purchase(pa.id)!.state), 15_000, 'buyer ended');
    // what reached the seller is what it booked: the settled vouchers only
    const settled = seller.payments(pa.id).filter((x) => x.state === 'verified');
    expect(ended.earned).toBe(settled.reduce((x, y) => x + y.lamports, 0n));
    expect(ended.earned).toBeGreaterThan(0n);
  });

  it('seller offline: the request expires and nothing is paid', async () => {
    const s2 = await startNode(ledger, { airdrop: SOL });
    await s2.node.sell({ streamId: 'gone', title: 'Soon gone', source: { kind: 'weather' }, priceDirect: PER_MIN });
    const id = `${s2.node.identity.address}:gone`;
    const b = await startNode(ledger, { airdrop: SOL, timing: { requestTimeoutMs: 3000 } });
    cleanups.unshift(b.cleanup);
    await waitFor(() => b.node.listings().find((l) => l.id === id), 15_000, 'listing');
    await s2.cleanup(); // seller goes offline (its listing has not expired yet)
    const before = await b.node.ledger.balance();
    const p = await b.node.buy(id, { minutes: 1 });
    const failed = await waitFor(
      () => {
        const r = b.node.purchase(p.id)!;
        return r.state === 'failed' ? r : null;
      },
      15_000,
      'expiry',
    );
    expect(failed.reason).toMatch(/did not answer.*nothing paid/);
    expect(failed.spent).toBe(0n);
    expect(b.node.payments(p.id)).toHaveLength(0);
    const fee = await b.node.ledger.estimateFee(false);
    expect(before - (await b.node.ledger.balance())).toBe(fee); // only the request itself
  });

  it('junk frames from a peer: closed with a PeerError, the node lives on', async () => {
    const errors: string[] = [];
    seller.on('peer-error', (e) => errors.push(e.code));
    const t = tempDir();
    cleanups.unshift(t.cleanup);
    const j = await startNode(ledger, {});
    cleanups.unshift(j.cleanup);
    const raw = await j.node.net.libp2p.dialProtocol(
      seller.net.multiaddrs().map((a) => multiaddr(a)),
      STREAM_PROTOCOL,
    );
    raw.send(Uint8Array.from([0, 0, 0, 3, 99, 1, 2]));
    await waitFor(() => errors.length > 0, 5000, 'peer error');
    expect(errors[0]).toBe('bad-kind');
    // the seller still publishes and serves
    await seller.publish('wx');
  });
});

describe('restart', () => {
  it('a seller killed (SIGKILL) and restarted mid-stream re-dials its buyer, which resumes without paying twice', async () => {
    const l = await startLedger();
    const sid = Identity.generate();
    const sdir = tempDir();
    const child = await startChildNode(l.ledger, {
      identity: sid,
      dataDir: sdir.dir,
      timing: { periodSec: 4, graceSec: 4 },
    });
    const b = await startNode(l.ledger, { airdrop: SOL });
    let s2: Awaited<ReturnType<typeof startNode>> | null = null;
    try {
      await child.call('airdrop', { lamports: String(SOL) });
      await child.call('sell', {
        streamId: 'wx',
        title: 'Weather',
        source: { kind: 'weather', hz: 10 },
        priceDirect: String(PER_MIN),
      });
      const lid = `${sid.address}:wx`;
      await waitFor(() => b.node.listings().find((x) => x.id === lid), 15_000, 'listing');
      const p = await b.node.buy(lid, { minutes: 5 });
      await waitFor(
        () => b.node.purchase(p.id)!.paidThrough >= 0 && b.node.purchase(p.id)!.frames > 0,
        20_000,
        'streaming',
      );
      const killedAt = Date.now();
      await child.kill();
      s2 = await startNode(l.ledger, { identity: sid, dataDir: sdir.dir, timing: { periodSec: 4, graceSec: 4 } });
      const seqs: number[] = [];
      b.node.on('frame', (f) => seqs.push(f.seq));
      await waitFor(() => seqs.length > 10, 20_000, 'frames after the seller restarted');
      await waitFor(() => s2!.node.sale(p.id)!.paidThrough >= 1, 20_000, 'next period paid to the restarted seller');
      // vouchers the killed seller had acknowledged were stored before the ack: every settlement
      // of this sale (before the kill or after the restart, unsettled ones at start) lands once
      await waitFor(() => (s2!.node.voucher(p.id, 'in')?.settled ?? 0n) > 0n, 20_000, 'a settlement after the restart');
      const settled = s2.node.payments(p.id).filter((x) => x.state === 'verified');
      expect(new Set(settled.map((x) => x.signature)).size).toBe(settled.length);
      const periods = b.node.payments(p.id).map((x) => x.period);
      expect(new Set(periods).size).toBe(periods.length);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
      // both redials went through the connect ladder: each attempt is in the connection history
      const redials = (n: AxonNode): string[] =>
        n
          .connectAttempts()
          .filter((a) => a.request_id === p.id && a.started_at >= killedAt && a.outcome !== 'pending')
          .map((a) => `${a.method}:${a.outcome}`);
      expect(redials(s2.node).length).toBeGreaterThan(0);
      expect(redials(b.node).length).toBeGreaterThan(0);
      await b.node.stop(p.id);
    } finally {
      await child.kill();
      await b.cleanup();
      await s2?.cleanup();
      sdir.cleanup();
      await l.cleanup();
    }
  });

  it('a buyer killed (SIGKILL) and restarted mid-stream resumes, without paying twice or writing a frame twice', async () => {
    const c = await startCrashableBuyer({
      streamId: 'adsb',
      title: 'Aircraft',
      source: { kind: 'adsb' },
      priceDirect: PER_MIN,
      periodSec: 3,
      graceSec: 3,
    });
    const { child, seller, listingId: lid } = c;
    try {
      const out = join(c.dataDir, 'out', 'adsb.ndjson');
      const p = await child.call<{ id: string }>('buy', { listingId: lid, minutes: 5, out });
      type Row = { paidThrough: number; frames: number; lastSeq: number };
      await waitFor(
        async () => {
          const r = await child.call<Row>('purchase', { id: p.id });
          return r.paidThrough >= 0 && r.frames > 0;
        },
        20_000,
        'streaming',
      );
      const before = await child.call<Row>('purchase', { id: p.id });
      await child.kill(); // no stop message, no flush: the sale stays open
      const b = await c.restart();
      const frames: number[] = [];
      b.on('frame', (f) => frames.push(f.seq));
      await waitFor(() => frames.length > 10, 15_000, 'frames after restart');
      expect(frames[0]).toBeGreaterThan(before.lastSeq);
      await waitFor(() => b.purchase(p.id)!.paidThrough >= before.paidThrough + 1, 15_000, 'next period paid');
      await b.stop(p.id);
      // the output file: every seq once, none missing across the kill (SQLite's last seq lags by
      // up to a second; the file itself says where to resume)
      const seqs = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { seq: number }).seq);
      expect(seqs.length).toBeGreaterThan(before.frames);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
      await waitFor(() => seller.sale(p.id)!.paidThrough === b.purchase(p.id)!.paidThrough, 10_000, 'seller saw all');
      // every settlement the seller verified shows in the buyer's history too: the last one lands
      // after the stop (the seller settles at the end) and the buyer books it when it reads it back
      const verified = (): number => seller.payments(p.id).filter((x) => x.state === 'verified').length;
      // on a mismatch, both sides' payments (period, state) say which one a side does not know of
      const sides = (): string =>
        JSON.stringify({
          buyer: b.payments(p.id).map((x) => [x.period, x.state]),
          seller: seller.payments(p.id).map((x) => [x.period, x.state]),
        });
      await waitFor(
        () => verified() > 0 && b.payments(p.id).length === verified(),
        30_000,
        `the buyer's history to hold every settlement ${sides()}`,
      ).catch(() => undefined);
      const periods = b.payments(p.id).map((x) => x.period);
      expect(new Set(periods).size).toBe(periods.length); // never twice
      expect(
        seller.payments(p.id).filter((x) => x.state === 'verified'),
        sides(),
      ).toHaveLength(periods.length);
    } finally {
      await c.cleanup();
    }
  });

  it('a source that cannot start is refused at sell; one that fails later is marked unhealthy and cannot be bought until it recovers', async () => {
    const l = await startLedger();
    const s = await startNode(l.ledger, { airdrop: SOL });
    const b = await startNode(l.ledger, { airdrop: SOL });
    const lines = new Set<Socket>();
    const serve = (port = 0) =>
      new Promise<Server>((resolve) => {
        const srv = createServer((sock) => {
          lines.add(sock);
          sock.on('close', () => lines.delete(sock));
          const t = setInterval(() => sock.write(`x=${Date.now()}\n`), 100);
          sock.on('close', () => clearInterval(t));
          sock.on('error', () => undefined);
        });
        srv.listen(port, '127.0.0.1', () => resolve(srv));
      });
    let srv = await serve();
    const port = (srv.address() as AddressInfo).port;
    try {
      // nothing listens on port 1: refused, nothing listed
      const err = await s.node
        .sell({ streamId: 'dead', title: 'Dead feed', source: { kind: 'tcp', port: 1 }, priceDirect: PER_MIN })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MarketError);
      expect((err as MarketError).code).toBe('source-failed');
      expect((err as Error).message).toMatch(/ECONNREFUSED/);
      expect(s.node.ownStreams()).toHaveLength(0);

      // a working source is listed; when it fails the listing says unhealthy and Buy is refused
      await s.node.sell({
        streamId: 'live',
        title: 'Live feed',
        source: { kind: 'tcp', host: '127.0.0.1', port },
        priceDirect: PER_MIN,
      });
      const lid = `${s.node.identity.address}:live`;
      await waitFor(() => b.node.listings().find((x) => x.id === lid)?.healthy, 15_000, 'healthy listing');
      await new Promise<void>((r) => {
        srv.close(() => r());
        for (const sock of lines) sock.destroy();
      });
      const seen = await waitFor(
        () => b.node.listings().find((x) => x.id === lid && !x.healthy),
        15_000,
        'unhealthy listing',
      );
      expect(seen.healthy).toBe(false);
      expect(b.node.listings({ healthyOnly: true }).find((x) => x.id === lid)).toBeUndefined();
      expect(s.node.status().offers[0]!.lastError).toMatch(/ECONNREFUSED|closed/);
      await expect(b.node.buy(lid, { minutes: 1 })).rejects.toMatchObject({ code: 'unhealthy' });
      expect(b.node.purchases()).toHaveLength(0);

      // it recovers: healthy again, and it can be bought
      srv = await serve(port);
      await waitFor(() => b.node.listings().find((x) => x.id === lid)?.healthy, 40_000, 'healthy again');
      const p = await b.node.buy(lid, { minutes: 1 });
      expect(p.state).toBe('requested');
      await b.node.stopPurchase(p.id);
    } finally {
      for (const sock of lines) sock.destroy();
      srv.close();
      await b.cleanup();
      await s.cleanup();
      await l.cleanup();
    }
  });

  afterAll(async () => {
    // let libdatachannel's threads wind down before the worker exits (see docs/market.md)
    await settleNativeThreads();
  });
});
