// Runs in: Node. Choosing relays and reflectors from NodeAnnounce messages and checking that
// they are alive. The market reads announcements from the market topic and hands them here.
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from '@libp2p/interface';
import { pingConnection } from './status';
import { udpResponder } from './discovery';
import { stunBinding } from './stun';
import { ipScope } from './addresses';

export interface RoleCandidate {
  /** The announcing node's PeerId (= its ledger address as a PeerId). */
  peer: string;
  roles: ('relay' | 'reflector')[];
  multiaddrs: string[];
  /** Unix seconds. */
  expiresAt: number;
  /** Lamports per minute of a relayed purchase (absent = free). */
  relayPrice?: bigint;
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

/** A reflector's STUN server: the UDP responder it announces, as a stun: URL (first one). */
export function reflectorStunUrl(c: RoleCandidate): string | undefined {
  const udp = c.multiaddrs.map(udpResponder).find((u) => u !== undefined);
  if (!udp) return undefined;
  return `stun:${udp.ep.ip.includes(':') ? `[${udp.ep.ip}]` : udp.ep.ip}:${udp.ep.port}`;
}

/** The network an address is in, for spreading servers: /16 for IPv4, /32 for IPv6. */
function networkOf(url: string): string {
  const host = url
    .replace(/^stun:/, '')
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '');
  return host.includes(':') ? host.split(':').slice(0, 2).join(':') : host.split('.').slice(0, 2).join('.');
}

export interface IceServerInput {
  /** Relay/reflector announcements (the directory). */
  candidates: RoleCandidate[];
  health?: Map<string, HealthResult>;
  /** stun:host:port URLs the user configured (settings.stunServers). */
  configured?: string[];
  /** The latest consensus verdict: its outvoted sources are left out, its answering sources go first. */
  report?: { sources: string[]; outvoted?: string[] };
  self?: string;
  nowSec?: number;
  /** At most this many (default 4). */
  max?: number;
}

/**
 * The STUN servers ICE may use, best first: the healthy reflectors of the directory (peers are the
 * STUN servers) plus the configured ones. Left out: reflectors whose health check failed and every
 * source the consensus outvoted (a liar would hand ICE a wrong server-reflexive candidate).
 * First: servers that answered the last discovery with the agreed address; one per network before
 * a second from the same network. Note: node-datachannel (libdatachannel + libjuice) uses ONE STUN
 * server per peer connection, picked at random from its list (measured) — give it the first.
 */
export function iceServers(o: IceServerInput): string[] {
  const outvoted = new Set(o.report?.outvoted ?? []);
  const answered = new Set(o.report?.sources ?? []);
  type Entry = { url: string; source: string; rank: number };
  const entries: Entry[] = [];
  const reflectors = pickRoles(o.candidates, 'reflector', {
    ...(o.self ? { self: o.self } : {}),
    ...(o.nowSec ? { nowSec: o.nowSec } : {}),
    ...(o.health ? { health: o.health } : {}),
    count: 32,
  });
  reflectors.forEach((c, i) => {
    const url = reflectorStunUrl(c);
    if (url) entries.push({ url, source: `reflector:${c.peer}`, rank: i });
  });
  (o.configured ?? []).forEach((s, i) => {
    const url = s.startsWith('stun:') ? s : `stun:${s}`;
    entries.push({ url, source: `stun:${url.slice(5)}`, rank: 1000 + i });
  });
  const usable = entries
    .filter((e) => !outvoted.has(e.source))
    .sort((a, b) => Number(answered.has(b.source)) - Number(answered.has(a.source)) || a.rank - b.rank);
  const out: string[] = [];
  const nets = new Set<string>();
  for (const pass of [0, 1]) {
    for (const e of usable) {
      if (out.includes(e.url)) continue;
      const net = networkOf(e.url);
      if (pass === 0 && nets.has(net)) continue;
      nets.add(net);
      out.push(e.url);
    }
  }
  return out.slice(0, o.max ?? 4);
}

export interface AutoRoleInput {
  /** The latest consensus verdict (absent before the first discovery). */
  report?: {
    publicIp?: string | null;
    mapping: string;
    reachability: string;
    filtering?: string | null;
    sources: string[];
  };
  /** The IPs this node listens on (its own interface addresses). */
  listenIps: string[];
  /** A peer's dial reached us: a reflector's dial-back or an inbound direct connection. */
  confirmed: boolean;
  /** Healthy or unchecked reflectors we know, other than ourselves. */
  reflectorsKnown: number;
}

export interface AutoRoleDecision {
  relay: boolean;
  reflector: boolean;
  reason: string;
}

/** The verdict says others can reach us unasked: public (no NAT) or a full cone NAT. */
export function publicVerdict(r: AutoRoleInput['report']): 'public' | 'full cone' | undefined {
  if (!r) return undefined;
  if (r.reachability === 'public') return 'public';
  if (r.mapping === 'endpoint-independent' && r.filtering === 'endpoint-independent') return 'full cone';
  return undefined;
}

/**
 * The rule for roles in mode 'auto' (the one place it lives). A node serves as relay and reflector
 * when its consensus verdict says public or full cone AND a dial from a peer confirmed it. The first
 * node of a network has nobody to ask: with a public address on its own interface and no verdict
 * yet (no reflector known, or none asked since one appeared) it serves as reflector at once (others
 * then find their address with it, and their health checks dial it), and as relay too once such a
 * dial has reached it.
 */
export function autoRoleDecision(i: AutoRoleInput): AutoRoleDecision {
  const r = i.report;
  const kind = publicVerdict(r);
  const at = r?.publicIp ? ` at ${r.publicIp}` : '';
  if (kind) {
    if (i.confirmed)
      return { relay: true, reflector: true, reason: `publicly reachable (${kind}${at}), confirmed by a peer's dial` };
    return { relay: false, reflector: false, reason: `verdict ${kind}${at}: waiting for a dial-back to confirm it` };
  }
  if (r && r.sources.length > 0)
    return {
      relay: false,
      reflector: false,
      reason: `not publicly reachable (${r.reachability}, ${r.mapping} mapping)`,
    };
  // no verdict yet (no reflector to ask, or none asked since one appeared): a public interface
  // address is the evidence; a reflector that appears later must not switch the roles off before a
  // verdict exists (that stranded every home of a lab run without reflector or relay)
  const publicIf = i.listenIps.find((ip) => ipScope(ip) === 'public');
  if (publicIf && (i.reflectorsKnown === 0 || !r || r.sources.length === 0)) {
    const why = i.reflectorsKnown === 0 ? 'no reflector to ask' : 'no verdict yet';
    if (i.confirmed)
      return {
        relay: true,
        reflector: true,
        reason: `public interface address ${publicIf}, reached by a peer's dial (${why})`,
      };
    return {
      relay: false,
      reflector: true,
      reason: `public interface address ${publicIf} (${why}): serving as reflector; relay once a peer's dial reaches it`,
    };
  }
  return { relay: false, reflector: false, reason: 'no observation of our address yet' };
}
