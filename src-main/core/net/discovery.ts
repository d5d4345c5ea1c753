// Runs in: Node. Address discovery: STUN servers (RFC 5780 tests where a server has two
// addresses) and reflectors (UDP probes from ONE local socket, so their observed ports reveal
// the mapping; plus /axon/reflect over libp2p) → combineObservations.
import { isIPv4 } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import { combineObservations, type AddressObservation } from './nat-verdict';
import { localIps, openUdp, reflectorFilteringTest, stunBinding, stunMappingTest, type Endpoint } from './stun';
import { multiaddrIp } from './addresses';
import type { NatReport } from './types';

export interface DiscoverOptions {
  stunServers: string[];
  /** Reflector addresses from NodeAnnounce: UDP responders (/ip4/x/udp/p[/p2p/id]) and libp2p addrs (…/p2p/id). */
  reflectors: string[];
  reflectPeer?: (addrs: string[], signal?: AbortSignal) => Promise<{ observed: Endpoint; protocol: 'tcp' | 'udp' }>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The last verdict: kept (with a warning) when nobody answered this time — a busy machine or
   *  a lost packet must not turn a known NAT into 'unknown'. */
  previous?: NatReport;
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

/** What discovery saw: the observations, and how many UDP servers it asked (none answering UDP
 *  while a reflector answered over TCP means outbound UDP is blocked). */
export interface Observations {
  obs: AddressObservation[];
  udpAsked: number;
}

export async function collectObservations(o: DiscoverOptions): Promise<AddressObservation[]> {
  return (await observe(o)).obs;
}

async function observe(o: DiscoverOptions): Promise<Observations> {
  const timeoutMs = o.timeoutMs ?? 1500;
  const obs: AddressObservation[] = [];
  const socket = await openUdp();
  let udpAsked = 0;
  try {
    const tasks: Promise<void>[] = [];
    udpAsked += o.stunServers.length;
    const filteringAsked = new Set<string>();
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
        udpAsked++;
        // the filtering test once per reflector, at its first (main) port, from a socket of its own
        const who = udp.peer ?? udp.ep.ip;
        if (!filteringAsked.has(who) && isIPv4(udp.ep.ip)) {
          filteringAsked.add(who);
          tasks.push(
            reflectorFilteringTest(udp.ep, { timeoutMs, signal: o.signal }).then(
              (r) =>
                void (
                  r.mapped &&
                  r.localPort !== undefined &&
                  obs.push({
                    source: `reflector:${udp.peer ?? `${udp.ep.ip}:${udp.ep.port}`}`,
                    observer: `${udp.ep.ip}:${udp.ep.port}`,
                    protocol: 'udp',
                    localPort: r.localPort,
                    observed: r.mapped,
                    ...(r.filtering !== 'unknown' ? { filteringTest: r.filtering } : {}),
                    ...(r.bound ? { filteringBound: true } : {}),
                  })
                ),
              () => undefined,
            ),
          );
        }
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
  return { obs, udpAsked };
}

/** A UDP silence is believed only after a second, slower pass (a busy machine or a lost packet
 *  must not read as a TCP-only network): this long per probe. */
const UDP_RECHECK_TIMEOUT_MS = 5000;

export async function discoverAddress(o: DiscoverOptions): Promise<NatReport> {
  const first = await observe(o);
  let report = combineObservations(first.obs, { localIps: localIps(), udpAsked: first.udpAsked });
  if (report.mapping === 'udp-blocked' && !o.signal?.aborted) {
    const again = await observe({
      ...o,
      reflectors: o.reflectors.filter((a) => udpResponder(a)),
      reflectPeer: undefined,
      timeoutMs: UDP_RECHECK_TIMEOUT_MS,
    });
    if (again.obs.length > 0)
      report = combineObservations([...first.obs, ...again.obs], { localIps: localIps(), udpAsked: first.udpAsked });
  }
  if (report.sources.length === 0 && o.previous && o.previous.mapping !== 'unknown') {
    const note = 'no observer answered this time: the previous verdict stands';
    return { ...o.previous, warnings: [...o.previous.warnings.filter((w) => w !== note), note] };
  }
  return report;
}
