// Runs in: Node (test harness, root). A port-mapping router: Debian's real miniupnpd (nftables
// build, UPnP-IGD v2 + NAT-PMP/PCP) in a NAT router namespace, serving the router's LAN.
//
// miniupnpd refuses to map anything while its WAN address is in a reserved range ("Reserved /
// private IP address … Port forwarding is impossible"), and 198.18.0.0/15 is one. A router built
// with `portMapping: true` therefore gets its WAN address from 198.20.N.0/24 (next to the lab's
// range, outside every reserved one) — still only inside the lab's namespaces, which have no link
// to the outside.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsRun } from './exec';
import type { LabProcess } from './process';
import type { Router } from './types';

/** miniupnpd's own table: its rules (DNAT per mapping, forward accept) go into these chains. */
export const MINIUPNPD_TABLE = [
  'table inet miniupnpd {',
  '  chain forward {',
  '    type filter hook forward priority filter; policy accept;',
  '    jump miniupnpd',
  '  }',
  '  chain miniupnpd {',
  '  }',
  '  chain prerouting {',
  '    type nat hook prerouting priority dstnat; policy accept;',
  '    jump prerouting_miniupnpd',
  '  }',
  '  chain postrouting {',
  '    type nat hook postrouting priority srcnat; policy accept;',
  '    jump postrouting_miniupnpd',
  '  }',
  '  chain prerouting_miniupnpd {',
  '  }',
  '  chain postrouting_miniupnpd {',
  '  }',
  '}',
  '',
].join('\n');

export interface MiniupnpdOptions {
  /** Refuse every mapping (an `deny` rule for all): the router answers, but says no. */
  refuse?: boolean;
  /** false: UPnP-IGD only (NAT-PMP/PCP off), as many routers ship. */
  natpmp?: boolean;
}

export function miniupnpdConfig(router: Router, dir: string, o: MiniupnpdOptions = {}): string {
  return [
    'ext_ifname=wan',
    'listening_ip=lan',
    'port=0',
    `enable_natpmp=${o.natpmp === false ? 'no' : 'yes'}`,
    'enable_upnp=yes',
    'secure_mode=yes',
    'system_uptime=yes',
    'notify_interval=30',
    'clean_ruleset_interval=600',
    'min_lifetime=120',
    'max_lifetime=86400',
    `lease_file=${join(dir, 'upnp.leases')}`,
    'upnp_table_name=miniupnpd',
    'upnp_nat_table_name=miniupnpd',
    'upnp_forward_chain=miniupnpd',
    'upnp_nat_chain=prerouting_miniupnpd',
    'upnp_nat_postrouting_chain=postrouting_miniupnpd',
    'uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b',
    'friendly_name=Axon NAT lab router',
    ...(o.refuse ? [] : [`allow 1024-65535 ${router.lanSubnet} 1024-65535`]),
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}

/** Start miniupnpd in `router`'s namespace; resolves once it listens for NAT-PMP. */
export async function startMiniupnpd(
  router: Router,
  dir: string,
  spawn: (cmd: string, args: string[], label: string) => LabProcess,
  o: MiniupnpdOptions = {},
): Promise<LabProcess> {
  await nsRun(router.ns, 'nft', ['-f', '-'], { input: MINIUPNPD_TABLE }).catch(() => undefined);
  const conf = join(dir, `miniupnpd-${router.name}.conf`);
  writeFileSync(conf, miniupnpdConfig(router, dir, o));
  // -d: foreground, log to stderr — folded into stdout, where the lab reads lines
  // -P: its own pid file (the default one in /run is shared by every namespace: "already running")
  const pid = join(dir, `miniupnpd-${router.name}.pid`);
  const p = spawn('sh', ['-c', `exec miniupnpd -d -f ${conf} -P ${pid} 2>&1`], `${router.name}:miniupnpd`);
  await p.waitForLine(o.natpmp === false ? /HTTP listening on port/ : /Listening for NAT-PMP/, 10_000);
  return p;
}

/** Forget every mapping behind miniupnpd's back (the router lost them: "expired silently"). */
export async function flushMappings(router: Router): Promise<void> {
  for (const chain of ['miniupnpd', 'prerouting_miniupnpd', 'postrouting_miniupnpd'])
    await nsRun(router.ns, 'nft', ['flush', 'chain', 'inet', 'miniupnpd', chain]);
}
