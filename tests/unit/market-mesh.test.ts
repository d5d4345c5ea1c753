// The mesh's chain rules (market/mesh.ts) on a catalog in memory: depth limit, loops, upstreams
// that do not add up — the same rules the catalog applies to every derived Listing it reads.
import { describe, expect, it } from 'vitest';
import { address, type Address } from '@solana/kit';
import type { Listing } from '../../src-main/core/ledger/types';
import { Identity } from '../../src-main/core/identity/identity';
import { FrameDecoder, encodeData, type ChainFields } from '../../src-main/core/market/frames';
import type { ListingRow } from '../../src-main/core/store/listings';
import {
  chainOf,
  derivedListingProblem,
  fullBecause,
  MeshError,
  pickRedirect,
  rebroadcastsOf,
  planRebroadcast,
  SDATA_OVERHEAD,
  earlyRate,
  failoverCredit,
  wireBytes,
} from '../../src-main/core/market/mesh';
import { ChainVerifier, CHECKPOINT_FRAMES, frameChainer } from '../../src-main/core/market/frame-chain';
import { StreamHub } from '../../src-main/core/market/hub';

const A = [
  '9AhnrBWxtLFKREGaVypo45577Xb5mjkgZnPBAXXSr4ew',
  '7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV',
  'GsbwXfJraMomNxBcjYLcG3mxkBUiyWXAB32fGbSMQRdW',
  '4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T',
  '8opHzTAnfzRpPEx21XtnrVTX28YQuCpAjcn1PczScKh',
].map((s) => address(s));

const row = (seller: Address, streamId: string, o: Partial<ListingRow> = {}): ListingRow => ({
  id: `${seller}:${streamId}`,
  seller,
  streamId,
  title: 't',
  description: '',
  tags: [],
  format: 'application/x-ndjson',
  rateMilliHz: 10_000,
  priceDirect: 100n,
  priceRelay: 50n,
  periodSec: 60,
  region: null,
  origin: null,
  healthy: true,
  own: false,
  publishedAt: Date.now(),
  expiresAt: Date.now() + 60_000,
  delistedAt: null,
  signature: null,
  mint: null,
  schemaHint: null,
  addrs: [],
  full: false,
  upstream: null,
  hops: 0,
  hopMs: null,
  ...o,
});

// origin A0:wx → A1 (hop 1) → A2 (hop 2) → A3 (hop 3)
const origin = row(A[0]!, 'wx');
const h1 = row(A[1]!, 'rb-wx', { origin: origin.id, hops: 1 });
const h2 = row(A[2]!, 'rb-wx', { origin: origin.id, upstream: h1.id, hops: 2 });
const h3 = row(A[3]!, 'rb-wx', { origin: origin.id, upstream: h2.id, hops: 3 });
const store = { get: (id: string) => [origin, h1, h2, h3].find((l) => l.id === id) };

const listing = (o: Partial<Listing>): Listing =>
  ({
    type: 'Listing',
    nonce: new Uint8Array(16),
    expiresAt: 0,
    streamId: 'rb-wx',
    title: 't',
    description: '',
    tags: [],
    format: 'x',
    rateMilliHz: 0,
    priceDirect: 1n,
    periodSec: 60,
    healthy: true,
    roles: [],
    ...o,
  }) as Listing;
const ref = (l: ListingRow) => ({ seller: l.seller as Address, streamId: l.streamId });

