import { describe, expect, it } from 'vitest';
import {
  blockhash,
  getBase64EncodedWireTransaction,
  signTransactionMessageWithSigners,
  type Address,
} from '@solana/kit';
import { Identity } from '../../src-main/core/identity/identity';
import {
  ENVELOPE_PREFIX,
  MAX_PAYLOAD_BYTES,
  MessageTooLargeError,
  encodeEnvelope,
  decodeEnvelope,
} from '../../src-main/core/ledger/envelope';
import { buildPostMessage, parseTransaction } from '../../src-main/core/ledger/transactions';
import { MEMO_V1_PROGRAM, stdinTopic } from '../../src-main/core/ledger/topics';
import { resolveCluster, wsUrlFor } from '../../src-main/core/ledger/cluster';
import { SAMPLE_MESSAGES } from '../fixtures/ledger-messages';

const bh = { blockhash: blockhash('11111111111111111111111111111111'), lastValidBlockHeight: 100n };
const maxEnvelope = ENVELOPE_PREFIX + Buffer.alloc(MAX_PAYLOAD_BYTES, 7).toString('base64');

describe('post transactions', () => {
  it('one transaction: transfer + Memo v1 naming the topic read-only; parsed back exactly', async () => {
    const buyer = Identity.generate();
    const seller = Identity.generate();
    const topic = await stdinTopic(seller.address);
    const memo = encodeEnvelope(SAMPLE_MESSAGES.Payment);
    const msg = buildPostMessage({
      signer: await buyer.signer(),
      topic,
      memo,
      transfer: { to: seller.address, lamports: 123_456_789_012n },
      blockhash: bh,
    });
    const signed = await signTransactionMessageWithSigners(msg);
    const parsed = parseTransaction(getBase64EncodedWireTransaction(signed), null, topic);
    expect(parsed.sender).toBe(buyer.address);
    expect(parsed.signers).toEqual([buyer.address]);
    expect(parsed.transfers).toEqual([{ from: buyer.address, to: seller.address, lamports: 123_456_789_012n }]);
    expect(parsed.memos).toHaveLength(1);
    const r = decodeEnvelope(parsed.memos[0]!);
    expect(r.ok && r.message).toEqual(SAMPLE_MESSAGES.Payment);
    expect(parsed.allMemos[0]!.accounts).toEqual([topic]);
    // the topic is not a signer and not writable: header says 1 signer; topic is read-only
    expect(msg.instructions[1]!.programAddress).toBe(MEMO_V1_PROGRAM);
  });

  it('a memo on another topic is not reported for this topic', async () => {
    const a = Identity.generate();
    const topic = await stdinTopic(a.address);
    const other = (await stdinTopic(Identity.generate().address)) as Address;
    const signed = await signTransactionMessageWithSigners(
      buildPostMessage({ signer: await a.signer(), topic: other, memo: 'axon1:AQ==', blockhash: bh }),
    );
    const parsed = parseTransaction(getBase64EncodedWireTransaction(signed), null, topic);
    expect(parsed.memos).toHaveLength(0);
    expect(parsed.allMemos).toHaveLength(1);
  });

  it('the largest envelope fits a transaction, with or without a transfer', async () => {
    const a = Identity.generate();
    const b = Identity.generate();
    const topic = await stdinTopic(b.address);
    const signer = await a.signer();
    expect(() => buildPostMessage({ signer, topic, memo: maxEnvelope, blockhash: bh })).not.toThrow();
    expect(() =>
      buildPostMessage({ signer, topic, memo: maxEnvelope, transfer: { to: b.address, lamports: 1n }, blockhash: bh }),
    ).not.toThrow();
  });

  it('a memo too large for a transaction is refused before signing', async () => {
    const a = Identity.generate();
    const topic = await stdinTopic(a.address);
    const tooBig = 'x'.repeat(1100);
    const signer = await a.signer();
    expect(() => buildPostMessage({ signer, topic, memo: tooBig, blockhash: bh }, 'Listing')).toThrow(
      MessageTooLargeError,
    );
  });
});

describe('cluster setting', () => {
  it('maps names and URLs to RPC and pubsub endpoints', () => {
    expect(resolveCluster('local')).toMatchObject({ rpcUrl: 'http://127.0.0.1:8899', wsUrl: 'ws://127.0.0.1:8900' });
    expect(resolveCluster('local', { localPort: 9100 }).wsUrl).toBe('ws://127.0.0.1:9101');
    expect(resolveCluster('devnet')).toMatchObject({ rpcUrl: 'https://api.devnet.solana.com', airdrop: true });
    expect(resolveCluster('mainnet-beta').airdrop).toBe(false);
    expect(resolveCluster('https://rpc.example.org/abc')).toMatchObject({
      name: 'custom',
      wsUrl: 'wss://rpc.example.org/abc',
    });
    expect(wsUrlFor('http://10.0.0.2:7000')).toBe('ws://10.0.0.2:7001');
    expect(() => wsUrlFor('ftp://x')).toThrow(/http/);
  });
});
