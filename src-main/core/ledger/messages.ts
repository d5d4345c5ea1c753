// Runs in: Node. The message catalog: one field table per message type. The table drives the
// compact wire form (envelope.ts: a CBOR array in table order), the zod validation of decoded
// input, and docs/protocol.md. Adding a field = appending it to the END of its table (older
// readers then see an array longer than they know and refuse it: bump PROTOCOL_VERSION instead
// when readers must not break).
import { z } from 'zod';
import { getAddressDecoder, getAddressEncoder, isAddress, type Address } from '@solana/kit';
import { randomBytes } from 'node:crypto';
import type { MessageType } from './types';
import { SCHEMA_HINT_MAX_BYTES, schemaHintProblem } from '../../../src-shared/stream-schema';
import { multiaddr } from '@multiformats/multiaddr';

export const NONCE_BYTES = 16;
export const MAX_U64 = (1n << 64n) - 1n;
/**
 * The largest amount any message may carry: i64 max. Solana amounts are u64, but SQLite keeps
 * integers as signed 64-bit, so an amount above this could never be stored: it is refused at
 * validation (a clear error, the message skipped) instead of failing deep in the store.
 */
export const MAX_LAMPORTS = (1n << 63n) - 1n;

/** Wire codes of the message types (never reuse a number). */
export const TYPE_CODES = {
  Listing: 1,
  Delist: 2,
  NodeAnnounce: 3,
  ServiceRequest: 4,
  ServiceAccept: 5,
  ServiceReject: 6,
  Payment: 7,
  PunchSync: 8,
  // 9, 10: AddressRequest / AddressReport, retired unused (docs/protocol.md); never reuse them
  ServiceStop: 11,
  PeerError: 12,
  ServiceRedirect: 13,
  RebroadcastOffer: 14,
  RebroadcastAsk: 15,
} as const satisfies Record<MessageType, number>;
export const MESSAGE_TYPES = Object.keys(TYPE_CODES) as MessageType[];
const TYPE_BY_CODE = new Map<number, MessageType>(MESSAGE_TYPES.map((t) => [TYPE_CODES[t], t]));
export const typeFromCode = (code: number): MessageType | undefined => TYPE_BY_CODE.get(code);

/** Enumerations travel as their index in these lists (append only). */
export const ENUMS = {
  tier: ['direct', 'relay'],
  role: ['relay', 'reflector'],
  rejectReason: ['unknown-stream', 'full', 'price-changed', 'expired', 'not-allowed', 'other'],
  recover: ['retry', 'reconnect', 'renew', 'refund-none', 'abort'],
} as const;

export type FieldKind =
  | { k: 'string'; max: number; check?: (s: string) => string | undefined } // UTF-8, max bytes; check: a problem
  | { k: 'strings'; max: number; items: number; check?: (s: string) => string | undefined }
  | { k: 'bytes'; min: number; max: number }
  | { k: 'uint'; max: number; min?: number } // JS number, integer
  | { k: 'lamports'; max?: bigint } // bigint, u64 (at most max when given)
  | { k: 'bool' }
  | { k: 'enum'; values: readonly string[] }
  | { k: 'enums'; values: readonly string[] }
  | { k: 'origin' } // { seller: Address, streamId } → [32-byte address, text]
  | { k: 'origins'; items: number } // a list of those
  | { k: 'address' }; // Address → 32 bytes

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  optional?: boolean;
  doc: string;
}

const U32 = 0xffff_ffff;
/** The deepest a rebroadcast tree grows: rebroadcasters between an origin and a buyer (docs/mesh.md). */
export const MAX_MESH_HOPS = 3;
/** Most rebroadcast listings a ServiceRedirect names (it must fit one transaction). */
export const MAX_REDIRECT_LISTINGS = 4;
/** The most an automatic rebroadcaster may charge: 10× the rebroadcast price it buys at (docs/mesh.md). */
export const MAX_AUTO_PRICE_PERCENT = 1000;
/** The most streams an automatic rebroadcaster offers to take at once. */
export const MAX_AUTO_STREAMS = 64;
/** The most a relay may charge: 1 SOL per minute of a relayed purchase. */
export const MAX_RELAY_PRICE = 1_000_000_000n;
const str = (max: number) => ({ k: 'string', max }) as const;
const requestId: FieldSpec = { name: 'requestId', kind: str(64), doc: 'request id chosen by the buyer' };
const streamId: FieldSpec = { name: 'streamId', kind: str(64), doc: 'stream id, unique per seller' };
const sealed = (doc: string): FieldSpec => ({ name: 'sealed', kind: { k: 'bytes', min: 49, max: 400 }, doc });

