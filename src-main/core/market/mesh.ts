// Runs in: Node. The mesh (docs/mesh.md): rebroadcast trees. A rebroadcaster buys a stream once
// and sells a derived listing that names its origin and, at depth ≥ 2, its upstream (the
// rebroadcast it buys from). The rules every node applies alike live here: a chain's depth is at
// most MAX_MESH_HOPS, the origin is named and live, and nobody appears twice in a chain (no loop).
import { randomInt } from 'node:crypto';
import type { Listing } from '../ledger/types';
import { MAX_MESH_HOPS } from '../ledger/messages';
import { listingId, type ListingRow, type ListingStore } from '../store/listings';
import { pricePerMinute, tierOf } from './pricing';

export { MAX_MESH_HOPS };

/** The mesh's settings as the market uses them (core/settings.ts `mesh`). */
export interface MeshOptions {
  /** Default upload budget of a stream for sale, bytes/s (null: none); a sell option overrides it. */
  uploadBps: number | null;
}

/** Bytes on the wire per DATA frame besides its payload (length, kind, seq, ts: frames.ts). */
export const DATA_OVERHEAD = 21;
/** …and on average per chained DATA frame (SDATA) of a stream of ≥ 10 frames/s, what an origin
 *  whose stream may be rebroadcast sends each buyer: a 1-byte flag, plus a checkpoint's chain hash
 *  and signature (32 + 64) on one frame in CHECKPOINT_FRAMES (10; a slower stream: one checkpoint
 *  a second, so more per frame). The upload budget counts the real bytes (wireBytes). */
export const SDATA_OVERHEAD = DATA_OVERHEAD + 1 + (32 + 64) / 10;

/** The bytes a hub's frames take on each buyer's stream: payload + header + chain fields (if chained). */
export function wireBytes(hub: { wireBytesIn: number }): number {
  return hub.wireBytesIn;
}

/**
 * When period 0 of a failover's sale starts (docs/mesh.md "Faults"; null: now, no credit): the
 * ticket's `creditUntil` when later than now, at most one period away, and only when this buyer
 * got no credit on this stream within `cooldownMs` (`lastGrantAt`). What the seller risks is one
 * period of its stream per buyer per cooldown, like a grace window.
 */
export function failoverCredit(o: {
  creditUntil: number;
  now: number;
  periodMs: number;
  lastGrantAt: number | undefined;
  cooldownMs: number;
}): number | null {
  if (o.creditUntil <= o.now) return null;
  if (o.lastGrantAt !== undefined && o.now - o.lastGrantAt < o.cooldownMs) return null;
  return Math.min(o.creditUntil, o.now + o.periodMs);
}

/** A stream's rate on the wire (bytes/s per buyer), from its hub's counters sampled each second. */
export class StreamRate {
  #last = new Map<string, { bytes: number; at: number; rate: number }>();

  sample(key: string, bytes: number, now = Date.now()): void {
    const prev = this.#last.get(key);
    if (!prev) return void this.#last.set(key, { bytes, at: now, rate: 0 });
    const dt = (now - prev.at) / 1000;
    if (dt < 0.5) return;
    const r = Math.max(0, bytes - prev.bytes) / dt;
    // a smoothed rate (about 5 s): a burst does not turn buyers away, a lasting rise does
    const rate = prev.rate === 0 ? r : prev.rate + (r - prev.rate) * Math.min(1, dt / 5);
    this.#last.set(key, { bytes, at: now, rate });
  }

  /** Bytes/s per buyer (0: not measured yet). */
  rate(key: string): number {
    return this.#last.get(key)?.rate ?? 0;
  }

  delete(key: string): void {
    this.#last.delete(key);
  }
}

/**
 * A stream's rate on the wire before StreamRate has two samples (its first second or so): its bytes
 * since its first frame (bytes/s; 0 under 200 ms or with no frame). Without it the upload budget
 * did not apply to the buyers of a stream's first second (bench mesh: all of them took the origin).
 */
export function earlyRate(
  hub: { wireBytesIn: number; firstFrameAt: number | null } | undefined,
  now = Date.now(),
): number {
  if (!hub || hub.firstFrameAt === null) return 0;
  const dt = (now - hub.firstFrameAt) / 1000;
  return dt < 0.2 ? 0 : wireBytes(hub) / dt;
}

