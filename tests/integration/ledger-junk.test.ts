// A topic flooded with junk memos (posted as raw memo transactions, as a hostile peer would)
// keeps delivering the valid messages in between, in order; junk is counted per kind, never
// delivered, never fatal. Expired and replayed envelopes are dropped too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { encode } from 'cborg';
import { Identity } from '../../src-main/core/identity/identity';
import {
  ENVELOPE_PREFIX,
  encodeEnvelope,
  encodePayload,
  MAX_ENVELOPE_CHARS,
} from '../../src-main/core/ledger/envelope';
import { newNonce, TYPE_CODES } from '../../src-main/core/ledger/messages';
import type { AxonMessage } from '../../src-main/core/ledger/types';
import {
  collector,
  ledgerWithClients,
  postRawMemo,
  stop,
  type LedgerWithClients,
  type TestClient,
} from './ledger-helpers';

let setup: LedgerWithClients<'peer' | 'troll'> | undefined;
const peer = Identity.generate();
const troll = Identity.generate();
let p: TestClient;
let t: TestClient;

beforeAll(async () => {
  setup = await ledgerWithClients('axon-ledger-junk-', { peer, troll }, 1_000_000_000n);
  ({ peer: p, troll: t } = setup.clients);
});
afterAll(async () => {
  await setup?.close();
});

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const env = (bin: Uint8Array): Uint8Array => text(ENVELOPE_PREFIX + Buffer.from(bin).toString('base64'));

describe('junk on a topic', () => {
  it('keeps delivering the valid messages in between', async () => {
    const topic = await p.client.stdinTopic(peer.address);
    const inbox = collector(p.client.watch(topic));
    const valid = encodePayload(stop('x'));
    const replayed = stop('replayed-original');
    const expired: AxonMessage = { ...stop('too late'), expiresAt: Math.floor(Date.now() / 1000) - 5 };

    const junk: [string, Uint8Array][] = [
      ['random bytes', new Uint8Array(randomBytes(120))],
      ['plain text', text('gm, buy my token')],
      ['wrong prefix', text('axon2:' + Buffer.from(valid).toString('base64'))],
      ['wrong version', env(Uint8Array.from([9, ...valid.subarray(1)]))],
      ['truncated', env(valid.subarray(0, valid.length - 4))],
      ['oversized', text(ENVELOPE_PREFIX + Buffer.alloc(700, 1).toString('base64'))],
      ['not base64', text('axon1:%%%%')],
      [
        'schema violation',
        env(Uint8Array.from([1, ...encode([TYPE_CODES.Payment, newNonce(), 1, 'r', 'not-a-number'])])),
      ],
      ['unknown type', env(Uint8Array.from([1, ...encode([77, newNonce(), 1])]))],
    ];
    expect(junk.find(([n]) => n === 'oversized')![1].length).toBeGreaterThan(MAX_ENVELOPE_CHARS);

    const order: string[] = [];
    await p.client.post(topic, stop('valid-1'));
    order.push('valid-1');
    let i = 0;
    for (const [name, data] of junk) {
      const r = await postRawMemo(t.client, troll, topic, data);
      if (name === 'random bytes')
        expect(r.err).not.toBeNull(); // Memo v1 refuses non-UTF-8: failed tx
      else expect(r.err).toBeNull();
      if (++i % 3 === 0) {
        const label = `valid-${order.length + 1}`;
        await p.client.post(topic, stop(label));
        order.push(label);
      }
    }
    await t.client.post(topic, replayed); // valid, from the troll: delivered (sender = troll)
    order.push('replayed-original');
    await postRawMemo(t.client, troll, topic, text(encodeEnvelope(replayed))); // the same envelope again
    await t.client.post(topic, expired);
    await p.client.post(topic, stop('valid-last'));
    order.push('valid-last');

    const got = await inbox.waitFor(order.length);
    await new Promise((r) => setTimeout(r, 500)); // nothing else may arrive
    await inbox.stop();
    expect(inbox.items.map((x) => (x.message as { reason: string }).reason)).toEqual(order);
    expect(got.find((x) => (x.message as { reason: string }).reason === 'replayed-original')!.sender).toBe(
      troll.address,
    );
    const slots = got.map((x) => x.slot);
    expect([...slots].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(slots);

    const c = p.client.garbage.counts;
    expect(c['wrong-prefix']).toBe(2); // plain text + another prefix
    expect(c['wrong-version']).toBe(1);
    expect(c['malformed']).toBe(1);
    expect(c['oversized']).toBe(1);
    expect(c['bad-base64']).toBe(1);
    expect(c['schema']).toBe(1);
    expect(c['unknown-type']).toBe(1);
    expect(c['replayed']).toBe(1);
    expect(c['expired']).toBe(1);
  });
});