describe('mesh chains', () => {
  it('walks a chain from the origin down', () => {
    expect((chainOf(store, h3) as ListingRow[]).map((l) => l.seller)).toEqual(A.slice(0, 4));
    expect(chainOf(store, row(A[4]!, 'x', { origin: origin.id, upstream: 'nobody:x', hops: 2 }))).toMatch(
      /upstream nobody:x is not a live listing/,
    );
  });

  it('plans a rebroadcast one hop deeper, refusing loops and a fourth hop', () => {
    expect(planRebroadcast(store, A[4]!, h2.id).hops).toBe(3);
    const refused = (me: Address, id: string): MeshError => {
      try {
        planRebroadcast(store, me, id);
      } catch (e) {
        return e as MeshError;
      }
      throw new Error('not refused');
    };
    expect(refused(A[4]!, h3.id).code).toBe('too-deep');
    expect(refused(A[4]!, h3.id).message).toMatch(/already 3 rebroadcasters from its origin \(at most 3\)/);
    expect(refused(A[1]!, h2.id).code).toBe('loop');
    expect(refused(A[0]!, h1.id).code).toBe('loop');
    expect(refused(A[2]!, h2.id).message).toMatch(/your own/);
    const closed = { get: (id: string) => (id === origin.id ? { ...origin, priceRelay: null } : store.get(id)) };
    try {
      planRebroadcast(closed, A[4]!, origin.id);
      throw new Error('not refused');
    } catch (e) {
      expect((e as MeshError).code).toBe('not-allowed');
    }
  });

  it('a catalog refuses derived listings whose chain does not hold', () => {
    const ok = listing({ origin: ref(origin), upstream: ref(h2), hops: 3 });
    expect(derivedListingProblem(store, A[4]!, ok)).toBeNull();
    expect(derivedListingProblem(store, A[1]!, ok)).toMatch(/^loop: .* is already in the chain/);
    expect(derivedListingProblem(store, A[4]!, { ...ok, hops: 2 })).toMatch(/at hop 2, not 1/);
    expect(derivedListingProblem(store, A[4]!, listing({ origin: ref(origin), hops: 2 }))).toMatch(
      /without an upstream/,
    );
    expect(derivedListingProblem(store, A[4]!, listing({ origin: ref(h1), hops: 1 }))).toMatch(/itself a rebroadcast/);
    expect(derivedListingProblem(store, A[0]!, listing({ origin: ref(origin) }))).toMatch(/its own origin/);
    expect(derivedListingProblem(store, A[4]!, listing({ origin: ref(origin) }))).toBeNull();
  });

  it('full: by buyers or by the upload budget (one more buyer of the stream must fit)', () => {
    expect(fullBecause({ held: 10, capacity: 10, rateBps: 0, uploadBps: null })).toMatch(/10 buyers, its capacity/);
    // 10 KiB/s per buyer, 100 KiB/s budget: the tenth fits, the eleventh does not
    expect(fullBecause({ held: 9, capacity: 50, rateBps: 10_240, uploadBps: 102_400 })).toBeNull();
    expect(fullBecause({ held: 10, capacity: 50, rateBps: 10_240, uploadBps: 102_400 })).toMatch(
      /upload budget 100 KiB\/s: 10 buyers × 10\.0 KiB\/s/,
    );
    expect(fullBecause({ held: 10, capacity: 50, rateBps: 0, uploadBps: 102_400 })).toBeNull(); // not measured yet
  });

  it("the upload budget counts the origin's chain fields: a 1 KiB 10 Hz chained stream still takes 10 buyers in 10.5 × its rate", () => {
    const origin = Identity.generate();
    const signed = new StreamHub('wx');
    // the clock stands still: one checkpoint in 10 frames (a slower stream checkpoints each second)
    signed.chainer = frameChainer(origin.seed(), `${origin.address}:wx`, () => 0);
    const plain = new StreamHub('plain');
    const payload = Buffer.alloc(1024, 1);
    for (let i = 0; i < 10; i++) {
      signed.publish(payload, 1_700_000_000_000 + i * 100);
      plain.publish(payload, 1_700_000_000_000 + i * 100);
    }
    // 10 frames of 1 KiB: the chained ones take a 1-byte flag each, and one checkpoint's chain hash
    // and signature (96 bytes), more on every buyer's stream
    expect(wireBytes(signed)).toBeCloseTo(10 * (1024 + SDATA_OVERHEAD), 6);
    expect(wireBytes(signed) - wireBytes(plain)).toBe(10 + 96);
    // over one second, a budget of 10.5 × (1 KiB + 21) per frame at 10 Hz: 10 buyers fit either way
    // (with a signature on every frame, 64 bytes more each, only 9 did)
    const budget = Math.floor(10.5 * 10 * (1024 + 21));
    expect(11 * 10 * (1024 + 21) > budget && 10 * 10 * (1024 + 21 + 64) > budget).toBe(true);
    const at = signed.firstFrameAt! + 1000;
    const fits = (hub: StreamHub): number => {
      let held = 0;
      while (fullBecause({ held, capacity: 50, rateBps: earlyRate(hub, at), uploadBps: budget }) === null) held++;
      return held;
    };
    expect(fits(plain)).toBe(10);
    expect(fits(signed)).toBe(10);
  });

  it("a failover's credit: period 0 starts when the lost source's paid time ends — at most one period away, once per cooldown", () => {
    const now = 1_700_000_000_000;
    const o = { now, periodMs: 60_000, lastGrantAt: undefined, cooldownMs: 600_000 };
    expect(failoverCredit({ ...o, creditUntil: now + 25_000 })).toBe(now + 25_000);
    // paid time already over: nothing to credit
    expect(failoverCredit({ ...o, creditUntil: now - 1 })).toBeNull();
    // more than a period ahead: one period, what the seller risks
    expect(failoverCredit({ ...o, creditUntil: now + 300_000 })).toBe(now + 60_000);
    // a second credit for the same buyer and stream within the cooldown: none; after it, again
    expect(failoverCredit({ ...o, creditUntil: now + 25_000, lastGrantAt: now - 599_000 })).toBeNull();
    expect(failoverCredit({ ...o, creditUntil: now + 25_000, lastGrantAt: now - 600_000 })).toBe(now + 25_000);
  });

  it('a redirect is followed only to the same stream at no more than the price the user accepted', () => {
    const cheap = row(A[1]!, 'rb-wx', { origin: origin.id, hops: 1, priceRelay: 40n });
    const dear = row(A[2]!, 'rb-wx', { origin: origin.id, hops: 1, priceRelay: 90n });
    const other = row(A[3]!, 'rb-other', { origin: `${A[0]}:other`, hops: 1, priceRelay: 10n });
    const st = { get: (id: string) => [origin, cheap, dear, other].find((l) => l.id === id) };
    const o = { me: A[4]!, originId: origin.id, ceiling: 100n, mint: null, avoid: [A[0]!] };
    expect(pickRedirect(st, [ref(dear), ref(cheap), ref(other)], o).listing?.id).toBe(cheap.id);
    const none = pickRedirect(st, [ref(dear), ref(other)], { ...o, ceiling: 50n });
    expect(none.listing).toBeNull();
    expect(none.why).toMatch(/90 per minute is above the 50 you accepted/);
    expect(none.why).toMatch(/another stream/);
  });

  it('a rebroadcast whose listing says full is named and picked last', () => {
    const open = row(A[1]!, 'rb-wx', { origin: origin.id, hops: 1, priceRelay: 60n });
    const full = row(A[2]!, 'rb-wx', { origin: origin.id, hops: 1, priceRelay: 40n, full: true });
    const all = [origin, open, full];
    const st = {
      get: (id: string) => all.find((l) => l.id === id),
      search: () => all,
    };
    // cheaper, but full: named after the one with room
    expect(rebroadcastsOf(st, origin.id).map((l) => l.id)).toEqual([open.id, full.id]);
    const o = { me: A[4]!, originId: origin.id, ceiling: 100n, mint: null, avoid: [A[0]!] };
    for (let i = 0; i < 20; i++) expect(pickRedirect(st, [ref(full), ref(open)], o).listing?.id).toBe(open.id);
    // the only one: still picked (a full rebroadcaster may hand the buyer on one hop deeper)
    expect(pickRedirect(st, [ref(full)], o).listing?.id).toBe(full.id);
  });

  it("frames carry the origin's chain through a hop: every frame checks out, one checkpoint in 10", () => {
    const { id, frames } = chainedFrames(25);
    expect(frames.map((f, i) => (f.chain.checkpoint ? i : -1)).filter((i) => i >= 0)).toEqual([0, 10, 20]);
    // the origin's wire frames, decoded by a rebroadcaster and encoded again with its own seq
    const hop = frames.map((f, i) => {
      const [a] = new FrameDecoder().push(encodeData(7 + i, f.ts, f.payload, f.chain));
      if (a?.kind !== 1) throw new Error('not DATA');
      const [b] = new FrameDecoder().push(encodeData(100 + i, a.ts, a.payload, a.chain));
      if (b?.kind !== 1) throw new Error('not DATA');
      return b;
    });
    expect(hop[0]).toMatchObject({ seq: 100, ts: frames[0]!.ts });
    expect(Buffer.from(hop[3]!.payload).toString()).toBe('{"n":3}');
    expect(run(id, hop)).toEqual({ problem: null, checkpoints: 3 });
    // a checkpoint costs 1 + 32 + 64 bytes on the wire, any other frame 1 byte
    expect(encodeData(0, 1, Buffer.alloc(1024), frames[0]!.chain).length).toBe(21 + 1 + 96 + 1024);
    expect(encodeData(0, 1, Buffer.alloc(1024), frames[1]!.chain).length).toBe(21 + 1 + 1024);
  });

  it('an altered frame is caught at the next checkpoint at the latest; an altered checkpoint at once', () => {
    const { id, frames } = chainedFrames(25);
    const payloadFlip = frames.map((f) => ({ ...f }));
    payloadFlip[4] = { ...payloadFlip[4]!, payload: flip(payloadFlip[4]!.payload) };
    expect(run(id, payloadFlip)).toEqual({ problem: 'broken', at: 10, checkpoints: 1 });
    const tsShift = frames.map((f, i) => (i === 7 ? { ...f, ts: f.ts + 1 } : f));
    expect(run(id, tsShift)).toEqual({ problem: 'broken', at: 10, checkpoints: 1 });
    const cpPayload = frames.map((f, i) => (i === 10 ? { ...f, payload: flip(f.payload) } : f));
    expect(run(id, cpPayload)).toEqual({ problem: 'broken', at: 10, checkpoints: 1 });
    const cpSig = frames.map((f, i) =>
      i === 20 ? { ...f, chain: { checkpoint: { ...f.chain.checkpoint!, sig: flip(f.chain.checkpoint!.sig) } } } : f,
    );
    expect(run(id, cpSig)).toEqual({ problem: 'broken', at: 20, checkpoints: 2 });
    // a checkpoint that claims another chain before it: its prev does not match what came
    const cpPrev = frames.map((f, i) =>
      i === 10 ? { ...f, chain: { checkpoint: { ...f.chain.checkpoint!, prev: flip(f.chain.checkpoint!.prev) } } } : f,
    );
    expect(run(id, cpPrev)).toEqual({ problem: 'broken', at: 10, checkpoints: 1 });
  });

  it('a dropped, an inserted frame or a reordered pair (seq renumbered by the hop) breaks the chain at the next checkpoint', () => {
    const { id, frames } = chainedFrames(25);
    const dropped = frames.filter((_, i) => i !== 5);
    expect(run(id, dropped)).toEqual({ problem: 'broken', at: 9, checkpoints: 1 }); // the old frame 10, renumbered 9
    const inserted = [...frames.slice(0, 6), { ...frames[5]!, ts: frames[5]!.ts + 50 }, ...frames.slice(6)];
    expect(run(id, inserted)).toEqual({ problem: 'broken', at: 11, checkpoints: 1 });
    const swapped = [...frames.slice(0, 3), frames[4]!, frames[3]!, ...frames.slice(5)];
    expect(run(id, swapped)).toEqual({ problem: 'broken', at: 10, checkpoints: 1 });
    // a checkpoint dropped: the next one does not continue what came
    expect(
      run(
        id,
        frames.filter((_, i) => i !== 10),
      ),
    ).toEqual({ problem: 'broken', at: 19, checkpoints: 1 });
  });

  it('a buyer joins mid-stream at a checkpoint; a first frame that is no checkpoint, or unchained, is refused', () => {
    const { id, frames } = chainedFrames(25);
    expect(run(id, frames.slice(10))).toEqual({ problem: null, checkpoints: 2 });
    expect(run(id, frames.slice(5))).toEqual({ problem: 'broken', at: 0, checkpoints: 0 });
    const v = new ChainVerifier(id);
    expect(v.check({ seq: 0, ts: 1, payload: Buffer.from('{}') })).toBe('unsigned');
    // after a seq gap (frames the seller could not send) the next frame must be a checkpoint again
    const gap = new ChainVerifier(id);
    frames.slice(0, 4).forEach((f, i) => expect(gap.check({ ...f, seq: i })).toBeNull());
    expect(gap.check({ ...frames[10]!, seq: 10 })).toBeNull();
    expect(gap.check({ ...frames[11]!, seq: 11 })).toBeNull();
    expect(gap.check({ ...frames[13]!, seq: 13 })).toBe('broken');
    // another origin's key, or the same key for another stream, does not verify
    expect(run(`${Identity.generate().address}:wx`, frames)).toEqual({ problem: 'broken', at: 0, checkpoints: 0 });
    expect(run(`${id.split(':')[0]}:other`, frames)).toEqual({ problem: 'broken', at: 0, checkpoints: 0 });
  });

  it('a slow stream: a frame ≥ 1 s after the last checkpoint is a checkpoint too', () => {
    const origin = Identity.generate();
    let now = 0;
    const chain = frameChainer(origin.seed(), `${origin.address}:slow`, () => now);
    const marks = [0, 300, 700, 1000, 1100, 2500, 2600].map((t) => {
      now = t;
      return chain(1_700_000_000_000 + t, Buffer.from('{}')).checkpoint ? t : -1;
    });
    expect(marks).toEqual([0, -1, -1, 1000, -1, 2500, -1]);
    expect(CHECKPOINT_FRAMES).toBe(10);
  });
});

