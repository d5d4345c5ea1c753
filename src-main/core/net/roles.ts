// Runs in: Node. Choosing relays and reflectors from NodeAnnounce messages and checking that
// they are alive. The market reads announcements from the market topic and hands them here.
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from '@libp2p/interface';
import { pingConnection } from './status';
import { udpResponder } from './discovery';
import { stunBinding } from './stun';

export interface RoleCandidate {
  /** The announcing node's PeerId (= its ledger address as a PeerId). */
  peer: string;
  roles: ('relay' | 'reflector')[];
  multiaddrs: string[];
  /** Unix seconds. */
  expiresAt: number;
}

export interface HealthResult {
  peer: string;
  ok: boolean;
  rttMs?: number;
  error?: string;
}

/** Fresh announcements with the role, one per peer, never ourselves; healthiest first when health is known. */
export function pickRoles(
  candidates: RoleCandidate[],
  role: 'relay' | 'reflector',
  o: { self?: string; count?: number; nowSec?: number; health?: Map<string, HealthResult> } = {},
): RoleCandidate[] {
  const now = o.nowSec ?? Math.floor(Date.now() / 1000);
  const byPeer = new Map<string, RoleCandidate>();
  for (const c of candidates) {
    if (!c.roles.includes(role) || c.expiresAt <= now || c.peer === o.self) continue;
    const prev = byPeer.get(c.peer);
    if (!prev || prev.expiresAt < c.expiresAt) byPeer.set(c.peer, c);
  }
  const score = (c: RoleCandidate): number => {
    const h = o.health?.get(c.peer);
    if (!h) return 5_000; // unknown: after the healthy, before the dead
    return h.ok ? (h.rttMs ?? 1000) : 1e9;
  };
  return [...byPeer.values()]
    .filter((c) => o.health?.get(c.peer)?.ok !== false)
    .sort((a, b) => score(a) - score(b))
    .slice(0, o.count ?? 3);
}

/** The libp2p addresses of a relay candidate, each ending in /p2p/<peer>. */
export function relayAddrs(c: RoleCandidate): string[] {
  return c.multiaddrs
    .filter((a) => !udpResponder(a))
    .map((a) => (a.includes(`/p2p/${c.peer}`) ? a : `${a}/p2p/${c.peer}`))
    .filter((a) => {
      try {
        multiaddr(a);
        return true;
      } catch {
        return false;
      }
    });
}

/** Dial the relay/reflector and ping it (and probe its UDP responder for a reflector). */
export async function checkRelayHealth(libp2p: Libp2p, c: RoleCandidate, timeoutMs = 5000): Promise<HealthResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const addrs = relayAddrs(c).map((a) => multiaddr(a));
    if (addrs.length === 0) throw new Error('announcement holds no dialable address');
    const conn = await libp2p.dial(addrs, { signal });
    const rttMs = await pingConnection(conn, signal);
    if (c.roles.includes('reflector')) {
      const udp = c.multiaddrs.map(udpResponder).find((u) => u !== undefined);
      if (udp) await stunBinding(udp.ep, { timeoutMs: Math.min(timeoutMs, 2000), signal });
    }
    return { peer: c.peer, ok: true, rttMs };
  } catch (err) {
    return { peer: c.peer, ok: false, error: (err as Error).message };
  }
}