/**
 * Why a stream takes no further buyer (null: it does): `held` places against its capacity, and
 * one more buyer's share of the stream's rate against the upload budget (bytes/s).
 */
export function fullBecause(o: {
  held: number;
  capacity: number;
  rateBps: number;
  uploadBps: number | null;
}): string | null {
  if (o.held >= o.capacity) return `${o.held} buyers, its capacity`;
  if (o.uploadBps !== null && o.rateBps > 0 && (o.held + 1) * o.rateBps > o.uploadBps)
    return `upload budget ${Math.round(o.uploadBps / 1024)} KiB/s: ${o.held} buyers × ${(o.rateBps / 1024).toFixed(1)} KiB/s`;
  return null;
}

/** A stream's listing says "full" (or no longer) at most this often: each change is a transaction. */
export const FULL_FLAG_MIN_MS = 10_000;

const live = (l: ListingRow | undefined, now: number): l is ListingRow =>
  !!l && l.delistedAt === null && l.expiresAt > now;

/**
 * The chain of a listing from its origin down to it: [origin, hop 1, …, listing]. A string says
 * why there is no valid chain (a member unknown or dead, depths that do not add up).
 */
export function chainOf(store: Pick<ListingStore, 'get'>, l: ListingRow, now = Date.now()): ListingRow[] | string {
  if (!l.origin) return [l];
  const out: ListingRow[] = [l];
  let cur = l;
  for (let guard = 0; guard <= MAX_MESH_HOPS; guard++) {
    const upId = cur.upstream ?? cur.origin!;
    const up = store.get(upId);
    if (!live(up, now)) return `its upstream ${upId} is not a live listing here`;
    if (up.origin) {
      if (up.origin !== l.origin) return `its upstream ${upId} rebroadcasts another origin`;
      if (up.hops !== cur.hops - 1) return `its upstream ${upId} is at hop ${up.hops}, not ${cur.hops - 1}`;
      out.unshift(up);
      cur = up;
      continue;
    }
    if (up.id !== l.origin) return `its upstream chain ends at ${up.id}, not at its origin ${l.origin}`;
    if (cur.hops !== 1) return `bought from its origin but says hop ${cur.hops}`;
    out.unshift(up);
    return out;
  }
  return `its chain is deeper than ${MAX_MESH_HOPS} rebroadcasters`;
}

/** The sellers along a chain, origin first. */
export const chainSellers = (chain: ListingRow[]): string[] => chain.map((c) => c.seller);

/**
 * Why a derived Listing from `sender` is not taken by a catalog (null: it is). The origin must be
 * another seller's live listing and no rebroadcast; the upstream (when named) a live rebroadcast
 * of the same origin one hop up; the sender nowhere in the chain.
 */
export function derivedListingProblem(
  store: Pick<ListingStore, 'get'>,
  sender: string,
  m: Listing,
  now = Date.now(),
): string | null {
  if (!m.origin) return m.upstream || m.hops !== undefined ? 'upstream or hops without an origin' : null;
  if (m.origin.seller === sender) return 'a relay cannot be its own origin';
  const originId = listingId(m.origin.seller, m.origin.streamId);
  const origin = store.get(originId);
  if (!live(origin, now)) return `its origin ${originId} is not a live listing here`;
  if (origin.origin) return `its origin ${originId} is itself a rebroadcast`;
  const hops = m.hops ?? 1;
  if (hops > MAX_MESH_HOPS) return `too deep: hop ${hops}, at most ${MAX_MESH_HOPS}`;
  if (!m.upstream) return hops === 1 ? null : `hop ${hops} without an upstream`;
  const upId = listingId(m.upstream.seller, m.upstream.streamId);
  if (upId === originId) return hops === 1 ? null : `bought from its origin but says hop ${hops}`;
  const up = store.get(upId);
  if (!live(up, now)) return `its upstream ${upId} is not a live listing here`;
  const chain = chainOf(store, up, now);
  if (typeof chain === 'string') return `its upstream is not valid: ${chain}`;
  if (up.origin !== originId) return `its upstream ${upId} rebroadcasts another origin`;
  if (up.hops !== hops - 1) return `its upstream ${upId} is at hop ${up.hops}, not ${hops - 1}`;
  if (chainSellers(chain).includes(sender)) return `loop: ${sender} is already in the chain of ${upId}`;
  return null;
}

