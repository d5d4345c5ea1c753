// Runs in: Node (test harness). The shapes the NAT lab hands out: hosts, routers, servers.
import type { NatKind } from './nat-rules';
import type { LabProcess } from './process';

export interface LabHost {
  /** Name given at creation (unique in the lab). */
  name: string;
  /** Network namespace name, `<lab>-<name>` (use with `ip netns exec`). */
  ns: string;
  /** The host's main address: public hosts and routers 198.18.N.2, LAN hosts 10.M.0.K. */
  ip: string;
  kind: 'public' | 'router' | 'lan';
}

export interface PublicHost extends LabHost {
  kind: 'public';
  /** All addresses on eth0, `ips[0] === ip`. */
  ips: string[];
}

export interface Router extends LabHost {
  kind: 'router';
  nat: NatKind;
  /** The public (WAN) address hosts behind it are seen with; same as `ip`. */
  wanIp: string;
  /** The router's LAN address (LAN hosts' gateway). */
  lanIp: string;
  /** e.g. '10.1.0.0/24'. */
  lanSubnet: string;
  delayMs: number;
  /** miniupnpd, when built with `portMapping`. */
  miniupnpd?: import('./process').LabProcess;
}

export interface LanHost extends LabHost {
  kind: 'lan';
  router: Router;
}

export interface RouterOptions {
  kind: NatKind;
  /**
   * First three octets of the LAN (a /24), default `10.M.0` (M = router number). Give two
   * routers the same one (e.g. '192.168.1') to build homes with overlapping LANs.
   */
  lanPrefix?: string;
  /**
   * Delay (ms) for packets leaving the router's WAN towards the internet (one way, like
   * `tc qdisc add dev wan root netem delay Xms`). Two routers with 50 ms each add 100 ms RTT
   * between their hosts. Uses netem where the kernel has it, else a userspace TAP wire (python3).
   */
  delayMs?: number;
  /**
   * Run Debian's miniupnpd (UPnP-IGD v2 + NAT-PMP) on the router for its LAN (miniupnpd.ts). The
   * WAN address is then 198.20.N.2: miniupnpd maps nothing on a reserved address such as 198.18/15.
   * `{ refuse: true }`: it answers, but refuses every mapping; `{ natpmp: false }`: UPnP-IGD only.
   */
  portMapping?: boolean | { refuse?: boolean; natpmp?: boolean };
}

export interface StunServer {
  host: PublicHost;
  /** 'ip:port' of the primary address and port. */
  primary: string;
  /** 'ip:port' of the other address (RFC 5780 OTHER-ADDRESS: other IP, alternate port). */
  alternate: string;
  ip: string;
  altIp: string;
  port: number;
  altPort: number;
  /** 'stun:ip:port' for ICE configurations. */
  url: string;
  process: LabProcess;
}

export interface LedgerServer {
  host: PublicHost;
  /** e.g. 'http://198.18.N.2:8899'. */
  rpcUrl: string;
  /** e.g. 'ws://198.18.N.2:8900'. */
  wsUrl: string;
  process: LabProcess;
}

export type Availability = { ok: true } | { ok: false; reason: string };
