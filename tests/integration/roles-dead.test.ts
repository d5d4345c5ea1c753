// Dead relays and reflectors must not starve a node (issue 12): a node whose NodeAnnounce is still
// live on the ledger but which died (killed, or its host went silent) is checked once, remembered
// as dead (across restarts too) and skipped; the live ones are used for the NAT verdict, for ICE
// and for relay reservations; a reserved relay that dies is replaced at once. Real nodes on
// loopback, the real local ledger, real SQLite; the dead nodes run in child processes so that
// they can really die (SIGKILL) or go silent (SIGSTOP: TCP connects, nothing ever answers).
import { afterAll, describe, expect, it } from 'vitest';
import { AxonNode } from '../../src-main/core/node';
import { Identity } from '../../src-main/core/identity/identity';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import type { SettingsInput } from '../../src-main/core/settings';
import { FAST_TIMING, settleNativeThreads, startChildNode, startLedger, tempDir, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
  await settleNativeThreads();
});

type Roles = NonNullable<SettingsInput['roles']>;

async function start(ledger: LocalLedger, roles: Roles, dir?: string, identity?: Identity): Promise<AxonNode> {
  const t = dir ? { dir, cleanup: () => undefined } : tempDir('axon-dead-');
  const node = await AxonNode.start({
    dataDir: t.dir,
    identity: identity ?? Identity.generate(),
    settings: { roles, stunServers: [] },
    ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
    timing: FAST_TIMING,
    endpoint: false,
    net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
    // the default health interval (60 s): a dead relay must be replaced without waiting for it
    roleTiming: { announceTtlSec: 600, maxRelays: 1 },
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await node.shutdown();
  };
  cleanups.unshift(async () => {
    await stop();
    if (!dir) t.cleanup();
  });
  stops.set(node, stop);
  return node;
}
const stops = new Map<AxonNode, () => Promise<void>>();

/** A relay (and reflector when asked) in a child process that announces itself, funded. */
async function childRole(ledger: LocalLedger, roles: Roles) {
  const t = tempDir('axon-dead-child-');
  const identity = Identity.generate();
  const child = await startChildNode(ledger, {
    dataDir: t.dir,
    identity,
    settings: { roles, stunServers: [] },
    roleTiming: { announceTtlSec: 600 },
  });
  cleanups.unshift(async () => {
    child.proc.kill('SIGCONT');
    await child.kill();
    t.cleanup();
  });
  await child.call('airdrop', { lamports: SOL.toString() });
  expect(await child.call<boolean>('announce')).toBe(true);
  return { child, peer: identity.peerId.toString() };
}

describe('dead announced relays and reflectors', () => {
  it('a silent reflector/relay is checked once and skipped: the verdict, ICE and the directory use the live one, also after a restart', async () => {
    const l = await startLedger();
    cleanups.push(l.cleanup);
    const on: Roles = { relay: 'on', reflector: 'on' };
    // announced first, then gone silent (its host vanished): connects hang, UDP goes unanswered
    const dead = await childRole(l.ledger, on);
    dead.child.proc.kill('SIGSTOP');
    const live = await start(l.ledger, on);
    await live.airdrop(SOL);
    expect(await live.roles.announce()).toBe(true);
    const livePeer = live.identity.peerId.toString();

    // a new node with the defaults a user gets
    const dir = tempDir('axon-dead-new-');
    cleanups.push(() => dir.cleanup());
    const me = Identity.generate();
    let node = await start(l.ledger, { relay: 'off', reflector: 'off' }, dir.dir, me);
    const nat = await waitFor(
      () => node.status().nat?.sources.includes(`reflector:${livePeer}`) && node.status().nat,
      40_000,
      'a NAT verdict from the live reflector',
    );
    expect(nat.mapping).not.toBe('unknown');
    const seen = await waitFor(
      () => node.status().roleNodes.find((c) => c.peer === dead.peer && c.health && !c.health.ok),
      20_000,
      'the silent node checked and found dead',
    );
    expect(seen.health?.error).toBeTruthy();
    // ICE gets the live reflector's STUN server, never the dead one's
    expect(node.net.iceServers()[0]).toBe(`stun:127.0.0.1:${live.net.reflectorUdpPort}`);
    expect(node.net.iceServers().length).toBe(1);

    // restarted on its data dir: the dead node is known dead at once (not tried first again)
    await stops.get(node)!();
    node = await start(l.ledger, { relay: 'off', reflector: 'off' }, dir.dir, me);
    const known = node.status().roleNodes.find((c) => c.peer === dead.peer);
    expect(known?.health).toMatchObject({ ok: false });
    const again = await waitFor(
      () => node.status().nat?.sources.includes(`reflector:${livePeer}`) && node.status().nat,
      30_000,
      'a NAT verdict from the live reflector after the restart',
    );
    expect(again.sources).not.toContain(`reflector:${dead.peer}`);
  }, 150_000);

  it('a reserved relay that dies is replaced by a live one at once; a node started after its death reserves on the live one', async () => {
    const l = await startLedger();
    cleanups.push(l.cleanup);
    // relays only: no reflector, so the nodes on loopback have no verdict saying "public" and hold
    // relay reservations as a NATed node does
    const relayOnly: Roles = { relay: 'on', reflector: 'off' };
    const first = await childRole(l.ledger, relayOnly);
    const node = await start(l.ledger, { relay: 'off', reflector: 'off' });
    const circuitVia = (n: AxonNode, relay: string): string | undefined =>
      n.net.multiaddrs().find((a) => a.includes(`/p2p/${relay}/p2p-circuit`));
    await waitFor(() => circuitVia(node, first.peer), 30_000, 'a reservation on the first relay');

    const second = await start(l.ledger, relayOnly);
    await second.airdrop(SOL);
    expect(await second.roles.announce()).toBe(true);
    const secondPeer = second.identity.peerId.toString();
    await waitFor(
      () => node.status().roleNodes.find((c) => c.peer === secondPeer && c.health?.ok),
      30_000,
      'the second relay seen and healthy',
    );
    // one reservation wanted (maxRelays 1): still only the first
    expect(circuitVia(node, secondPeer)).toBeUndefined();

    // the first relay dies; its announcement stays live on the ledger
    await first.child.kill();
    await waitFor(() => circuitVia(node, secondPeer), 20_000, 'a reservation on the live relay after the death');
    expect(circuitVia(node, first.peer)).toBeUndefined();

    // a node started now reads both announcements; it reserves on the live relay
    const late = await start(l.ledger, { relay: 'off', reflector: 'off' });
    await waitFor(() => circuitVia(late, secondPeer), 30_000, 'the late node reserving on the live relay');
    expect(late.status().roleNodes.find((c) => c.peer === first.peer)?.health?.ok).not.toBe(true);
  }, 150_000);
});
