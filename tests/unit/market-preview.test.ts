// The Listing's new parts on the seller's side: which addresses go public for the free preview,
// and a listing too large with its hint and addresses still fits a transaction.
import { describe, expect, it } from 'vitest';
import { publicAddrs } from '../../src-main/core/market/preview';
import { fitListing } from '../../src-main/core/market/offers';
import { encodePayload, MAX_PAYLOAD_BYTES } from '../../src-main/core/ledger/envelope';
import { SAMPLE_MESSAGES } from '../fixtures/ledger-messages';
import type { Listing } from '../../src-main/core/ledger/types';
import { parseSchemaHint } from '../../src-shared/stream-schema';

const SELF = '12D3KooWAbc';

describe('preview addresses in the Listing', () => {
  it('public and mapped addresses first, then relays, then LAN; WebRTC and link-local not', () => {
    const got = publicAddrs(
      [
        `/ip4/192.168.1.20/tcp/4001/p2p/${SELF}`,
        `/ip4/10.0.0.2/tcp/4001/p2p/${SELF}`,
        `/ip4/203.0.113.9/tcp/4001/p2p/${SELF}`,
        `/ip4/198.51.100.1/tcp/4001/p2p/12D3KooWRelay/p2p-circuit/p2p/${SELF}`,
        `/ip4/203.0.113.9/udp/4001/webrtc-direct/p2p/${SELF}`,
        `/ip4/169.254.3.3/tcp/4001/p2p/${SELF}`,
      ],
      SELF,
    );
    expect(got).toEqual([
      '/ip4/203.0.113.9/tcp/4001',
      '/ip4/198.51.100.1/tcp/4001/p2p/12D3KooWRelay/p2p-circuit',
      '/ip4/192.168.1.20/tcp/4001',
    ]);
  });
});

describe('a listing that does not fit whole', () => {
  it('carries fewer hint fields, then fewer addresses, and always fits', () => {
    const base = SAMPLE_MESSAGES.Listing as Listing;
    const big: Listing = {
      ...base,
      title: 'T'.repeat(80),
      description: 'D'.repeat(150),
      tags: Array.from({ length: 8 }, (_, i) => `tag-${i}-${'x'.repeat(16)}`),
      schema: `json key=hex: ${Array.from({ length: 12 }, (_, i) => `field_${i} kt`).join(', ')}`
        .slice(0, 150)
        .replace(/,[^,]*$/, ''),
      addrs: ['/ip4/203.0.113.9/tcp/4001', '/ip4/203.0.113.10/tcp/4001', '/ip4/203.0.113.11/tcp/4001'],
    };
    expect(() => encodePayload(big)).toThrow(/too large/);
    const fit = fitListing(big);
    expect(encodePayload(fit).length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    if (fit.schema) expect(parseSchemaHint(fit.schema).ok).toBe(true);
    // a listing that fits is left as it is
    expect(fitListing(base)).toBe(base);
  });
});
