// Runs in: Node (test harness). The nftables ruleset a NAT router namespace loads, per NAT kind.
// Interfaces inside a router namespace are always named `wan` (towards the internet namespace) and
// `lan` (a bridge the LAN hosts are attached to).
//
// Behaviour measured on this kernel (docs/natlab.md, /work/shared/FACTS.md):
// - 'eim'      masquerade: endpoint-independent mapping, source port preserved, address-and-port-
//              dependent ("port-restricted") filtering. Most home routers.
// - 'edm'      masquerade fully-random (= iptables MASQUERADE --random-fully): a new random public
//              port per destination ("symmetric"). Carrier-grade / corporate NATs.
// - 'fullcone' masquerade + a dynamic map public-port → LAN address, filled on every outgoing UDP
//              packet and used to DNAT inbound UDP from anyone: endpoint-independent filtering.
// Every kind drops unsolicited new packets from the WAN to the router itself (INPUT), as real
// home routers do; without that, a peer's first punch packet creates a conntrack entry on the
// router and the host's own packet then gets a random port (FACTS: 0/5 punches).

export type NatKind = 'eim' | 'edm' | 'fullcone';

export const NAT_KINDS: readonly NatKind[] = ['eim', 'edm', 'fullcone'];

/** Human description of each kind, as the RFC 4787 / RFC 5780 vocabulary puts it. */
export const NAT_KIND_DESCRIPTION: Record<NatKind, string> = {
  eim: 'endpoint-independent mapping, address-and-port-dependent filtering (port-restricted cone)',
  edm: 'address-and-port-dependent mapping (symmetric), address-and-port-dependent filtering',
  fullcone: 'endpoint-independent mapping, endpoint-independent filtering (full cone)',
};

const UDP_TIMEOUT = '120s';

/** The nft script (nft 1.0.6 syntax: each closing brace on its own line). */
export function natRuleset(kind: NatKind, o: { portMapping?: boolean } = {}): string {
  const masq = kind === 'edm' ? 'masquerade fully-random' : 'masquerade';
  const lines = ['table ip natlab {'];
  if (kind === 'fullcone') {
    lines.push(
      '  map fcmap {',
      '    type inet_service : ipv4_addr',
      '    flags dynamic,timeout',
      `    timeout ${UDP_TIMEOUT}`,
      '  }',
    );
  }
  lines.push(
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...(kind === 'fullcone' ? ['    iifname "wan" dnat ip to udp dport map @fcmap'] : []),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "wan" ${masq}`,
    '  }',
  );
  if (kind === 'fullcone') {
    // After source NAT (priority 200 > srcnat 100): `udp sport` is the public port.
    lines.push(
      '  chain remember {',
      '    type filter hook postrouting priority 200; policy accept;',
      `    oifname "wan" meta l4proto udp update @fcmap { udp sport timeout ${UDP_TIMEOUT} : ct original ip saddr }`,
      '  }',
    );
  }
  lines.push(
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    '    iifname "wan" ct state established,related accept',
    '    iifname "wan" drop',
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    // From the LAN anything goes; this also passes LAN↔LAN frames the bridge hands to the ip
    // hooks when br_netfilter is on (bridge-nf-call-iptables=1 is the default).
    '    iifname "lan" accept',
    '    iifname "wan" oifname "lan" ct state established,related accept',
    // a port-mapping router forwards what its mappings (miniupnpd's DNAT rules) let in
    ...(kind === 'fullcone' || o.portMapping ? ['    iifname "wan" oifname "lan" ct status dnat accept'] : []),
    '  }',
    '}',
  );
  return lines.join('\n') + '\n';
}