type Chained = { seq: number; ts: number; payload: Uint8Array; chain: ChainFields };

/** `n` frames of one origin's chained stream (its clock standing still: a checkpoint every 10th). */
function chainedFrames(n: number): { id: string; frames: Chained[] } {
  const origin = Identity.generate();
  const id = `${origin.address}:wx`;
  const chain = frameChainer(origin.seed(), id, () => 0);
  const frames = Array.from({ length: n }, (_, i) => {
    const ts = 1_700_000_000_000 + i * 100;
    const payload = Buffer.from(`{"n":${i}}`);
    return { seq: i, ts, payload, chain: chain(ts, payload) };
  });
  return { id, frames };
}

/** A buyer's check of `frames` as one session delivers them (numbered 0, 1, … by the last hop). */
function run(
  id: string,
  frames: { ts: number; payload: Uint8Array; chain?: ChainFields }[],
): { problem: string | null; at?: number; checkpoints: number } {
  const v = new ChainVerifier(id);
  for (let i = 0; i < frames.length; i++) {
    const p = v.check({ ...frames[i]!, seq: i });
    if (p) return { problem: p, at: i, checkpoints: v.checkpoints };
  }
  return { problem: null, checkpoints: v.checkpoints };
}

function flip(b: Uint8Array): Uint8Array {
  const c = Uint8Array.from(b);
  c[c.length - 1]! ^= 1;
  return c;
}
