// Runs in: Node. Seller liveness peer to peer (docs/market.md "Listing liveness"): before a buyer
// spends a request transaction on a listing that is past its refresh point (the seller should have
// re-posted it by now), it asks the network, not the ledger, whether the seller is there: a ping over
// an open connection, else a dial to the seller's peer id (addresses it learned before) and through
// the relays this node knows (a circuit only opens when the seller holds a reservation there and
// answers the Noise handshake with its own key). Reached → the request goes out as usual; not
// reached → the buyer falls back to what the ledger says: a listing still inside its TTL is asked
// over the ledger, one past its refresh point from a seller nobody reaches is refused before any
// transaction ("seller-unreachable", nothing sent). This lets a listing live long on the ledger
// (few refresh transactions) without a buyer paying request fees to sellers that left.
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Connection, PeerId } from '@libp2p/interface';

/** How long a liveness check may take at most. */
export const LIVENESS_TIMEOUT_MS = 4_000;

export type Liveness =
  | { alive: true; via: 'connection' | 'direct' | 'relay'; rttMs?: number }
  | { alive: false; tried: number; why: string };

export interface LivenessDeps {
  bestConnection(peer: string): Connection | undefined;
  ping(peer: string, signal?: AbortSignal): Promise<number | undefined>;
  dial(target: PeerId | Multiaddr[], o: { signal: AbortSignal }): Promise<Connection>;
  /** Multiaddrs (with /p2p/<relay>) of relays this node knows to be healthy. */
  relayAddrs(): string[];
}

/**
 * Whether `peer` (a libp2p peer id) answers peer to peer within `timeoutMs` — also at `listed`,
 * the addresses its Listing gives (`addrs`: where strangers reach it, relay circuits included).
 */
export async function checkLiveness(
  deps: LivenessDeps,
  peer: string,
  timeoutMs = LIVENESS_TIMEOUT_MS,
  listed: readonly string[] = [],
): Promise<Liveness> {
  const signal = AbortSignal.timeout(timeoutMs);
  if (deps.bestConnection(peer)) {
    const rtt = await deps.ping(peer, signal).catch(() => undefined);
    if (rtt !== undefined) return { alive: true, via: 'connection', rttMs: rtt };
  }
  let id: PeerId;
  try {
    id = peerIdFromString(peer);
  } catch {
    return { alive: false, tried: 0, why: `not a peer id: ${peer}` };
  }
  // ONE dial with every address: libp2p joins concurrent dials to the same peer into one, so
  // separate dials (the peer id alone, then each address) would all share the first one's fate
  const targets: Multiaddr[] = [];
  const add = (a: string): void => {
    try {
      targets.push(multiaddr(a));
    } catch {
      /* an address we cannot parse: skip it */
    }
  };
  for (const a of listed.slice(0, 6)) add(`${a}/p2p/${peer}`);
  for (const a of deps.relayAddrs().slice(0, 6)) add(`${a}/p2p-circuit/p2p/${peer}`);
  try {
    // no address: the peer id, with whatever addresses this node learned before
    const conn = await deps.dial(targets.length ? targets : id, { signal });
    if (conn.remotePeer.toString() !== peer) throw new Error('another peer answered');
    return { alive: true, via: conn.remoteAddr.toString().includes('/p2p-circuit') ? 'relay' : 'direct' };
  } catch (e) {
    const why = ((e as Error)?.message ?? String(e)) || 'no answer';
    return { alive: false, tried: Math.max(1, targets.length), why: why.slice(0, 300) };
  }
}

/**
 * A listing is past its refresh point when more than 3/4 of its TTL went by since it was posted:
 * its seller re-posts at half the TTL, so a live seller's listing is never that old.
 */
export function pastRefreshPoint(l: { publishedAt: number; expiresAt: number }, now = Date.now()): boolean {
  return now - l.publishedAt > ((l.expiresAt - l.publishedAt) * 3) / 4;
}

export function describeLiveness(l: Liveness): string {
  return l.alive
    ? `seller alive peer to peer (${l.via}${l.rttMs !== undefined ? `, ${Math.round(l.rttMs)} ms` : ''})`
    : `seller not reachable peer to peer (${l.tried} tried: ${l.why})`;
}
