// Runs in: Node. IP classification and the announce filter: which of our addresses make sense
// to a remote peer (no loopback unless asked, no docker/tun/virtual bridges, no link-local).
import { networkInterfaces } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { AnnounceFilterOptions } from './types';

export type IpScope = 'loopback' | 'private' | 'link-local' | 'cgnat' | 'public' | 'unspecified' | 'invalid';

function v4(ip: string): number[] | undefined {
  if (!isIPv4(ip)) return undefined;
  return ip.split('.').map(Number);
}

/** The relay's peer id in a circuit address (…/p2p/<relay>/p2p-circuit…), or undefined. */
export const circuitRelay = (a: string): string | undefined => /\/p2p\/([^/]+)\/p2p-circuit/.exec(a)?.[1];

export function ipScope(ip: string): IpScope {
  const a = v4(ip);
  if (a) {
    const [x, y] = a as [number, number];
    if (x === 0) return 'unspecified';
    if (x === 127) return 'loopback';
    if (x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168)) return 'private';
    if (x === 169 && y === 254) return 'link-local';
    if (x === 100 && y >= 64 && y <= 127) return 'cgnat';
    return 'public';
  }
  if (isIPv6(ip)) {
    const l = ip.toLowerCase();
    if (l === '::') return 'unspecified';
    if (l === '::1') return 'loopback';
    if (l.startsWith('fe8') || l.startsWith('fe9') || l.startsWith('fea') || l.startsWith('feb')) return 'link-local';
    if (l.startsWith('fc') || l.startsWith('fd')) return 'private';
    if (l.startsWith('::ffff:')) return ipScope(l.slice(7));
    return 'public';
  }
  return 'invalid';
}

/** True when the address is reachable only inside a LAN (or this host). */
export const isLanIp = (ip: string): boolean => ['loopback', 'private', 'link-local', 'cgnat'].includes(ipScope(ip));

export const DEFAULT_DENY_INTERFACES = ['docker', 'br-', 'veth', 'tun', 'tap', 'wg', 'virbr', 'zt', 'utun'];

/** IPs of interfaces whose name marks them as virtual (docker, tun, …): never announced. */
export function deniedInterfaceIps(prefixes = DEFAULT_DENY_INTERFACES): Set<string> {
  const out = new Set<string>();
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    for (const a of addrs ?? []) out.add(a.address);
  }
  return out;
}

/** The IP of a multiaddr's first component, if it is /ip4 or /ip6. */
export function multiaddrIp(ma: Multiaddr): string | undefined {
  const c = ma.getComponents()[0];
  return c && (c.name === 'ip4' || c.name === 'ip6') ? c.value : undefined;
}

export function makeAnnounceFilter(opts: AnnounceFilterOptions = {}): (addrs: Multiaddr[]) => Multiaddr[] {
  const allowLoopback = opts.allowLoopback ?? false;
  const allowPrivate = opts.allowPrivate ?? true;
  return (addrs) => {
    const denied = deniedInterfaceIps(opts.denyInterfaces);
    return addrs.filter((ma) => {
      // a circuit address is as reachable as its relay, which filtered its own announcement
      if (ma.getComponents().some((c) => c.name === 'p2p-circuit')) return true;
      const ip = multiaddrIp(ma);
      if (ip === undefined) return true; // dns, circuit-only…
      if (denied.has(ip)) return false;
      const scope = ipScope(ip);
      if (scope === 'loopback') return allowLoopback;
      if (scope === 'private' || scope === 'cgnat') return allowPrivate;
      return scope === 'public';
    });
  };
}

/** Same rule for a bare IP (ICE candidates). */
export function ipAllowed(
  ip: string,
  opts: AnnounceFilterOptions = {},
  denied = deniedInterfaceIps(opts.denyInterfaces),
): boolean {
  if (denied.has(ip)) return false;
  const scope = ipScope(ip);
  if (scope === 'loopback') return opts.allowLoopback ?? false;
  if (scope === 'private' || scope === 'cgnat') return opts.allowPrivate ?? true;
  return scope === 'public';
}

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
}

/** True when `ip` is on one of this host's subnets (or loopback): a LAN path. IPv4 only; IPv6 by scope. */
export function isOnLink(ip: string): boolean {
  const scope = ipScope(ip);
  if (scope === 'loopback') return true;
  if (!isIPv4(ip)) return scope === 'link-local' || scope === 'private';
  const x = v4ToInt(ip);
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      const mask = v4ToInt(a.netmask);
      if ((v4ToInt(a.address) & mask) === (x & mask)) return true;
    }
  }
  return false;
}

/**
 * The peer's direct addresses worth dialing. Its LAN addresses only make sense inside its own
 * home: when both public IPs are known and differ, they are another network's private range — a
 * home with the same range (both 192.168.1.0/24) would dial a stranger there, or itself — so
 * they are left out. With either IP unknown they stay (a dial to the wrong peer fails at Noise).
 */
export function directAddrsWorthDialing<T extends Multiaddr>(
  addrs: T[],
  myPublicIp?: string,
  theirPublicIp?: string,
): T[] {
  if (!myPublicIp || !theirPublicIp || myPublicIp === theirPublicIp) return addrs;
  return addrs.filter((a) => {
    const ip = multiaddrIp(a);
    return ip === undefined || !isLanIp(ip);
  });
}
