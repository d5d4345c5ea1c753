// Two peers signal each other over the real local ledger: stdin topics, sealed connect info,
// cursors that survive a client restart, and size limits enforced before sending.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Identity } from '../../src-main/core/identity/identity';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { MessageTooLargeError } from '../../src-main/core/ledger/envelope';
import { LedgerPostError } from '../../src-main/core/ledger/client';
import { expiresIn, newNonce } from '../../src-main/core/ledger/messages';
import { open, seal, openJson, sealJson } from '../../src-main/core/ledger/crypto';
import type { AxonMessage } from '../../src-main/core/ledger/types';
import {
  collector,
  ledgerWithClients,
  stop,
  testClient,
  type LedgerWithClients,
  type TestClient,
} from './ledger-helpers';

let setup: LedgerWithClients<'alice' | 'bob'> | undefined;
let tmp: LedgerWithClients<string>['tmp'];
let ledger: LocalLedger;
const alice = Identity.generate(); // buyer
const bob = Identity.generate(); // seller
let a: TestClient;
let b: TestClient;

beforeAll(async () => {
  setup = await ledgerWithClients('axon-ledger-client-', { alice, bob }, 2_000_000_000n);
  ({ tmp, ledger } = setup);
  ({ alice: a, bob: b } = setup.clients);
});
afterAll(async () => {
  await setup?.close();
});

