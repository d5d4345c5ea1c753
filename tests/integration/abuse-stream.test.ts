// A stranger (no identity on the ledger, no SOL, no ticket) against a real seller node on
// loopback: it must not make the seller buffer more than a ticket's worth per stream, nor hold
// more than a few streams waiting for a ticket, and an honest buyer is served throughout
// (docs/security.md, "Streams").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import type { Stream } from '@libp2p/interface';
import type { AxonNode } from '../../src-main/core/node';
import { FrameDecoder, KIND_CONTROL, STREAM_PROTOCOL, type Control } from '../../src-main/core/market/frames';
import { MAX_PENDING_PER_PEER, MAX_STREAMS_PER_CONNECTION } from '../../src-main/core/market/stream-server';
import { makeLibp2p, runCleanups, startSellerAndBuyer, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;

/** The first CONTROL frame the seller sends on a raw stream (or null if the stream just ends). */
async function firstControl(stream: Stream): Promise<Control | null> {
  const d = new FrameDecoder();
  try {
    for await (const chunk of stream) {
      for (const f of d.push(chunk)) if (f.kind === KIND_CONTROL) return f.control;
    }
  } catch {
    return null;
  }
  return null;
}

describe('a stranger against the stream protocol', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let seller: AxonNode;
  let buyer: AxonNode;
  let attacker: Libp2p;
  const listingId = (): string => `${seller.identity.address}:wx`;
  const addrs = () => seller.net.multiaddrs().map((a) => multiaddr(a));

  beforeAll(async () => {
    ({ seller, buyer } = await startSellerAndBuyer(SOL, cleanups));
    await seller.sell({ streamId: 'wx', title: 'Weather', source: { kind: 'weather', hz: 10 }, priceDirect: 1000n });
    attacker = (await makeLibp2p()).node;
    // lift the attacker's own outbound limit (64 by default for a protocol it does not serve)
    await attacker.handle(STREAM_PROTOCOL, (s) => s.abort(new Error('no')), { maxOutboundStreams: 1024 });
    cleanups.unshift(() => attacker.stop());
    await waitFor(() => buyer.listings().find((l) => l.id === listingId()), 15_000, 'listing');
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('a frame header announcing megabytes before any ticket is refused at once (frame-too-large)', async () => {
    const s = await attacker.dialProtocol(addrs(), STREAM_PROTOCOL);
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, 4 * 1024 * 1024); // the old limit: 4 MiB per stream
    s.send(head);
    s.send(new Uint8Array(64 * 1024).fill(7));
    const c = await firstControl(s);
    // before the fix the seller kept buffering and answered only 'no-ticket' after 10 s
    expect(c).toMatchObject({ t: 'error', code: 'peer-error:frame-too-large' });
  });

  it(`more than ${MAX_PENDING_PER_PEER} streams without a ticket are refused 'busy'; an honest buyer is served meanwhile`, async () => {
    await attacker.hangUp(seller.net.libp2p.peerId);
    const conn = await attacker.dial(addrs());
    const streams: Stream[] = [];
    for (let i = 0; i < MAX_PENDING_PER_PEER + 8; i++) {
      streams.push(await conn.newStream(STREAM_PROTOCOL, { runOnLimitedConnection: true }));
    }
    const answers = streams.map((s) => firstControl(s));
    // the honest buyer buys and receives frames while the attacker's streams are pending
    const p = await buyer.buy(listingId(), { minutes: 1 });
    const all = await Promise.all(answers);
    const codes = all.map((c) => (c && c.t === 'error' ? c.code : String(c?.t)));
    // before the fix: no 'busy' at all — every stream was held until its ticket timeout
    expect(codes.filter((c) => c === 'busy')).toHaveLength(8);
    expect(codes.filter((c) => c === 'no-ticket')).toHaveLength(MAX_PENDING_PER_PEER);
    await waitFor(() => (buyer.purchase(p.id)?.frames ?? 0) > 5, 20_000, 'frames for the honest buyer');
    await buyer.stop(p.id);
  });

  it(`a connection opening more than ${MAX_STREAMS_PER_CONNECTION} streams at once gets the extra ones reset`, async () => {
    await attacker.hangUp(seller.net.libp2p.peerId);
    const conn = await attacker.dial(addrs());
    const opened: Promise<string>[] = [];
    let reset = 0;
    for (let i = 0; i < MAX_STREAMS_PER_CONNECTION + 16; i++) {
      const s = await conn.newStream(STREAM_PROTOCOL, { runOnLimitedConnection: true }).catch(() => null);
      if (!s) {
        reset++;
        continue;
      }
      // the seller answers every stream it accepted ('busy' or, later, 'no-ticket')
      opened.push(firstControl(s).then((c) => (c?.t === 'error' ? c.code : 'nothing')));
    }
    const results = await Promise.all(opened);
    const answered = results.filter((r) => r !== 'nothing').length;
    // before the fix all 80 were accepted (1,024 allowed per connection)
    expect(answered).toBeLessThanOrEqual(MAX_STREAMS_PER_CONNECTION);
    expect(results.filter((r) => r === 'nothing').length + reset).toBeGreaterThan(0);
    // the seller still serves: a new purchase streams
    const p = await buyer.buy(listingId(), { minutes: 1 });
    await waitFor(() => (buyer.purchase(p.id)?.frames ?? 0) > 5, 20_000, 'frames after the flood');
    await buyer.stop(p.id);
  });
});
