// Runs in: Node. The memo envelope: "axon1:" + base64( version byte ‖ CBOR array ).
// The CBOR array is [typeCode, nonce(16 bytes), expiresAt(uint), ...fields in CATALOG order],
// absent optional fields as null, lamports as CBOR integers (exact u64), enums as indexes.
// Encoding validates and refuses too large messages before anything is sent. Decoding never
// throws: it returns { ok: false, kind } for garbage, which GarbageStats counts and logs once.
import { encode, decode } from 'cborg';
import type { Logger } from '../log';
import type { AxonMessage, MessageType } from './types';
import {
  CATALOG,
  MESSAGE_SCHEMAS,
  MessageInvalidError,
  TYPE_CODES,
  fieldFromWire,
  fieldToWire,
  messageProblems,
  typeFromCode,
} from './messages';

export const ENVELOPE_PREFIX = 'axon1:';
export const PROTOCOL_VERSION = 1;
/**
 * Largest binary payload (version byte + CBOR). Its envelope is 6 + 4·⌈640/3⌉ = 862 characters,
 * which fits both transaction shapes (docs/protocol.md §Budget): memo only ≤ 1029 bytes of memo,
 * memo + System transfer ≤ 948 bytes of memo (legacy message, distinct topic and recipient).
 */
export const MAX_PAYLOAD_BYTES = 640;
export const MAX_ENVELOPE_CHARS = ENVELOPE_PREFIX.length + 4 * Math.ceil(MAX_PAYLOAD_BYTES / 3);

export class MessageTooLargeError extends Error {
  override name = 'MessageTooLargeError';
  constructor(
    readonly type: string,
    readonly size: number,
    readonly limit: number,
    what = 'payload',
  ) {
    super(`${type} message is too large for a transaction: ${what} is ${size} bytes, the limit is ${limit}`);
  }
}

export type GarbageKind =
  | 'not-text' // memo bytes are not UTF-8
  | 'wrong-prefix'
  | 'oversized'
  | 'bad-base64'
  | 'wrong-version'
  | 'malformed' // not one CBOR array (truncated, trailing bytes, …)
  | 'unknown-type'
  | 'schema'; // fields fail validation

export type DecodeResult =
  { ok: true; message: AxonMessage; bytes: number } | { ok: false; kind: GarbageKind; detail: string };

/** Binary payload (version byte + CBOR) of a message; throws MessageInvalidError / MessageTooLargeError. */
export function encodePayload(msg: AxonMessage): Uint8Array {
  const problems = messageProblems(msg);
  if (problems.length) throw new MessageInvalidError(String((msg as { type?: unknown }).type), problems);
  const fields = CATALOG[msg.type].map((f) => fieldToWire(f.kind, (msg as unknown as Record<string, unknown>)[f.name]));
  const cbor = encode([TYPE_CODES[msg.type], msg.nonce, msg.expiresAt, ...fields]);
  const out = new Uint8Array(1 + cbor.length);
  out[0] = PROTOCOL_VERSION;
  out.set(cbor, 1);
  if (out.length > MAX_PAYLOAD_BYTES) throw new MessageTooLargeError(msg.type, out.length, MAX_PAYLOAD_BYTES);
  return out;
}

/** The memo text of a message. */
export function encodeEnvelope(msg: AxonMessage): string {
  return ENVELOPE_PREFIX + Buffer.from(encodePayload(msg)).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode a memo (its text or raw bytes). Never throws. */
export function decodeEnvelope(memo: string | Uint8Array): DecodeResult {
  let textMemo: string;
  if (typeof memo === 'string') textMemo = memo;
  else {
    try {
      textMemo = utf8.decode(memo);
    } catch {
      return { ok: false, kind: 'not-text', detail: 'memo is not UTF-8' };
    }
  }
  if (!textMemo.startsWith(ENVELOPE_PREFIX)) {
    return { ok: false, kind: 'wrong-prefix', detail: `memo does not start with ${ENVELOPE_PREFIX}` };
  }
  if (textMemo.length > MAX_ENVELOPE_CHARS) {
    return { ok: false, kind: 'oversized', detail: `envelope of ${textMemo.length} chars > ${MAX_ENVELOPE_CHARS}` };
  }
  const b64 = textMemo.slice(ENVELOPE_PREFIX.length);
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) {
    return { ok: false, kind: 'bad-base64', detail: 'envelope body is not padded base64' };
  }
  const bin = new Uint8Array(Buffer.from(b64, 'base64'));
  return decodePayload(bin);
}

/** Decode a binary payload (version byte + CBOR). Never throws. */
export function decodePayload(bin: Uint8Array): DecodeResult {
  if (bin.length === 0) return { ok: false, kind: 'malformed', detail: 'empty payload' };
  if (bin.length > MAX_PAYLOAD_BYTES) {
    return { ok: false, kind: 'oversized', detail: `payload of ${bin.length} bytes > ${MAX_PAYLOAD_BYTES}` };
  }
  if (bin[0] !== PROTOCOL_VERSION) {
    return {
      ok: false,
      kind: 'wrong-version',
      detail: `envelope version ${bin[0]}, this node reads ${PROTOCOL_VERSION}`,
    };
  }
  let arr: unknown;
  try {
    arr = decode(bin.subarray(1), {
      strict: true,
      allowUndefined: false,
      allowIndefinite: false,
      allowInfinity: false,
      allowNaN: false,
      rejectDuplicateMapKeys: true,
      allowBigInt: true,
    });
  } catch (e) {
    return { ok: false, kind: 'malformed', detail: (e as Error).message };
  }
  if (!Array.isArray(arr) || arr.length < 3) return { ok: false, kind: 'malformed', detail: 'not a message array' };
  const type = typeof arr[0] === 'number' ? typeFromCode(arr[0]) : undefined;
  if (!type) return { ok: false, kind: 'unknown-type', detail: `type code ${String(arr[0])}` };
  const fields = CATALOG[type];
  if (arr.length !== 3 + fields.length) {
    return { ok: false, kind: 'schema', detail: `${type} has ${fields.length + 3} elements, got ${arr.length}` };
  }
  const obj: Record<string, unknown> = { type, nonce: arr[1], expiresAt: arr[2] };
  fields.forEach((f, i) => {
    const v = fieldFromWire(f.kind, arr[3 + i]);
    if (v !== undefined) obj[f.name] = v;
    else if (!f.optional) obj[f.name] = null; // a required field sent as null: schema error below
  });
  const r = MESSAGE_SCHEMAS[type as MessageType].safeParse(obj);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, kind: 'schema', detail: `${type}: ${detail}` };
  }
  return { ok: true, message: r.data as AxonMessage, bytes: bin.length };
}

/** Counts garbage per kind; logs the first of each kind (then only counts). */
export class GarbageStats {
  readonly counts: Partial<Record<GarbageKind | 'expired' | 'replayed', number>> = {};
  constructor(private readonly log?: Logger) {}

  note(kind: GarbageKind | 'expired' | 'replayed', detail: string, ctx: Record<string, unknown> = {}): void {
    const n = (this.counts[kind] ?? 0) + 1;
    this.counts[kind] = n;
    if (n === 1) this.log?.warn({ kind, detail, ...ctx }, 'ledger: skipping a memo (logged once per kind)');
  }

  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + (b ?? 0), 0);
  }
}
