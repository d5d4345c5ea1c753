// Priced relays and the relay meter, the pure parts: the share a period owes, the time a share
// buys, the NodeAnnounce price bounds, and reading a circuit's destination from a hop request.
import { describe, expect, it } from 'vitest';
import { getBase58Encoder } from '@solana/kit';
import { decodeEnvelope, encodeEnvelope } from '../../src-main/core/ledger/envelope';
import { messageProblems, newNonce } from '../../src-main/core/ledger/messages';
import type { NodeAnnounce } from '../../src-main/core/ledger/types';
import { relayMsPaid, relayShare } from '../../src-main/core/market/relay-pay';
import { parseHopRequest } from '../../src-main/core/net/relay-meter';
import { Identity } from '../../src-main/core/identity/identity';

const announce = (relayPrice?: bigint): NodeAnnounce => ({
  type: 'NodeAnnounce',
  nonce: newNonce(),
  expiresAt: Math.floor(Date.now() / 1000) + 600,
  roles: ['relay'],
  multiaddrs: ['/ip4/203.0.113.7/tcp/4001'],
  ...(relayPrice !== undefined ? { relayPrice } : {}),
});

describe('relay price', () => {
  it('a period owes ceil(price × period / 1 min); a share buys share × 60 / price seconds', () => {
    expect(relayShare(600n, 2000)).toBe(20n);
    expect(relayShare(1n, 2000)).toBe(1n); // rounded up: never a free period on a priced relay
    expect(relayShare(0n, 60_000)).toBe(0n);
    expect(relayShare(1_000_000_000n, 86_400_000)).toBe(1_440_000_000_000n);
    expect(relayMsPaid(20n, 600n)).toBe(2000);
    expect(relayMsPaid(relayShare(7n, 10_000), 7n)).toBeGreaterThanOrEqual(10_000);
  });

  it('NodeAnnounce carries the price; above 1 SOL per minute or negative it is refused with the bound', () => {
    const ok = decodeEnvelope(encodeEnvelope(announce(1000n)));
    expect(ok.ok && ok.message).toMatchObject({ type: 'NodeAnnounce', relayPrice: 1000n });
    const free = decodeEnvelope(encodeEnvelope(announce()));
    expect(free.ok && (free.message as NodeAnnounce).relayPrice).toBeUndefined();
    expect(messageProblems(announce(1_000_000_001n))).toEqual([
      'relayPrice: above 1000000000 lamports, the most this field allows',
    ]);
    expect(messageProblems(announce(-1n)).join()).toMatch(/relayPrice/);
  });
});

describe('hop request', () => {
  it("reads a CONNECT's destination PeerId; RESERVE has none; junk is no request", () => {
    const dst = Identity.generate().peerId;
    const id = dst.toMultihash().bytes;
    // HopMessage { type = CONNECT (1); peer = Peer { id } } with a varint length prefix
    const peer = [0x0a, id.length, ...id];
    const msg = [0x08, 0x01, 0x12, peer.length, ...peer];
    expect(parseHopRequest(Uint8Array.from([msg.length, ...msg]))).toEqual({ type: 1, dst: dst.toString() });
    expect(parseHopRequest(Uint8Array.from([2, 0x08, 0x00]))).toEqual({ type: 0 });
    expect(parseHopRequest(Uint8Array.from([0x7f, 0x08]))).toBeUndefined();
    expect(parseHopRequest(Uint8Array.from(getBase58Encoder().encode('junk')))).toBeUndefined();
  });
});
