// Runs in: Node. Address discovery: STUN servers (RFC 5780 tests where a server has two
// addresses) and reflectors (UDP probes from ONE local socket, so their observed ports reveal
// the mapping; plus /axon/reflect over libp2p) → combineObservations.
import { multiaddr } from '@multiformats/multiaddr';
import { combineObservations, type AddressObservation } from './nat-verdict';
import { localIps, openUdp, stunBinding, stunMappingTest, type Endpoint } from './stun';
import { multiaddrIp } from './addresses';
import type { NatReport } from './types';

export interface DiscoverOptions {
  stunServers: string[];
  /** Reflector addresses from NodeAnnounce: UDP responders (/ip4/x/udp/p[/p2p/id]) and libp2p addrs (…/p2p/id). */
  reflectors: string[];
  reflectPeer?: (addrs: string[], signal?: AbortSignal) => Promise<{ observed: Endpoint; protocol: 'tcp' | 'udp' }>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** A bare UDP responder address: /ipX/<ip>/udp/<port> optionally followed by /p2p/<id>. */
export function udpResponder(addr: string): { ep: Endpoint; peer?: string } | undefined {
  try {
    const comps = multiaddr(addr).getComponents();
    const ip = multiaddrIp(multiaddr(addr));
    if (!ip || comps[1]?.name !== 'udp') return undefined;
    const rest = comps.slice(2);
    if (rest.some((c) => c.name !== 'p2p')) return undefined;
    return { ep: { ip, port: Number(comps[1].value) }, ...(rest[0]?.value ? { peer: rest[0].value } : {}) };
  } catch {
    return undefined;
  }
}

export async function collectObservations(o: DiscoverOptions): Promise<AddressObservation[]> {
  const timeoutMs = o.timeoutMs ?? 1500;
  const obs: AddressObservation[] = [];
  const socket = await openUdp();
  try {
    const tasks: Promise<void>[] = [];
    for (const s of o.stunServers) {
      tasks.push(
        stunMappingTest(s, { timeoutMs, signal: o.signal }).then((r) => {
          r.observations.forEach((x, i) =>
            obs.push({
              source: `stun:${r.server.ip}:${r.server.port}`,
              observer: `${x.server.ip}:${x.server.port}`,
              protocol: 'udp',
              localPort: x.localPort,
              observed: x.mapped,
              ...(i === 0 && r.mapping !== 'unknown' ? { mappingTest: r.mapping } : {}),
              ...(i === 0 && r.filtering !== 'unknown' ? { filteringTest: r.filtering } : {}),
            }),
          );
        }),
      );
      // the same server also probed from the shared socket, beside the reflectors
      tasks.push(
        stunBinding(s, { socket, timeoutMs, signal: o.signal }).then(
          (r) =>
            void obs.push({
              source: `stun:${r.server.ip}:${r.server.port}`,
              observer: `${r.server.ip}:${r.server.port}`,
              protocol: 'udp',
              localPort: r.localPort,
              observed: r.mapped,
            }),
          () => undefined,
        ),
      );
    }
    const byPeer = new Map<string, string[]>(); // libp2p reflectors: one query per peer
    for (const addr of o.reflectors) {
      const udp = udpResponder(addr);
      if (udp) {
        tasks.push(
          stunBinding(udp.ep, { socket, timeoutMs, signal: o.signal }).then(
            (r) =>
              void obs.push({
                source: `reflector:${udp.peer ?? `${udp.ep.ip}:${udp.ep.port}`}`,
                observer: `${udp.ep.ip}:${udp.ep.port}`,
                protocol: 'udp',
                localPort: r.localPort,
                observed: r.mapped,
              }),
            () => undefined,
          ),
        );
        continue;
      }
      let peer: string | undefined;
      try {
        peer = multiaddr(addr)
          .getComponents()
          .find((c) => c.name === 'p2p')?.value;
      } catch {
        continue;
      }
      if (!peer) continue;
      byPeer.set(peer, [...(byPeer.get(peer) ?? []), addr]);
    }
    if (o.reflectPeer) {
      for (const [peer, addrs] of byPeer) {
        tasks.push(
          o.reflectPeer(addrs, o.signal).then(
            (r) =>
              void obs.push({
                source: `reflector:${peer}`,
                observer: addrs[0],
                protocol: r.protocol,
                localPort: -1,
                observed: r.observed,
              }),
            () => undefined,
          ),
        );
      }
    }
    await Promise.all(tasks);
  } finally {
    socket.close();
  }
  return obs;
}

export async function discoverAddress(o: DiscoverOptions): Promise<NatReport> {
  return combineObservations(await collectObservations(o), { localIps: localIps() });
}
