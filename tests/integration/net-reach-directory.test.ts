// The relay/reflector directory survives restarts: a node restarted on its data dir knows the
// relays at once (from SQLite, not from a new announcement) and uses them; and a new
// node's first read of a topic stops at the oldest transaction that can still be alive.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { AxonNode } from '../../src-main/core/node';
import { Identity } from '../../src-main/core/identity/identity';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { RoleStore } from '../../src-main/core/store/roles';
import { FAST_TIMING, settleNativeThreads, startLedger, tempDir, waitFor } from './market-helpers';
import { collector, ledgerWithClients, stop, testClient } from './ledger-helpers';

const SOL = 1_000_000_000n;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
  await settleNativeThreads();
});

async function start(
  ledger: LocalLedger,
  dir: string,
  identity: Identity,
  roles: { relay: 'on' | 'off'; reflector: 'on' | 'off' },
): Promise<AxonNode> {
  return AxonNode.start({
    dataDir: dir,
    identity,
    settings: { roles, stunServers: [] },
    ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
    timing: FAST_TIMING,
    endpoint: false,
    net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
    roleTiming: { announceTtlSec: 600, healthIntervalMs: 5_000 },
  });
}

describe('the directory across restarts', () => {
  it('a restarted node knows the relay from its database at once, health-checks it and asks it for its address', async () => {
    const l = await startLedger();
    cleanups.push(l.cleanup);
    const rt = tempDir('axon-dir-r-');
    const relay = await start(l.ledger, rt.dir, Identity.generate(), { relay: 'on', reflector: 'on' });
    cleanups.unshift(async () => {
      await relay.shutdown();
      rt.cleanup();
    });
    await relay.airdrop(SOL);
    expect(await relay.roles.announce()).toBe(true);
    const relayPeer = relay.identity.peerId.toString();

    const ot = tempDir('axon-dir-o-');
    cleanups.push(async () => ot.cleanup());
    const me = Identity.generate();
    let other = await start(l.ledger, ot.dir, me, { relay: 'off', reflector: 'off' });
    await waitFor(() => other.status().roleNodes.find((c) => c.peer === relayPeer), 20_000, 'the relay announced');
    await other.shutdown();

    // restarted: the relay is in the directory before any announcement could have been read again
    other = await start(l.ledger, ot.dir, me, { relay: 'off', reflector: 'off' });
    cleanups.unshift(() => other.shutdown());
    const known = other.status().roleNodes.find((c) => c.peer === relayPeer);
    expect(known?.roles).toEqual(['relay', 'reflector']);
    expect(known!.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(new RoleStore(AxonNode.internalsForTests(other).db).liveAnnouncements().map((a) => a.peer)).toContain(
      relayPeer,
    );
    // and it is used at once, with no new NodeAnnounce from the relay: health-checked, and the
    // first address discovery asks it (a public node on loopback then needs no reservation)
    await waitFor(
      () => other.status().roleNodes.find((c) => c.peer === relayPeer && c.health?.ok),
      20_000,
      'the stored relay health-checked',
    );
    const nat = await waitFor(() => other.status().nat, 20_000, 'the first NAT report');
    expect(nat.sources).toContain(`reflector:${relayPeer}`);
    // this node's own role state is kept for `axon status`
    expect(new RoleStore(AxonNode.internalsForTests(other).db).roleStates()).toEqual([
      expect.objectContaining({ role: 'reflector', mode: 'off', active: false }),
      expect.objectContaining({ role: 'relay', mode: 'off', active: false }),
    ]);
  }, 90_000);

  it('expired announcements are dropped from the database, not used', () => {
    const t = tempDir('axon-dir-x-');
    cleanups.push(async () => t.cleanup());
    // the store alone, on a fresh database with the migrations
    return (async () => {
      const { openDb } = await import('../../src-main/core/store/db');
      const db = openDb(join(t.dir, 'x.db'));
      try {
        const s = new RoleStore(db);
        const now = Math.floor(Date.now() / 1000);
        s.saveAnnouncement({ peer: 'A', roles: ['relay'], multiaddrs: ['/ip4/1.2.3.4/tcp/1'], expiresAt: now - 1 });
        s.saveAnnouncement({
          peer: 'B',
          roles: ['reflector'],
          multiaddrs: ['/ip4/1.2.3.5/tcp/1'],
          expiresAt: now + 60,
        });
        // an older announcement never replaces a newer one
        s.saveAnnouncement({ peer: 'B', roles: ['relay'], multiaddrs: [], expiresAt: now + 30 });
        expect(s.liveAnnouncements(now)).toEqual([
          { peer: 'B', roles: ['reflector'], multiaddrs: ['/ip4/1.2.3.5/tcp/1'], expiresAt: now + 60 },
        ]);
        expect(db.prepare('SELECT COUNT(*) AS n FROM role_announcements').get()).toEqual({ n: 1 });
      } finally {
        db.close();
      }
    })();
  });
});

describe('a first read bounded by what can still be alive', () => {
  it('a watcher with no cursor and notBeforeSec reads only what landed since, not the topic history', async () => {
    const alice = Identity.generate();
    const env = await ledgerWithClients('axon-dir-w-', { alice }, SOL);
    cleanups.push(() => env.close());
    const a = env.clients.alice;
    const topic = await a.client.stdinTopic(alice.address);
    await a.client.post(topic, stop('old-1'));
    await a.client.post(topic, stop('old-2'));
    // blockTime is the start of the slot in whole seconds, and a busy ledger may still be in a slot
    // that began a while ago: put the bound 2 s before now and 4 s after the old posts
    await new Promise((r) => setTimeout(r, 4100));
    const since = Math.floor(Date.now() / 1000) - 2;
    await a.client.post(topic, stop('new-1'));

    const fresh = testClient(Identity.generate(), env.ledger, join(env.tmp.dir, 'fresh.db'));
    cleanups.unshift(() => fresh.close());
    const inbox = collector(fresh.client.watch(topic, { notBeforeSec: since }));
    const got = await inbox.waitFor(1);
    await new Promise((r) => setTimeout(r, 800)); // the old ones would show up by now
    await inbox.stop();
    expect(got.map((x) => (x.message as { reason: string }).reason)).toEqual(['new-1']);
    expect(inbox.items).toHaveLength(1);

    // without the bound the same first read delivers the whole history
    const full = testClient(Identity.generate(), env.ledger, join(env.tmp.dir, 'full.db'));
    cleanups.unshift(() => full.close());
    const all = collector(full.client.watch(topic));
    await all.waitFor(3);
    await all.stop();
    expect(all.items.map((x) => (x.message as { reason: string }).reason)).toEqual(['old-1', 'old-2', 'new-1']);
  }, 60_000);
});
