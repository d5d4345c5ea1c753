// Runs in: Node. The "connect info" each side puts, sealed, into ServiceRequest / ServiceAccept /
// PunchSync: what the other side needs to reach it. Compact CBOR (a ledger memo holds ~1 KB in
// all), validated with zod on the way in. The sealing itself is the ledger's crypto (seal/open).
//
// Wire form (CBOR array): [1, addrs: bytes[], relays: bytes[], ice | null, nat | null]
//   ice = [ufrag, pwd, fingerprint(32 bytes, sha-256), [[typeCode, ipBytes, port], ...]]
//   nat = [mappingCode, publicIpBytes | null, filteringCode?]
import { encode, decode } from 'cborg';
import { multiaddr } from '@multiformats/multiaddr';
import { z } from 'zod';

export type IceCandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
export type NatMapping = 'endpoint-independent' | 'endpoint-dependent' | 'none' | 'udp-blocked' | 'unknown';
export type NatFiltering = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';

export interface IceCandidateInfo {
  type: IceCandidateType;
  ip: string;
  port: number;
}

export interface IceParams {
  ufrag: string;
  pwd: string;
  /** SHA-256 DTLS certificate fingerprint (32 bytes). */
  fingerprint: Uint8Array;
  candidates: IceCandidateInfo[];
}

export interface ConnectInfo {
  v: 1;
  /** Multiaddrs (no /p2p/<self> suffix) to dial directly: LAN and public. */
  addrs: string[];
  /** Circuit addresses this node holds a reservation on: <relay addr>/p2p/<relay>/p2p-circuit. */
  relays: string[];
  /** ICE parameters for the hole punch; absent when this side does not punch. */
  ice?: IceParams;
  /** What this node knows about its NAT. */
  nat?: { mapping: NatMapping; publicIp?: string; filtering?: NatFiltering };
}

export class ConnectInfoError extends Error {
  override name = 'ConnectInfoError';
}

const TYPES: IceCandidateType[] = ['host', 'srflx', 'prflx', 'relay'];
const MAPPINGS: NatMapping[] = ['unknown', 'endpoint-independent', 'endpoint-dependent', 'none', 'udp-blocked'];
const FILTERINGS: NatFiltering[] = [
  'unknown',
  'endpoint-independent',
  'address-dependent',
  'address-and-port-dependent',
];
export const MAX_CONNECT_INFO_BYTES = 700;

function ipToBytes(ip: string): Uint8Array {
  if (ip.includes(':')) return multiaddr(`/ip6/${ip}`).bytes.slice(1); // 16 bytes after the code
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new ConnectInfoError(`not an IP address: ${ip}`);
  }
  return Uint8Array.from(parts);
}

function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length === 16) {
    const prefixed = new Uint8Array(17);
    prefixed[0] = 0x29; // ip6 code
    prefixed.set(b, 1);
    return multiaddr(prefixed).getComponents()[0]!.value!;
  }
  throw new ConnectInfoError(`an IP address has 4 or 16 bytes, got ${b.length}`);
}

const bytes = z.instanceof(Uint8Array);
const wireSchema = z.tuple([
  z.literal(1),
  z.array(bytes).max(16),
  z.array(bytes).max(8),
  z
    .tuple([
      z.string().min(4).max(256),
      z.string().min(22).max(256),
      bytes.refine((b) => b.length === 32, 'fingerprint must be 32 bytes'),
      z.array(z.tuple([z.number().int().min(0).max(3), bytes, z.number().int().min(1).max(65535)])).max(16),
    ])
    .nullable(),
  z
    .tuple(
      [
        z
          .number()
          .int()
          .min(0)
          .max(MAPPINGS.length - 1),
        bytes.nullable(),
      ],
      z.number().int().min(0).max(3),
    )
    .nullable(),
]);

export function encodeConnectInfo(info: ConnectInfo): Uint8Array {
  const wire = [
    1,
    info.addrs.map((a) => multiaddr(a).bytes),
    info.relays.map((a) => multiaddr(a).bytes),
    info.ice
      ? [
          info.ice.ufrag,
          info.ice.pwd,
          info.ice.fingerprint,
          info.ice.candidates.map((c) => [TYPES.indexOf(c.type), ipToBytes(c.ip), c.port]),
        ]
      : null,
    info.nat
      ? [
          MAPPINGS.indexOf(info.nat.mapping),
          info.nat.publicIp ? ipToBytes(info.nat.publicIp) : null,
          ...(info.nat.filtering && info.nat.filtering !== 'unknown' ? [FILTERINGS.indexOf(info.nat.filtering)] : []),
        ]
      : null,
  ];
  const out = encode(wire);
  if (out.length > MAX_CONNECT_INFO_BYTES) {
    throw new ConnectInfoError(
      `connect info is ${out.length} bytes, the limit is ${MAX_CONNECT_INFO_BYTES}: trim addresses`,
    );
  }
  return out;
}

export function decodeConnectInfo(data: Uint8Array): ConnectInfo {
  if (data.length > MAX_CONNECT_INFO_BYTES * 2)
    throw new ConnectInfoError(`connect info too large: ${data.length} bytes`);
  let raw: unknown;
  try {
    raw = decode(data);
  } catch (err) {
    throw new ConnectInfoError(`connect info is not CBOR: ${(err as Error).message}`);
  }
  const parsed = wireSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConnectInfoError(
      `connect info is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const [, addrs, relays, ice, nat] = parsed.data;
  try {
    return {
      v: 1,
      addrs: addrs.map((b) => multiaddr(b).toString()),
      relays: relays.map((b) => multiaddr(b).toString()),
      ...(ice
        ? {
            ice: {
              ufrag: ice[0],
              pwd: ice[1],
              fingerprint: ice[2],
              candidates: ice[3].map(([t, ip, port]) => ({ type: TYPES[t]!, ip: bytesToIp(ip), port })),
            },
          }
        : {}),
      ...(nat
        ? {
            nat: {
              mapping: MAPPINGS[nat[0]]!,
              ...(nat[1] ? { publicIp: bytesToIp(nat[1]) } : {}),
              ...(nat[2] ? { filtering: FILTERINGS[nat[2]]! } : {}),
            },
          }
        : {}),
    };
  } catch (err) {
    if (err instanceof ConnectInfoError) throw err;
    throw new ConnectInfoError(`connect info holds an invalid address: ${(err as Error).message}`);
  }
}