/** Fields after the common header [type, nonce, expiresAt], in wire order. */
export const CATALOG: Record<MessageType, FieldSpec[]> = {
  Listing: [
    streamId,
    { name: 'title', kind: str(80), doc: 'title shown in Browse' },
    { name: 'description', kind: str(280), doc: 'free text' },
    { name: 'tags', kind: { k: 'strings', max: 24, items: 8 }, doc: 'search tags' },
    { name: 'format', kind: str(64), doc: 'MIME type of the frames, e.g. application/x-ndjson' },
    { name: 'rateMilliHz', kind: { k: 'uint', max: U32 }, doc: 'nominal rate in mHz (10 Hz = 10000)' },
    { name: 'priceDirect', kind: { k: 'lamports' }, doc: 'lamports per minute, direct tier' },
    { name: 'priceRelay', kind: { k: 'lamports' }, optional: true, doc: 'lamports per minute, rebroadcast tier' },
    { name: 'periodSec', kind: { k: 'uint', min: 1, max: 86_400 }, doc: 'pay-as-you-go period in seconds' },
    { name: 'region', kind: str(32), optional: true, doc: 'coarse region, e.g. eu-west' },
    { name: 'healthy', kind: { k: 'bool' }, doc: 'the source is producing data' },
    { name: 'roles', kind: { k: 'enums', values: ENUMS.role }, doc: "seller's roles" },
    { name: 'origin', kind: { k: 'origin' }, optional: true, doc: 'rebroadcast: [seller address, stream id]' },
    {
      name: 'mint',
      kind: { k: 'address' },
      optional: true,
      doc: 'priced in this SPL token (prices in its base units); null = SOL (lamports)',
    },
    {
      name: 'schema',
      kind: { k: 'string', max: SCHEMA_HINT_MAX_BYTES, check: schemaHintProblem },
      optional: true,
      doc: "what the frames hold: format, entity key, fields with units (docs/streams.md 'Schema hint')",
    },
    {
      name: 'upstream',
      kind: { k: 'origin' },
      optional: true,
      doc: 'rebroadcast of a rebroadcast: the listing it is bought from [seller address, stream id]',
    },
    {
      name: 'hops',
      kind: { k: 'uint', min: 1, max: MAX_MESH_HOPS },
      optional: true,
      doc: 'rebroadcast: rebroadcasters between the origin and its buyers (1 = bought from the origin)',
    },
    {
      name: 'hopMs',
      kind: { k: 'uint', max: 600_000 },
      optional: true,
      doc: "rebroadcast: the data's latency from the origin when it leaves this node (ms, measured)",
    },
    {
      name: 'addrs',
      kind: { k: 'strings', max: 120, items: 3, check: multiaddrProblem },
      optional: true,
      doc: 'where the seller answers before a purchase (free preview): public or relay multiaddrs, without /p2p/<seller>',
    },
    {
      name: 'full',
      kind: { k: 'bool' },
      optional: true,
      doc: 'the stream takes no further buyer now (its capacity or upload budget): buyers go to its rebroadcasts',
    },
  ],
  Delist: [streamId],
  NodeAnnounce: [
    { name: 'roles', kind: { k: 'enums', values: ENUMS.role }, doc: 'roles offered' },
    { name: 'multiaddrs', kind: { k: 'strings', max: 200, items: 6 }, doc: 'public multiaddrs' },
    {
      name: 'relayPrice',
      kind: { k: 'lamports', max: MAX_RELAY_PRICE },
      optional: true,
      doc: 'lamports per minute of a relayed purchase (absent = free); reflectors do not charge',
    },
  ],
  ServiceRequest: [
    requestId,
    streamId,
    { name: 'tier', kind: { k: 'enum', values: ENUMS.tier }, doc: 'direct or relay tier' },
    { name: 'maxMinutes', kind: { k: 'uint', max: U32 }, doc: 'most minutes the buyer wants' },
    { name: 'maxLamports', kind: { k: 'lamports' }, doc: 'most lamports the buyer will spend (prices and fees)' },
    sealed("buyer's connect info sealed to the seller (crypto.ts)"),
  ],
  ServiceAccept: [
    requestId,
    { name: 'pricePerPeriod', kind: { k: 'lamports' }, doc: 'lamports per period' },
    { name: 'periodSec', kind: { k: 'uint', min: 1, max: 86_400 }, doc: 'period length in seconds' },
    { name: 'graceSec', kind: { k: 'uint', min: 1, max: 3_600 }, doc: 'grace for payment confirmation' },
    { name: 'punchAt', kind: { k: 'uint', max: Number.MAX_SAFE_INTEGER }, doc: 'unix ms to start the punch' },
    { name: 'relays', kind: { k: 'strings', max: 200, items: 3 }, doc: 'relay multiaddrs' },
    sealed("seller's connect info sealed to the buyer"),
    {
      name: 'mint',
      kind: { k: 'address' },
      optional: true,
      doc: 'the SPL token the buyer pays in (price in its base units); null = SOL',
    },
  ],
  ServiceReject: [
    requestId,
    { name: 'reason', kind: { k: 'enum', values: ENUMS.rejectReason }, doc: 'why' },
    { name: 'message', kind: str(200), doc: 'human readable detail' },
  ],
  Payment: [requestId, { name: 'period', kind: { k: 'uint', max: U32 }, doc: 'period paid (0-based)' }],
  PunchSync: [
    requestId,
    { name: 'round', kind: { k: 'uint', max: 255 }, doc: 'punch round' },
    { name: 'punchAt', kind: { k: 'uint', max: Number.MAX_SAFE_INTEGER }, doc: 'unix ms to dial' },
    sealed("the sender's fresh connect info (ICE data, NAT verdict) sealed to the peer"),
  ],
  ServiceStop: [requestId, { name: 'reason', kind: str(200), doc: 'why the service stops' }],
  PeerError: [
    { ...requestId, optional: true },
    { name: 'code', kind: str(64), doc: 'error code (Neuron taxonomy)' },
    { name: 'recover', kind: { k: 'enum', values: ENUMS.recover }, doc: 'what the receiver should do' },
    { name: 'message', kind: str(200), doc: 'human readable detail' },
  ],
  ServiceRedirect: [
    requestId,
    {
      name: 'listings',
      kind: { k: 'origins', items: MAX_REDIRECT_LISTINGS },
      doc: 'live rebroadcast listings of the stream [[seller address, stream id], …], best first',
    },
    { name: 'message', kind: str(120), doc: 'why (full: buyers or upload budget)' },
  ],
  RebroadcastOffer: [
    {
      name: 'pricePercent',
      kind: { k: 'uint', min: 1, max: MAX_AUTO_PRICE_PERCENT },
      doc: 'what it charges its buyers, in % of the rebroadcast price of the listing it buys',
    },
    {
      name: 'streams',
      kind: { k: 'uint', max: MAX_AUTO_STREAMS },
      doc: 'streams it takes now (spare capacity; 0 withdraws the offer)',
    },
    {
      name: 'maxLamports',
      kind: { k: 'lamports' },
      doc: 'its spending cap: the most it pays for one stream it takes (prices and fees)',
    },
  ],
  RebroadcastAsk: [
    { ...streamId, doc: "the asking seller's stream to take (its listing is sender:streamId)" },
    { name: 'message', kind: str(120), doc: 'why (the stream is full: buyers or upload budget)' },
  ],
};

