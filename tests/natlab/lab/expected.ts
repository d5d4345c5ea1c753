// Runs in: Node (test harness). What a correct NAT verdict for a lab host is, from what the lab
// built — the "expected" side of the matrix (the node's own report is the "detected" side).
import type { LabHost, LanHost, Router } from './types';

export interface ExpectedNat {
  /** The address the internet sees the host with. */
  publicIp: string;
  mapping: 'none' | 'endpoint-independent' | 'endpoint-dependent';
  reachability: 'public' | 'punchable' | 'relay-only';
  /** Short label for matrix rows: 'public' | 'eim' | 'edm' | 'fullcone'. */
  label: string;
}

/** The verdict a node on `host` should reach (a router itself counts as public). */
export function expectedNat(host: LabHost): ExpectedNat {
  if (host.kind !== 'lan') return { publicIp: host.ip, mapping: 'none', reachability: 'public', label: 'public' };
  const router: Router = (host as LanHost).router;
  const dependent = router.nat === 'edm';
  return {
    publicIp: router.wanIp,
    mapping: dependent ? 'endpoint-dependent' : 'endpoint-independent',
    reachability: dependent ? 'relay-only' : 'punchable',
    label: router.nat,
  };
}