export type MeshRefusal = 'loop' | 'too-deep' | 'not-allowed' | 'unknown-listing';

export class MeshError extends Error {
  override name = 'MeshError';
  constructor(
    readonly code: MeshRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** What a rebroadcast of `listingIdToBuy` by `me` would be; throws MeshError with the reason. */
export function planRebroadcast(
  store: Pick<ListingStore, 'get'>,
  me: string,
  listingIdToBuy: string,
  now = Date.now(),
): { upstream: ListingRow; origin: ListingRow; hops: number; chain: ListingRow[] } {
  const up = store.get(listingIdToBuy);
  if (!live(up, now)) throw new MeshError('unknown-listing', `no live listing '${listingIdToBuy}'`);
  if (up.seller === me) throw new MeshError('loop', 'loop refused: that listing is your own');
  const chain = chainOf(store, up, now);
  if (typeof chain === 'string') throw new MeshError('unknown-listing', `cannot rebroadcast '${up.id}': ${chain}`);
  if (chainSellers(chain).includes(me))
    throw new MeshError(
      'loop',
      `loop refused: you are already in the chain of '${up.id}' (${chain.map((c) => c.id).join(' → ')})`,
    );
  const hops = up.hops + 1;
  if (hops > MAX_MESH_HOPS)
    throw new MeshError(
      'too-deep',
      `too deep: '${up.id}' is already ${up.hops} rebroadcasters from its origin (at most ${MAX_MESH_HOPS})`,
    );
  const origin = chain[0]!;
  if (origin.priceRelay === null)
    throw new MeshError(
      'not-allowed',
      `the origin '${origin.id}' allows no rebroadcast (it lists no rebroadcast price)`,
    );
  if (up.priceRelay === null) throw new MeshError('not-allowed', `'${up.id}' allows no rebroadcast`);
  return { upstream: up, origin, hops, chain };
}

/** The stream id of this node's rebroadcast of an origin stream (one per origin per node). */
export const rebroadcastStreamId = (origin: ListingRow): string =>
  `rb-${origin.streamId}`.slice(0, 48).replace(/[^A-Za-z0-9._-]/g, '-');

/**
 * Live, healthy rebroadcasts of an origin listing (any depth): the ones with room first (a full
 * one costs the buyer one more request; it is still named when nothing else is, as it may hand the
 * buyer on one hop deeper), then cheapest first, then shallowest.
 */
export function rebroadcastsOf(
  store: Pick<ListingStore, 'search'>,
  originId: string,
  o: { except?: string[]; tier?: 'direct' | 'relay' } = {},
): ListingRow[] {
  const except = new Set(o.except ?? []);
  return store
    .search({ includeOwn: true, healthyOnly: true, limit: 5000 })
    .filter((d) => d.origin === originId && !except.has(d.seller))
    .map((d) => ({ d, price: pricePerMinute(d, o.tier ?? tierOf(d)) }))
    .filter((x): x is { d: ListingRow; price: bigint } => x.price !== null)
    .sort((a, b) =>
      a.d.full !== b.d.full
        ? a.d.full
          ? 1
          : -1
        : a.price < b.price
          ? -1
          : a.price > b.price
            ? 1
            : a.d.hops - b.d.hops,
    )
    .map((x) => x.d);
}

/**
 * Latency of the frames a purchase receives, from the origin's timestamp (frames keep it through
 * every hop): the median of the last samples, ms.
 */
export class LatencyMeter {
  #samples = new Map<string, number[]>();
  static readonly KEEP = 64;

  add(key: string, ms: number): void {
    let a = this.#samples.get(key);
    if (!a) this.#samples.set(key, (a = []));
    a.push(Math.max(0, ms));
    if (a.length > LatencyMeter.KEEP) a.shift();
  }

  /** Samples kept for `key`. */
  count(key: string): number {
    return this.#samples.get(key)?.length ?? 0;
  }

  median(key: string): number | undefined {
    const a = this.#samples.get(key);
    if (!a?.length) return undefined;
    const s = [...a].sort((x, y) => x - y);
    return s[Math.floor(s.length / 2)];
  }

  delete(key: string): void {
    this.#samples.delete(key);
  }
}

/**
 * The listing a redirected purchase asks next (docs/mesh.md): among the rebroadcasts a full
 * seller named, the cheapest live, healthy one of the same stream (same origin) that costs at
 * most `ceiling` per minute (what the user accepted) in the same asset, not sold by this node or
 * by a seller to avoid — one whose listing does not say full when there is one. `why` says why
 * there is none.
 */
export function pickRedirect(
  store: Pick<ListingStore, 'get'>,
  refs: { seller: string; streamId: string }[],
  o: { me: string; originId: string; ceiling: bigint; mint: string | null; avoid?: string[] },
  now = Date.now(),
): { listing: ListingRow; why?: undefined } | { listing: null; why: string } {
  const seen: string[] = [];
  const fit: { l: ListingRow; price: bigint }[] = [];
  for (const r of refs) {
    const l = store.get(listingId(r.seller, r.streamId));
    if (!live(l, now)) {
      seen.push(`${r.seller.slice(0, 8)}: not a live listing here`);
      continue;
    }
    const price = pricePerMinute(l, 'relay');
    const problem =
      l.seller === o.me
        ? 'your own'
        : o.avoid?.includes(l.seller)
          ? 'the full seller itself'
          : l.origin !== o.originId
            ? 'another stream'
            : !l.healthy
              ? 'source down'
              : (l.mint ?? null) !== o.mint
                ? 'another asset'
                : price === null
                  ? 'no price'
                  : price > o.ceiling
                    ? `${price} per minute is above the ${o.ceiling} you accepted`
                    : null;
    if (problem) {
      seen.push(`${l.id.slice(0, 8)}: ${problem}`);
      continue;
    }
    fit.push({ l, price: price! });
  }
  // the cheapest; among equally cheap ones any at random, so that the buyers a full seller sends
  // away spread over its rebroadcasts instead of all filling the first one named (bench mesh:
  // 68 of 100 buyers were turned away while 8 of 10 rebroadcasters had none)
  const withRoom = fit.filter((x) => !x.l.full);
  const pool = withRoom.length ? withRoom : fit;
  if (pool.length) {
    const min = pool.reduce((m, x) => (x.price < m ? x.price : m), pool[0]!.price);
    const cheapest = pool.filter((x) => x.price === min);
    return { listing: cheapest[randomInt(cheapest.length)]!.l };
  }
  return { listing: null, why: seen.length ? seen.join('; ') : 'no rebroadcast named' };
}

/** One hop of the path a purchase's data takes: who, and the latency that hop adds (ms). */
export interface PathHop {
  node: string;
  role: 'origin' | 'rebroadcaster' | 'you';
  /** Latency this hop adds, ms (null: not measured yet); the origin's own is 0. */
  addsMs: number | null;
}

/**
 * The path origin → rebroadcaster(s) → you of a purchase of `listing`, with the latency each hop
 * adds: a rebroadcast's listing says how late its data is when it leaves it (hopMs, measured from
 * the origin's timestamps), and `e2eMs` is what this node measures the same way.
 */
export function pathOf(
  store: Pick<ListingStore, 'get'>,
  listing: ListingRow,
  me: string,
  e2eMs: number | undefined,
): PathHop[] {
  const chain = chainOf(store, listing);
  const hops: ListingRow[] = Array.isArray(chain) ? chain : [listing];
  const out: PathHop[] = [];
  let prev: number | null = 0;
  for (const [i, l] of hops.entries()) {
    if (i === 0 && !l.origin) {
      out.push({ node: l.seller, role: 'origin', addsMs: 0 });
      continue;
    }
    const at = l.hopMs;
    out.push({
      node: l.seller,
      role: 'rebroadcaster',
      addsMs: at !== null && prev !== null ? Math.max(0, at - prev) : null,
    });
    prev = at;
  }
  out.push({
    node: me,
    role: 'you',
    addsMs: e2eMs !== undefined && prev !== null ? Math.max(0, Math.round(e2eMs - prev)) : null,
  });
  return out;
}