/** A multiaddr a stranger may dial (ip4/ip6/dns + tcp, or a relay circuit); the problem otherwise. */
function multiaddrProblem(s: string): string | undefined {
  if (!/^\/(ip4|ip6|dns4|dns6|dns)\//.test(s)) return `'${s.slice(0, 40)}' is not an IP/DNS multiaddr`;
  try {
    multiaddr(s);
    return undefined;
  } catch (e) {
    return `'${s.slice(0, 40)}' is not a multiaddr: ${(e as Error).message}`;
  }
}

const utf8Len = (s: string): number => Buffer.byteLength(s, 'utf8');
const text = (max: number) => z.string().refine((s) => utf8Len(s) <= max, `longer than ${max} UTF-8 bytes`);
const bytes = (min: number, max: number) =>
  z.instanceof(Uint8Array).refine((b) => b.length >= min && b.length <= max, `must have ${min}..${max} bytes`);
const address = z.string().refine((s) => isAddress(s), 'not a Solana address');

const originSchema = z.object({ seller: address, streamId: text(64) }).strict();

function zodFor(kind: FieldKind): z.ZodType {
  switch (kind.k) {
    case 'string': {
      const check = kind.check;
      return check
        ? text(kind.max).superRefine((s, ctx) => {
            const problem = check(s);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
        : text(kind.max);
    }
    case 'strings':
      return z
        .array(zodFor({ k: 'string', max: kind.max, ...(kind.check ? { check: kind.check } : {}) }))
        .max(kind.items);
    case 'bytes':
      return bytes(kind.min, kind.max);
    case 'uint':
      return z
        .number()
        .int()
        .min(kind.min ?? 0)
        .max(kind.max);
    case 'lamports':
      return kind.max !== undefined
        ? z.bigint().min(0n).max(kind.max, `above ${kind.max} lamports, the most this field allows`)
        : z.bigint().min(0n).max(MAX_LAMPORTS, `above ${MAX_LAMPORTS} lamports (i64 max), the most Axon handles`);
    case 'bool':
      return z.boolean();
    case 'enum':
      return z.enum(kind.values as [string, ...string[]]);
    case 'enums':
      return z.array(z.enum(kind.values as [string, ...string[]])).max(kind.values.length);
    case 'origin':
      return originSchema;
    case 'origins':
      return z.array(originSchema).min(1).max(kind.items);
    case 'address':
      return address;
  }
}

/** zod schemas of the object form, per type (strict: unknown fields are errors). */
export const MESSAGE_SCHEMAS = Object.fromEntries(
  MESSAGE_TYPES.map((t) => {
    const shape: Record<string, z.ZodType> = {
      type: z.literal(t),
      nonce: bytes(NONCE_BYTES, NONCE_BYTES),
      expiresAt: z
        .number()
        .int()
        .min(0)
        .max(U32 * 256),
    };
    for (const f of CATALOG[t]) shape[f.name] = f.optional ? zodFor(f.kind).optional() : zodFor(f.kind);
    return [t, z.object(shape).strict()];
  }),
) as unknown as Record<MessageType, z.ZodType>;

export class MessageInvalidError extends Error {
  override name = 'MessageInvalidError';
  constructor(
    readonly type: string,
    readonly problems: string[],
  ) {
    super(`invalid ${type} message: ${problems.join('; ')}`);
  }
}

/** Validate an object form; returns the issues as "field: message" strings (empty = valid). */
export function messageProblems(msg: unknown): string[] {
  const t = (msg as { type?: unknown } | null)?.type;
  if (typeof t !== 'string' || !(t in TYPE_CODES)) return [`type: unknown message type ${String(t)}`];
  const r = MESSAGE_SCHEMAS[t as MessageType].safeParse(msg);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

// ---- wire form <-> object form (per field; validation happens on the object form) ----

const addrEnc = getAddressEncoder();
const addrDec = getAddressDecoder();

export function fieldToWire(kind: FieldKind, v: unknown): unknown {
  if (v === undefined) return null;
  switch (kind.k) {
    case 'enum':
      return kind.values.indexOf(v as string);
    case 'enums':
      return (v as string[]).map((x) => kind.values.indexOf(x));
    case 'origin': {
      const o = v as { seller: Address; streamId: string };
      return [Uint8Array.from(addrEnc.encode(o.seller)), o.streamId];
    }
    case 'origins':
      return (v as { seller: Address; streamId: string }[]).map((o) => [
        Uint8Array.from(addrEnc.encode(o.seller)),
        o.streamId,
      ]);
    case 'address':
      return Uint8Array.from(addrEnc.encode(v as Address));
    default:
      return v;
  }
}

function originFromWire(w: unknown): { seller: Address; streamId: unknown } | null {
  if (!Array.isArray(w) || w.length !== 2 || !(w[0] instanceof Uint8Array) || w[0].length !== 32) return null;
  return { seller: addrDec.decode(w[0]), streamId: w[1] };
}

/** Wire value → object value; shape errors are left to the zod check (returns a sentinel). */
export function fieldFromWire(kind: FieldKind, w: unknown): unknown {
  if (w === null) return undefined;
  const bad = { invalid: w }; // fails any schema
  switch (kind.k) {
    case 'lamports':
      return typeof w === 'number' && Number.isSafeInteger(w) ? BigInt(w) : w;
    case 'uint':
      return typeof w === 'bigint' ? bad : w;
    case 'enum':
      return typeof w === 'number' && kind.values[w] !== undefined ? kind.values[w] : bad;
    case 'enums':
      if (!Array.isArray(w)) return bad;
      return w.map((x) => (typeof x === 'number' && kind.values[x] !== undefined ? kind.values[x] : bad));
    case 'origin':
      return originFromWire(w) ?? bad;
    case 'origins':
      if (!Array.isArray(w)) return bad;
      return w.map((x) => originFromWire(x) ?? bad);
    case 'address':
      return w instanceof Uint8Array && w.length === 32 ? addrDec.decode(w) : bad;
    default:
      return w;
  }
}

// ---- helpers for the layers above ----

export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

/** Unix seconds `sec` from now. */
export function expiresIn(sec: number, nowMs: number = Date.now()): number {
  return Math.floor(nowMs / 1000) + Math.ceil(sec);
}

/** Hex of a nonce: the key of replay caches. */
export function nonceKey(nonce: Uint8Array): string {
  return Buffer.from(nonce).toString('hex');
}
