// Runs in: anywhere (pure). The consensus combiner: observations of our address by STUN servers,
// reflector peers and ledger reports → one verdict { publicIp, mapping, reachability, sources,
// confidence, warnings }. A majority fixes the IP; for one local port, differing observed ports
// mean endpoint-dependent mapping ("symmetric": go to the relay); agreeing ports from different
// servers mean endpoint-independent (punchable); observed == local means no NAT (public); UDP
// servers silent while reflectors answer over TCP means outbound UDP is blocked (relay only).
import type { NatReport } from './types';

export interface AddressObservation {
  /** 'stun:<ip:port>' | 'reflector:<peer>' | 'ledger:<peer>' */
  source: string;
  /** Address of the observer that saw us (different observers are what reveal the mapping). */
  observer?: string;
  protocol: 'udp' | 'tcp';
  /** Our local port the probe left from. */
  localPort: number;
  observed: { ip: string; port: number };
  /** An RFC 5780 mapping verdict this source produced itself (STUN with two addresses). */
  mappingTest?: 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'none' | 'unknown';
  /** An RFC 5780 filtering verdict from the same test. */
  filteringTest?: 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';
  /** The filtering test could only change the port (a one-IP reflector): 'address-dependent'
   *  then means "address-dependent or endpoint-independent". */
  filteringBound?: boolean;
}

export interface CombineOptions {
  /** This host's interface addresses (observed IP among them = no NAT). */
  localIps: string[];
  /** UDP servers (STUN, reflectors) asked: none answering while TCP observations came back means
   *  outbound UDP is blocked (a TCP-only network). */
  udpAsked?: number;
}

export function combineObservations(obs: AddressObservation[], opts: CombineOptions): NatReport {
  const warnings: string[] = [];
  const sources = [...new Set(obs.map((o) => o.source))];
  if (obs.length === 0) {
    return {
      mapping: 'unknown',
      reachability: 'unknown',
      sources,
      confidence: 0,
      warnings: ['no address observations: no STUN server or reflector answered'],
    };
  }
  // 1. the public IP: majority of sources (one vote per source)
  const votes = new Map<string, Set<string>>();
  for (const o of obs) {
    const s = votes.get(o.observed.ip) ?? new Set<string>();
    s.add(o.source);
    votes.set(o.observed.ip, s);
  }
  const ranked = [...votes.entries()].sort((a, b) => b[1].size - a[1].size);
  const [publicIp, agreeing] = ranked[0]!;
  if (ranked.length > 1) {
    const others = ranked.slice(1).map(([ip, s]) => `${ip} (${[...s].join(', ')})`);
    warnings.push(
      `observers disagree on the public IP: ${publicIp} by ${agreeing.size} source(s), but also ${others.join('; ')}`,
    );
    if (ranked[1]![1].size === agreeing.size) warnings.push('no majority for the public IP: the verdict is a guess');
  }
  const mine = obs.filter((o) => o.observed.ip === publicIp);
  const confidence = Math.round((agreeing.size / sources.length) * Math.min(1, sources.length / 3) * 100) / 100;
  // sources that only ever saw us elsewhere: liars or broken observers, never used as ICE servers
  const outvoted = ranked.length > 1 ? sources.filter((s) => !agreeing.has(s)) : [];
  const base = { sources, confidence, warnings, ...(outvoted.length ? { outvoted } : {}) };
  // 1b. UDP blocked: reflectors answered over TCP, no UDP server did — no hole punch can work
  if ((opts.udpAsked ?? 0) > 0 && !obs.some((o) => o.protocol === 'udp')) {
    warnings.push(
      `none of ${opts.udpAsked} STUN server/reflector UDP port(s) answered while a reflector answered over TCP: outbound UDP is blocked here, so no hole punch (relay over TCP)`,
    );
    return { publicIp, mapping: 'udp-blocked', reachability: 'relay-only', ...base };
  }

  // 2. no NAT: the world sees our own address and port
  if (opts.localIps.includes(publicIp)) {
    const portsKept = mine.filter((o) => o.localPort >= 0).every((o) => o.observed.port === o.localPort);
    if (portsKept) {
      return { publicIp, mapping: 'none', reachability: 'public', ...base };
    }
    warnings.push('the observed IP is local but ports were rewritten: a firewall or NAT on this host');
  }

  // 3. mapping: for one local port (UDP), do different observers see the same port?
  let dependent = false;
  let independent = false;
  const byLocal = new Map<number, AddressObservation[]>();
  for (const o of mine) {
    if (o.protocol !== 'udp') continue;
    const l = byLocal.get(o.localPort) ?? [];
    l.push(o);
    byLocal.set(o.localPort, l);
  }
  for (const group of byLocal.values()) {
    const observers = new Set(group.map((o) => o.observer ?? o.source));
    const ports = new Set(group.map((o) => o.observed.port));
    if (ports.size > 1) dependent = true;
    else if (observers.size > 1) independent = true;
  }
  for (const o of mine) {
    if (o.mappingTest === 'address-dependent' || o.mappingTest === 'address-and-port-dependent') dependent = true;
    else if (o.mappingTest === 'endpoint-independent') independent = true;
    else if (o.mappingTest === 'none' && !opts.localIps.includes(publicIp)) {
      warnings.push(`${o.source} reports no NAT but the observed IP ${publicIp} is not local`);
    }
  }
  if (dependent && independent)
    warnings.push('some observers saw one port, others different ports: treating the NAT as endpoint-dependent');
  const mapping = dependent ? 'endpoint-dependent' : independent ? 'endpoint-independent' : 'unknown';
  if (mapping === 'unknown')
    warnings.push(
      'too few observers of one local UDP port to tell the NAT mapping (need two with different addresses)',
    );
  const reachability =
    mapping === 'endpoint-dependent' ? 'relay-only' : mapping === 'endpoint-independent' ? 'punchable' : 'unknown';
  // filtering: the most permissive a test saw (a NAT cannot let in more than it does)
  const tested = mine.filter((o) => o.filteringTest && o.filteringTest !== 'unknown');
  const order = ['endpoint-independent', 'address-dependent', 'address-and-port-dependent'] as const;
  const filtering = order.find((f) => tested.some((o) => o.filteringTest === f));
  if (filtering === 'address-dependent' && tested.every((o) => o.filteringTest !== filtering || o.filteringBound))
    warnings.push(
      'filtering lets in other ports of an address we sent to; whether it also lets in other addresses (full cone) needs a reflector with two IPs',
    );
  return { publicIp, mapping, reachability, ...(filtering ? { filtering } : {}), ...base };
}
