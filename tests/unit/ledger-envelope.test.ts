import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { encode } from 'cborg';
import {
  ENVELOPE_PREFIX,
  MAX_ENVELOPE_CHARS,
  MAX_PAYLOAD_BYTES,
  MessageTooLargeError,
  decodeEnvelope,
  encodeEnvelope,
  encodePayload,
  GarbageStats,
} from '../../src-main/core/ledger/envelope';
import {
  MESSAGE_TYPES,
  MessageInvalidError,
  MAX_LAMPORTS,
  MAX_U64,
  TYPE_CODES,
} from '../../src-main/core/ledger/messages';
import { SAMPLE_MESSAGES } from '../fixtures/ledger-messages';
import type { AxonMessage } from '../../src-main/core/ledger/types';

const b64 = (b: Uint8Array): string => ENVELOPE_PREFIX + Buffer.from(b).toString('base64');

describe('envelope round trip', () => {
  it.each(MESSAGE_TYPES)('%s encodes and decodes to the same message', (type) => {
    const msg = SAMPLE_MESSAGES[type];
    const text = encodeEnvelope(msg);
    expect(text.startsWith('axon1:')).toBe(true);
    expect(text.length).toBeLessThanOrEqual(MAX_ENVELOPE_CHARS);
    const r = decodeEnvelope(text);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.message).toEqual(msg);
    // raw memo bytes decode the same
    const r2 = decodeEnvelope(new TextEncoder().encode(text));
    expect(r2.ok && r2.message).toEqual(msg);
  });

  it('keeps lamports exact up to i64 max and drops absent optional fields', () => {
    const msg: AxonMessage = {
      ...(SAMPLE_MESSAGES.Listing as Extract<AxonMessage, { type: 'Listing' }>),
      priceDirect: MAX_LAMPORTS,
      priceRelay: undefined,
      region: undefined,
      origin: undefined,
    };
    delete (msg as Partial<typeof msg>).priceRelay;
    delete (msg as Partial<typeof msg>).region;
    delete (msg as Partial<typeof msg>).origin;
    const r = decodeEnvelope(encodeEnvelope(msg));
    expect(r.ok).toBe(true);
    if (!r.ok || r.message.type !== 'Listing') throw new Error('decode failed');
    expect(r.message.priceDirect).toBe(MAX_LAMPORTS);
    expect(typeof r.message.priceDirect).toBe('bigint');
    expect('priceRelay' in r.message).toBe(false);
    expect(r.message).toEqual(msg);
  });

  it('refuses amounts above i64 max (valid u64, but no SQLite integer holds them) naming the field', () => {
    for (const big of [MAX_LAMPORTS + 1n, MAX_U64]) {
      const msg = { ...SAMPLE_MESSAGES.ServiceRequest, maxLamports: big } as AxonMessage;
      expect(() => encodeEnvelope(msg)).toThrow(/maxLamports: above 9223372036854775807 lamports/);
    }
  });

  it('decodes small lamports as bigint too', () => {
    const r = decodeEnvelope(encodeEnvelope({ ...SAMPLE_MESSAGES.Listing, priceDirect: 1n } as AxonMessage));
    expect(r.ok && r.message.type === 'Listing' && r.message.priceDirect).toBe(1n);
  });

  it('a Payment envelope is small', () => {
    expect(encodeEnvelope(SAMPLE_MESSAGES.Payment).length).toBeLessThan(64);
  });
});

describe('encoding refuses bad messages before sending', () => {
  it('refuses a message over the payload budget with a clear error', () => {
    const big = { ...SAMPLE_MESSAGES.ServiceRequest, sealed: new Uint8Array(400) } as AxonMessage;
    const huge = {
      ...SAMPLE_MESSAGES.Listing,
      description: 'x'.repeat(280),
      title: 't'.repeat(80),
      tags: Array.from({ length: 8 }, () => 'g'.repeat(24)),
    } as AxonMessage;
    expect(() => encodePayload(big)).not.toThrow();
    expect(() => encodePayload(huge)).toThrow(MessageTooLargeError);
    expect(() => encodePayload(huge)).toThrow(/too large for a transaction: payload is \d+ bytes, the limit is 640/);
  });

  it('refuses a period or grace of 0 (a zero period would let a seller ask for payments without end)', () => {
    for (const [type, field] of [
      ['ServiceAccept', 'periodSec'],
      ['ServiceAccept', 'graceSec'],
      ['Listing', 'periodSec'],
    ] as const) {
      const bad = { ...SAMPLE_MESSAGES[type], [field]: 0 } as AxonMessage;
      expect(() => encodeEnvelope(bad)).toThrow(new RegExp(`${field}: Too small`, 'i'));
    }
  });

  it('refuses schema violations naming the field', () => {
    const bad = { ...SAMPLE_MESSAGES.Payment, nonce: new Uint8Array(3) } as AxonMessage;
    expect(() => encodeEnvelope(bad)).toThrow(MessageInvalidError);
    expect(() => encodeEnvelope(bad)).toThrow(/nonce/);
    const neg = { ...SAMPLE_MESSAGES.ServiceAccept, pricePerPeriod: -1n } as AxonMessage;
    expect(() => encodeEnvelope(neg)).toThrow(/pricePerPeriod/);
    const tier = { ...SAMPLE_MESSAGES.ServiceRequest, tier: 'gold' } as unknown as AxonMessage;
    expect(() => encodeEnvelope(tier)).toThrow(/tier/);
    const extra = { ...SAMPLE_MESSAGES.Delist, surprise: 1 } as unknown as AxonMessage;
    expect(() => encodeEnvelope(extra)).toThrow(MessageInvalidError);
  });
});

