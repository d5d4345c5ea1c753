// Runs in: Node. The router port mapping as the running node holds it (migration 013), so that
// `axon status` shows it with or without a running node.
import { z } from 'zod';
import type { Db } from './db';

export type PortMapProtocol = 'nat-pmp' | 'upnp-igd';

export interface PortMapStatus {
  /** off: the setting turned it off; searching: first attempt running; mapped; none: no router mapped. */
  state: 'off' | 'searching' | 'mapped' | 'none';
  protocol?: PortMapProtocol;
  /** The router's public address and port that reach our listen port. */
  external?: { ip: string; port: number };
  internalPort: number;
  /** The router we asked (NAT-PMP: the default gateway; UPnP: its description URL's host). */
  gateway?: string;
  /** Unix ms the mapping lapses unless renewed (renewal runs at half of it). */
  expiresAt?: number;
  /** Why each protocol did not give a mapping the last time it was tried. */
  failures: { protocol: PortMapProtocol; error: string }[];
  /** Unix ms of the last attempt. */
  at: number;
}

const Failures = z.array(z.object({ protocol: z.enum(['nat-pmp', 'upnp-igd']), error: z.string() }));

interface Row {
  state: string;
  protocol: string | null;
  external_ip: string | null;
  external_port: number | null;
  internal_port: number;
  gateway: string | null;
  expires_at: number | null;
  failures: string;
  updated_at: number;
}

export class PortMapStore {
  constructor(private readonly db: Db) {}

  save(s: PortMapStatus): void {
    this.db
      .prepare(
        `INSERT INTO port_mapping (id, state, protocol, external_ip, external_port, internal_port, gateway,
           expires_at, failures, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, protocol = excluded.protocol,
           external_ip = excluded.external_ip, external_port = excluded.external_port,
           internal_port = excluded.internal_port, gateway = excluded.gateway, expires_at = excluded.expires_at,
           failures = excluded.failures, updated_at = excluded.updated_at`,
      )
      .run(
        s.state,
        s.protocol ?? null,
        s.external?.ip ?? null,
        s.external?.port ?? null,
        s.internalPort,
        s.gateway ?? null,
        s.expiresAt ?? null,
        JSON.stringify(s.failures),
        s.at,
      );
  }

  /** The last status kept; undefined when no node ever ran port mapping on this data dir. */
  load(): PortMapStatus | undefined {
    const r = this.db.prepare('SELECT * FROM port_mapping WHERE id = 1').get() as Row | undefined;
    if (!r) return undefined;
    const state = z.enum(['off', 'searching', 'mapped', 'none']).catch('none').parse(r.state);
    let failures: PortMapStatus['failures'] = [];
    try {
      failures = Failures.catch([]).parse(JSON.parse(r.failures));
    } catch {
      /* a broken row shows no reasons */
    }
    return {
      state,
      ...(r.protocol === 'nat-pmp' || r.protocol === 'upnp-igd' ? { protocol: r.protocol } : {}),
      ...(r.external_ip && r.external_port ? { external: { ip: r.external_ip, port: r.external_port } } : {}),
      internalPort: r.internal_port,
      ...(r.gateway ? { gateway: r.gateway } : {}),
      ...(r.expires_at ? { expiresAt: r.expires_at } : {}),
      failures,
      at: r.updated_at,
    };
  }
}

/** One line: whether the router forwards a port to this node, on which protocol, or why not. */
export function portMapLabel(p: PortMapStatus | null | undefined, setting = true): string {
  if (!p) return setting ? 'not tried yet' : 'off in the settings';
  switch (p.state) {
    case 'off':
      return 'off (setting portMapping or AXON_PORT_MAPPING=off)';
    case 'searching':
      return 'asking the router';
    case 'mapped':
      return `${p.external!.ip}:${p.external!.port} → port ${p.internalPort} via ${p.protocol === 'nat-pmp' ? 'NAT-PMP' : 'UPnP-IGD'} (router ${p.gateway ?? '?'})`;
    default:
      return `none: ${p.failures.map((f) => `${f.protocol === 'nat-pmp' ? 'NAT-PMP' : 'UPnP-IGD'}: ${f.error}`).join('; ') || 'no router asked'}`;
  }
}
