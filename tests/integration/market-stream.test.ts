// The stream protocol /axon/stream/1.0.0 between real libp2p nodes on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Libp2p } from 'libp2p';
import { StreamHub } from '../../src-main/core/market/hub';
import { StreamServer, type Authorize } from '../../src-main/core/market/stream-server';
import { openStream, StreamRefusedError, type ReceivedFrame } from '../../src-main/core/market/stream-client';
import { STREAM_PROTOCOL, encodeControl } from '../../src-main/core/market/frames';
import { peerIdToAddress, type Identity } from '../../src-main/core/identity/identity';
import { makeLibp2p, waitFor } from './market-helpers';

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('stream protocol over real libp2p nodes', () => {
  let seller: Libp2p;
  let buyer: Libp2p;
  let buyerId: Identity;
  let other: Libp2p;
  let server: StreamServer;
  const hub = new StreamHub('adsb', { replayFrames: 64 });
  // request id → [buyer address, deadline]
  const requests = new Map<string, { buyer: string; deadline: number }>();
  const authorize: Authorize = async (ticket, remote) => {
    const r = requests.get(ticket.requestId);
    if (!r) return { refuse: { code: 'unknown-request', recover: 'abort', message: 'no such request' } };
    if (peerIdToAddress(remote) !== r.buyer) {
      return { refuse: { code: 'forged-ticket', recover: 'abort', message: 'the request was not made by this peer' } };
    }
    if (ticket.streamId !== hub.streamId)
      return { refuse: { code: 'unknown-stream', recover: 'abort', message: 'wrong stream' } };
    return { hub, format: 'application/x-ndjson', deadline: () => r.deadline };
  };
  let ticker: NodeJS.Timeout;

  beforeAll(async () => {
    seller = (await makeLibp2p()).node;
    const b = await makeLibp2p();
    buyer = b.node;
    buyerId = b.identity;
    other = (await makeLibp2p()).node;
    server = new StreamServer(seller, authorize, { keepAliveMs: 500, tickMs: 50, maxQueueFrames: 8 });
    await server.start();
    let n = 0;
    ticker = setInterval(() => hub.publish(enc.encode(JSON.stringify({ n: n++ }))), 10);
  });
  afterAll(async () => {
    clearInterval(ticker);
    await server.stop();
    await Promise.all([seller.stop(), buyer.stop(), other.stop()]);
  });

  it('streams frames in order, then resumes after a reconnect without gaps', async () => {
    requests.set('req-inorder-1', { buyer: buyerId.address, deadline: Date.now() + 60_000 });
    const s1 = await openStream(buyer, seller.getMultiaddrs(), { requestId: 'req-inorder-1', streamId: 'adsb' });
    const got: ReceivedFrame[] = [];
    s1.on('frame', (f) => got.push(f));
    await waitFor(() => got.length >= 20, 10_000, '20 frames');
    await s1.close();
    const last = s1.lastSeq;
    for (let i = 1; i < got.length; i++) expect(got[i]!.seq).toBe(got[i - 1]!.seq + 1);
    expect(JSON.parse(dec.decode(got[0]!.payload))).toHaveProperty('n');

    // reconnect later: frames published meanwhile come out of the replay buffer
    await new Promise((r) => setTimeout(r, 100));
    const s2 = await openStream(buyer, seller.getMultiaddrs(), {
      requestId: 'req-inorder-1',
      streamId: 'adsb',
      lastSeq: last,
    });
    expect(s2.welcome.nextSeq).toBe(last + 1);
    expect(s2.welcome.missed).toBe(0);
    const got2: ReceivedFrame[] = [];
    s2.on('frame', (f) => got2.push(f));
    await waitFor(() => got2.length >= 15, 10_000, 'resumed frames');
    expect(got2[0]!.seq).toBe(last + 1);
    for (let i = 1; i < got2.length; i++) expect(got2[i]!.seq).toBe(got2[i - 1]!.seq + 1);
    await s2.close();
  });

  it('refuses a ticket presented by a peer that did not make the request', async () => {
    requests.set('req-forged-1', { buyer: buyerId.address, deadline: Date.now() + 60_000 });
    const err = await openStream(other, seller.getMultiaddrs(), { requestId: 'req-forged-1', streamId: 'adsb' }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(StreamRefusedError);
    expect((err as StreamRefusedError).code).toBe('forged-ticket');
  });

  it('cuts the session at its deadline (paid-until + grace) with a renew hint', async () => {
    requests.set('req-deadline-1', { buyer: buyerId.address, deadline: Date.now() + 600 });
    const s = await openStream(buyer, seller.getMultiaddrs(), { requestId: 'req-deadline-1', streamId: 'adsb' });
    const end = await new Promise<{ code: string; recover?: string }>((r) => s.once('end', r));
    expect(end.code).toBe('payment-overdue');
    expect(end.recover).toBe('renew');
    expect(s.framesIn).toBeGreaterThan(0);
  });

  it('a slow buyer loses its oldest frames (counted) and never slows another buyer', async () => {
    requests.set('req-slow-1', { buyer: buyerId.address, deadline: Date.now() + 60_000 });
    requests.set('req-fast-1', { buyer: buyerId.address, deadline: Date.now() + 60_000 });
    // the slow buyer: a raw stream that presents its ticket and then never reads
    const raw = await buyer.dialProtocol(seller.getMultiaddrs(), STREAM_PROTOCOL);
    raw.send(encodeControl({ t: 'ticket', v: 1, requestId: 'req-slow-1', streamId: 'adsb' }));
    raw.pause();
    // big frames fill the slow buyer's windows quickly
    const big = new Uint8Array(64 * 1024);
    const bigTicker = setInterval(() => hub.publish(big), 5);
    const fast = await openStream(buyer, seller.getMultiaddrs(), { requestId: 'req-fast-1', streamId: 'adsb' });
    let fastFrames = 0;
    fast.on('frame', () => fastFrames++);
    try {
      const slow = await waitFor(
        () => server.sessionsFor('req-slow-1').find((s) => s.dropped > 0),
        20_000,
        'drops for the slow buyer',
      );
      expect(slow.dropped).toBeGreaterThan(0);
      const before = fastFrames;
      await waitFor(() => fastFrames > before + 50, 10_000, 'the fast buyer keeps receiving');
      expect(fast.gaps).toBe(0);
    } finally {
      clearInterval(bigTicker);
      raw.abort(new Error('test done'));
      await fast.close();
    }
  });

  it('junk from a peer closes that stream with a PeerError; the node keeps serving', async () => {
    const errors: string[] = [];
    server.on('peer-error', (e) => errors.push(e.code));
    const raw = await other.dialProtocol(seller.getMultiaddrs(), STREAM_PROTOCOL);
    const replies: Uint8Array[] = [];
    const reading = (async () => {
      try {
        for await (const c of raw) replies.push(c instanceof Uint8Array ? c : c.subarray());
      } catch {
        /* reset is fine */
      }
    })();
    raw.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await waitFor(() => errors.length > 0, 5000, 'peer-error');
    expect(errors[0]).toBe('frame-too-large');
    await reading;
    expect(dec.decode(Buffer.concat(replies))).toContain('peer-error:frame-too-large');
    // still serving
    requests.set('req-after-junk', { buyer: buyerId.address, deadline: Date.now() + 60_000 });
    const s = await openStream(buyer, seller.getMultiaddrs(), { requestId: 'req-after-junk', streamId: 'adsb' });
    await new Promise((r) => s.once('frame', r));
    await s.close();
  });
});