describe('ledger client on the local ledger', () => {
  it('two identities exchange messages on their stdin topics, with sealed connect info', async () => {
    const aliceStdin = await a.client.stdinTopic(alice.address);
    const bobStdin = await b.client.stdinTopic(bob.address);
    const bobInbox = collector(b.client.watch(bobStdin, { fromNow: true }));
    const aliceInbox = collector(a.client.watch(aliceStdin, { fromNow: true }));

    const buyerInfo = { addrs: ['/ip4/192.0.2.10/udp/4001/webrtc-direct'] };
    const reqNonce = newNonce();
    const request: AxonMessage = {
      type: 'ServiceRequest',
      nonce: reqNonce,
      expiresAt: expiresIn(120),
      requestId: 'req-42',
      streamId: 'adsb',
      tier: 'direct',
      maxMinutes: 10,
      maxLamports: 50_000n,
      sealed: sealJson(buyerInfo, { sender: alice, recipient: bob.address, type: 'ServiceRequest', nonce: reqNonce }),
    };
    const posted = await a.client.post(bobStdin, request);
    const [got] = await bobInbox.waitFor(1);
    expect(got!.signature).toBe(posted.signature);
    expect(got!.sender).toBe(alice.address);
    expect(got!.topic).toBe(bobStdin);
    expect(got!.slot).toBe(posted.slot);
    expect(got!.message).toEqual(request);
    const m = got!.message as Extract<AxonMessage, { type: 'ServiceRequest' }>;
    // Only Bob opens it, and only as coming from the transaction's signer.
    expect(openJson(m.sealed, { recipient: bob, sender: got!.sender, type: 'ServiceRequest', nonce: m.nonce })).toEqual(
      buyerInfo,
    );

    const accNonce = newNonce();
    const accept: AxonMessage = {
      type: 'ServiceAccept',
      nonce: accNonce,
      expiresAt: expiresIn(120),
      requestId: 'req-42',
      pricePerPeriod: 5_000n,
      periodSec: 60,
      graceSec: 15,
      punchAt: Date.now() + 2_000,
      relays: [],
      sealed: seal(new TextEncoder().encode('seller-addrs'), {
        sender: bob,
        recipient: alice.address,
        type: 'ServiceAccept',
        nonce: accNonce,
      }),
    };
    await b.client.post(aliceStdin, accept);
    const [reply] = await aliceInbox.waitFor(1);
    expect(reply!.sender).toBe(bob.address);
    expect(reply!.message).toEqual(accept);
    const r = reply!.message as Extract<AxonMessage, { type: 'ServiceAccept' }>;
    expect(
      new TextDecoder().decode(
        open(r.sealed, { recipient: alice, sender: bob.address, type: 'ServiceAccept', nonce: r.nonce }),
      ),
    ).toBe('seller-addrs');
    await bobInbox.stop();
    await aliceInbox.stop();
    expect(bobInbox.items).toHaveLength(1);
    expect(aliceInbox.items).toHaveLength(1);
  });

  it('a watcher restarted with the same database resumes after its cursor: no duplicate, no gap', async () => {
    const carol = Identity.generate();
    const dbFile = join(tmp.dir, 'carol.db');
    let c = testClient(carol, ledger, dbFile);
    const topic = await c.client.stdinTopic(carol.address);
    let inbox = collector(c.client.watch(topic));
    await a.client.post(topic, stop('m1'));
    await a.client.post(topic, stop('m2'));
    await inbox.waitFor(2);
    await inbox.stop();
    await c.close();

    // Carol is offline while two more arrive.
    await a.client.post(topic, stop('m3'));
    await a.client.post(topic, stop('m4'));

    c = testClient(carol, ledger, dbFile);
    inbox = collector(c.client.watch(topic));
    await a.client.post(topic, stop('m5'));
    const got = await inbox.waitFor(3);
    await new Promise((r) => setTimeout(r, 600)); // a duplicate would show up by now
    await inbox.stop();
    await c.close();
    expect(got.map((x) => (x.message as { reason: string }).reason)).toEqual(['m3', 'm4', 'm5']);
    expect(inbox.items).toHaveLength(3);
  });

  it('two watchers of one topic (two cursors) in one client each get every message once', async () => {
    const topic = await b.client.stdinTopic(bob.address);
    const w1 = collector(b.client.watch(topic, { cursor: 'w1', fromNow: true }));
    const w2 = collector(b.client.watch(topic, { cursor: 'w2', fromNow: true }));
    const posted = await a.client.post(topic, stop('to both'));
    const [x1] = await w1.waitFor(1);
    const [x2] = await w2.waitFor(1);
    await Promise.all([w1.stop(), w2.stop()]);
    expect(x1!.signature).toBe(posted.signature);
    expect(x2!.signature).toBe(posted.signature);
    expect(b.client.garbage.counts.replayed ?? 0).toBe(0);
  });

  it('a message too large for a transaction is refused before anything is sent', async () => {
    const before = await a.client.balance();
    const huge: AxonMessage = {
      type: 'NodeAnnounce',
      nonce: newNonce(),
      expiresAt: expiresIn(60),
      roles: ['relay'],
      multiaddrs: Array.from({ length: 6 }, (_, i) => `/dns4/relay-${i}.example.org/tcp/4001/p2p/`.padEnd(200, 'x')),
    };
    const topic = await a.client.marketTopic('main');
    await expect(a.client.post(topic, huge)).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(await a.client.balance()).toBe(before);
  });

  it('a post the ledger refuses fails at once with the reason, without retrying', async () => {
    const topic = await a.client.stdinTopic(bob.address);
    const tooMuch = (await a.client.balance()) + 1n;
    const err = await a.client
      .post(topic, stop('overdraft'), { transfer: { to: bob.address, lamports: tooMuch } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerPostError);
    expect((err as LedgerPostError).kind).toBe('rejected');
    const broke = testClient(Identity.generate(), ledger, join(tmp.dir, 'broke.db'));
    const err2 = await broke.client.post(topic, stop('no fee')).catch((e: unknown) => e);
    await broke.close();
    expect((err2 as LedgerPostError).kind).toBe('rejected');
  });

  it('reports balance and fees; a fee is paid per post', async () => {
    const fee = await a.client.estimateFee(false);
    const feeWithTransfer = await a.client.estimateFee(true);
    expect(fee).toBeGreaterThan(0n);
    expect(feeWithTransfer).toBe(fee); // one signature either way
    const before = await a.client.balance();
    await a.client.post(await a.client.marketTopic('main'), stop('fee probe'));
    expect(await a.client.balance()).toBe(before - fee);
  });
});
