// The mesh's chain rules (market/mesh.ts) on a catalog in memory: depth limit, loops, upstreams
// that do not add up — the same rules the catalog applies to every derived Listing it reads.
import { describe, expect, it } from 'vitest';
import { address, type Address } from '@solana/kit';
import type { Listing } from '../../src-main/core/ledger/types';
import { Identity } from '../../src-main/core/identity/identity';
import { FrameDecoder, encodeData } from '../../src-main/core/market/frames';
import type { ListingRow } from '../../src-main/core/store/listings';
import {
  chainOf,
  derivedListingProblem,
  frameSigner,
  frameVerifier,
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

  it("the upload budget counts each frame's origin signature: a signed stream takes fewer buyers", () => {
    const origin = Identity.generate();
    const signed = new StreamHub('wx');
    signed.signer = frameSigner(origin.seed(), `${origin.address}:wx`);
    const plain = new StreamHub('plain');
    const payload = Buffer.alloc(1024, 1);
    for (let i = 0; i < 10; i++) {
      signed.publish(payload, 1_700_000_000_000 + i * 100);
      plain.publish(payload, 1_700_000_000_000 + i * 100);
    }
    // 10 frames of 1 KiB: the signed ones take 64 bytes more each on every buyer's stream
    expect(wireBytes(signed)).toBe(10 * (1024 + SDATA_OVERHEAD));
    expect(wireBytes(signed) - wireBytes(plain)).toBe(10 * 64);
    // over one second, a budget of 10.5 × (1 KiB + 21) per frame at 10 Hz: 10 plain buyers fit, 9 signed
    const budget = Math.floor(10.5 * 10 * (1024 + 21));
    const at = signed.firstFrameAt! + 1000;
    const fits = (hub: StreamHub): number => {
      let held = 0;
      while (fullBecause({ held, capacity: 50, rateBps: earlyRate(hub, at), uploadBps: budget }) === null) held++;
      return held;
    };
    expect(fits(plain)).toBe(10);
    expect(fits(signed)).toBe(9);
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

  it("frames carry the origin's signature through a hop; an altered payload or timestamp fails the check", () => {
    const origin = Identity.generate();
    const id = `${origin.address}:wx`;
    const sign = frameSigner(origin.seed(), id);
    const payload = Buffer.from('{"t":1}');
    const sig = sign(1_700_000_000_000, payload);
    // the origin's wire frame, decoded by a rebroadcaster and encoded again with its own seq
    const [f] = new FrameDecoder().push(encodeData(7, 1_700_000_000_000, payload, sig));
    const hop = f!.kind === 1 ? f : null;
    const [g] = new FrameDecoder().push(encodeData(42, hop!.ts, hop!.payload, hop!.sig));
    const check = frameVerifier(id);
    expect(g).toMatchObject({ kind: 1, seq: 42, ts: 1_700_000_000_000 });
    expect(check(g as { ts: number; payload: Uint8Array; sig?: Uint8Array })).toBe(true);
    expect(check({ ts: 1_700_000_000_000, payload: Buffer.from('{"t":2}'), sig })).toBe(false);
    expect(check({ ts: 1_700_000_000_001, payload, sig })).toBe(false);
    expect(check({ ts: 1_700_000_000_000, payload })).toBe(false);
    // another origin's key, or the same key for another stream, does not verify
    expect(frameVerifier(`${Identity.generate().address}:wx`)({ ts: 1_700_000_000_000, payload, sig })).toBe(false);
    expect(frameVerifier(`${origin.address}:other`)({ ts: 1_700_000_000_000, payload, sig })).toBe(false);
  });
});
