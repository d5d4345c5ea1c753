import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { getAddressDecoder, getAddressEncoder } from '@solana/kit';
import { Identity } from '../../src-main/core/identity/identity';
import { MARKET_BASE, MEMO_V1_PROGRAM, TopicError, marketTopic, stdinTopic } from '../../src-main/core/ledger/topics';

describe('topics', () => {
  it('the market base is sha256("axon:market-base:v1")', () => {
    expect(getAddressDecoder().decode(sha256(new TextEncoder().encode('axon:market-base:v1')))).toBe(MARKET_BASE);
  });

  it('stdin is sha256(peer ‖ "axon:stdin" ‖ Memo v1), as createAddressWithSeed defines it', async () => {
    const peer = Identity.fromSeed(new Uint8Array(32).fill(3)).address;
    const enc = getAddressEncoder();
    const expected = getAddressDecoder().decode(
      sha256(
        Uint8Array.from([
          ...enc.encode(peer),
          ...new TextEncoder().encode('axon:stdin'),
          ...enc.encode(MEMO_V1_PROGRAM),
        ]),
      ),
    );
    expect(await stdinTopic(peer)).toBe(expected);
  });

  it('topics differ per peer and per market, and are stable', async () => {
    const a = Identity.generate().address;
    const b = Identity.generate().address;
    expect(await stdinTopic(a)).not.toBe(await stdinTopic(b));
    expect(await stdinTopic(a)).toBe(await stdinTopic(a));
    expect(await marketTopic('main')).not.toBe(await marketTopic('test'));
    expect(await marketTopic('main')).toBe(await marketTopic('main'));
  });

  it('refuses market ids that do not fit a seed', async () => {
    await expect(marketTopic('')).rejects.toThrow(TopicError);
    await expect(marketTopic('x'.repeat(21))).rejects.toThrow(/1 to 20 UTF-8 bytes/);
  });
});
