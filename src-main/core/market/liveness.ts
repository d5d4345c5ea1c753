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
import { multiaddr } from '@multiformats/multiaddr';
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
  dial(target: PeerId | ReturnType<typeof multiaddr>, o: { signal: AbortSignal }): Promise<Connection>;
  /** Multiaddrs (with /p2p/<relay>) of relays this node knows to be healthy. */
  relayAddrs(): string[];
}

/** Whether `peer` (a libp2p peer id) answers peer to peer within `timeoutMs`. */
export async function checkLiveness(
  deps: LivenessDeps,
  peer: string,
  timeoutMs = LIVENESS_TIMEOUT_MS,
): Promise<Liveness> {
  const signal = AbortSignal.timeout(timeoutMs);
  if (deps.bestConnection(peer)) {
    const rtt = await deps.ping(peer, signal).catch(() => undefined);
    if (rtt !== undefined) return { alive: true, via: 'connection', rttMs: rtt };
  }
  const tries: { via: 'direct' | 'relay'; target: PeerId | ReturnType<typeof multiaddr> }[] = [];
  try {
    tries.push({ via: 'direct', target: peerIdFromString(peer) });
  } catch {
    return { alive: false, tried: 0, why: `not a peer id: ${peer}` };
  }
  for (const a of deps.relayAddrs().slice(0, 6)) {
    try {
      tries.push({ via: 'relay', target: multiaddr(`${a}/p2p-circuit/p2p/${peer}`) });
    } catch {
      /* an address we cannot parse: skip it */
    }
  }
  try {
    const hit = await Promise.any(
      tries.map(async (t) => {
        const conn = await deps.dial(t.target, { signal });
        if (conn.remotePeer.toString() !== peer) throw new Error('another peer answered');
        return t.via;
      }),
    );
    return { alive: true, via: hit };
  } catch (e) {
    const errs = e instanceof AggregateError ? e.errors : [e];
    const why = errs.map((x) => (x as Error)?.message ?? String(x)).find(Boolean) ?? 'no answer';
    return { alive: false, tried: tries.length, why: why.slice(0, 160) };
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