describe('decoding garbage never throws and names the kind', () => {
  const valid = encodePayload(SAMPLE_MESSAGES.Payment);
  const cases: [string, string | Uint8Array, string][] = [
    ['random bytes', new Uint8Array(randomBytes(200)), 'not-text'],
    ['plain text', 'hello world', 'wrong-prefix'],
    ['another protocol', 'axon2:AAAA', 'wrong-prefix'],
    ['not base64', 'axon1:!!!!', 'bad-base64'],
    ['unpadded base64', 'axon1:AQI', 'bad-base64'],
    ['wrong version', b64(Uint8Array.from([2, ...valid.subarray(1)])), 'wrong-version'],
    ['truncated', b64(valid.subarray(0, valid.length - 3)), 'malformed'],
    ['trailing bytes', b64(Uint8Array.from([...valid, 0])), 'malformed'],
    ['empty', 'axon1:', 'malformed'],
    ['oversized', b64(new Uint8Array(MAX_PAYLOAD_BYTES + 10).fill(1)), 'oversized'],
    ['oversized text', 'axon1:' + 'A'.repeat(2000), 'oversized'],
    ['cbor map instead of array', b64(Uint8Array.from([1, ...encode({ a: 1 })])), 'malformed'],
    ['unknown type', b64(Uint8Array.from([1, ...encode([99, new Uint8Array(16), 1])])), 'unknown-type'],
    ['missing fields', b64(Uint8Array.from([1, ...encode([TYPE_CODES.Payment, new Uint8Array(16), 1])])), 'schema'],
    [
      'wrong field type',
      b64(Uint8Array.from([1, ...encode([TYPE_CODES.Payment, new Uint8Array(16), 1, 'r', 'x'])])),
      'schema',
    ],
    ['short nonce', b64(Uint8Array.from([1, ...encode([TYPE_CODES.Payment, new Uint8Array(4), 1, 'r', 1])])), 'schema'],
    [
      'bad enum index',
      b64(Uint8Array.from([1, ...encode([TYPE_CODES.ServiceReject, new Uint8Array(16), 1, 'r', 42, 'm'])])),
      'schema',
    ],
    [
      'required field null',
      b64(Uint8Array.from([1, ...encode([TYPE_CODES.Payment, new Uint8Array(16), 1, null, 1])])),
      'schema',
    ],
    [
      'lamports beyond u64',
      b64(
        Uint8Array.from([
          1,
          ...encode([TYPE_CODES.ServiceAccept, new Uint8Array(16), 1, 'r', -5n, 60, 10, 0, [], new Uint8Array(60)]),
        ]),
      ),
      'schema',
    ],
  ];
  it.each(cases)('%s → %s', (_name, input, kind) => {
    const r = decodeEnvelope(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.kind).toBe(kind);
  });

  it('never throws on thousands of random inputs', () => {
    for (let i = 0; i < 2000; i++) {
      const len = i % 300;
      const body = new Uint8Array(randomBytes(len));
      if (i % 2) body[0] = 1; // get past the version check half of the time
      expect(() => decodeEnvelope(b64(body))).not.toThrow();
      expect(() => decodeEnvelope(new Uint8Array(randomBytes(len)))).not.toThrow();
    }
  });

  it('GarbageStats counts every kind and logs each kind once', () => {
    const lines: unknown[] = [];
    const log = { warn: (o: unknown) => lines.push(o) } as never;
    const stats = new GarbageStats(log);
    stats.note('wrong-prefix', 'a');
    stats.note('wrong-prefix', 'b');
    stats.note('oversized', 'c');
    expect(stats.counts).toEqual({ 'wrong-prefix': 2, oversized: 1 });
    expect(stats.total()).toBe(3);
    expect(lines).toHaveLength(2);
  });
});
