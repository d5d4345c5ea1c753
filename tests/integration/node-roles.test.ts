// Roles wired into AxonNode on the real local ledger: a relay/reflector posts its NodeAnnounce on
// the market topic; another node sees it, health-checks it, holds a reservation on it and shows
// its NAT report in status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AxonNode, type NatStatus } from '../../src-main/core/node';
import { Identity } from '../../src-main/core/identity/identity';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { createNodeBackend } from '../../src-main/api/node-backend';
import { axonAsync } from '../helpers/cli';
import { FAST_TIMING, settleNativeThreads, startLedger, tempDir, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;

type Mode = boolean | 'auto' | 'on' | 'off';
const dirs = new Map<AxonNode, string>();

/** The app's status view of `node` (what the Connections screen shows). */
async function statusView(node: AxonNode) {
  const api = createNodeBackend(node, {
    dataDir: '/nonexistent',
    settingsFile: '/nonexistent',
    version: 't',
    canAirdrop: true,
  });
  try {
    return await api.status();
  } finally {
    api.close();
  }
}

async function start(ledger: LocalLedger, roles: { relay?: Mode; reflector?: Mode }): Promise<AxonNode> {
  const t = tempDir('axon-roles-');
  const node = await AxonNode.start({
    dataDir: t.dir,
    identity: Identity.generate(),
    // roles left out = the defaults a new user gets ('auto')
    settings: { ...(Object.keys(roles).length ? { roles } : {}), stunServers: [] },
    ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
    timing: FAST_TIMING,
    endpoint: false,
    net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
    roleTiming: { announceTtlSec: 60, healthIntervalMs: 5_000, discoveryIntervalMs: 3_000 },
  });
  cleanups.unshift(async () => {
    await node.shutdown();
    t.cleanup();
  });
  dirs.set(node, t.dir);
  return node;
}

const cleanups: (() => Promise<void>)[] = [];

describe('relay and reflector roles', () => {
  let relay: AxonNode;
  let other: AxonNode;

  beforeAll(async () => {
    const l = await startLedger();
    cleanups.push(l.cleanup);
    relay = await start(l.ledger, { relay: true, reflector: true });
    other = await start(l.ledger, { relay: false, reflector: false });
  });
  afterAll(async () => {
    for (const c of cleanups.splice(0)) await c();
    await settleNativeThreads();
  });

  it('a relay announces itself; another node health-checks it, reserves on it and reports its NAT', async () => {
    const natEvents: NatStatus[] = [];
    other.on('nat', (n) => natEvents.push(n));
    await relay.airdrop(SOL);
    // posting needs a balance: announce now rather than waiting for the retry
    expect(await relay.roles.announce()).toBe(true);
    const relayPeer = relay.identity.peerId.toString();

    const seen = await waitFor(
      () => other.status().roleNodes.find((c) => c.peer === relayPeer && c.health?.ok),
      20_000,
      'the relay seen and healthy',
    );
    expect(seen.roles).toEqual(['relay', 'reflector']);
    expect(seen.health?.rttMs).toBeGreaterThanOrEqual(0);

    // a reservation on the relay: a /p2p-circuit address via it
    const circuit = await waitFor(
      () => other.net.multiaddrs().find((a) => a.includes(`/p2p/${relayPeer}/p2p-circuit`)),
      20_000,
      'a circuit address via the relay',
    );
    expect(circuit).toMatch(new RegExp(`/p2p/${other.identity.peerId.toString()}$`));
    expect(other.status().relays.some((a) => a.includes(`/p2p/${relayPeer}/p2p-circuit`))).toBe(true);
    // the relay does not reserve on itself and knows no other relay
    expect(relay.status().relays).toEqual([]);

    // the NAT report: present and well formed (on loopback without STUN the values are not ours to fix)
    const nat = await waitFor(() => other.status().nat, 10_000, 'a NAT report');
    expect(['endpoint-independent', 'endpoint-dependent', 'none', 'unknown']).toContain(nat.mapping);
    expect(['public', 'punchable', 'relay-only', 'unknown']).toContain(nat.reachability);
    expect(nat.confidence).toBeGreaterThanOrEqual(0);
    expect(nat.confidence).toBeLessThanOrEqual(1);
    expect(Array.isArray(nat.warnings)).toBe(true);
    expect(Array.isArray(nat.sources)).toBe(true);
    // a reflector was announced: discovery ran again and asked it
    const withReflector = await waitFor(
      () => other.status().nat?.sources.some((s) => s.includes(relayPeer)) && other.status().nat,
      15_000,
      'a NAT report with the reflector as a source',
    );
    expect(withReflector.sources.some((s) => s.startsWith('reflector:'))).toBe(true);
    expect(natEvents.length).toBeGreaterThanOrEqual(1);

    // the app's status view (Connections screen) shows the verdict and the relay
    const view = await statusView(other);
    expect(view.nat).toMatch(new RegExp(`^${withReflector.mapping} · ${withReflector.reachability}`));
    expect(view.relays?.some((a) => a.includes(relayPeer))).toBe(true);
  }, 60_000);
});

describe('roles in mode auto (the default)', () => {
  let reflector: AxonNode;
  let pub: AxonNode;
  let refuses: AxonNode;
  let watcher: AxonNode;

  beforeAll(async () => {
    const l = await startLedger();
    cleanups.push(l.cleanup);
    reflector = await start(l.ledger, { relay: 'off', reflector: 'on' });
    pub = await start(l.ledger, {});
    refuses = await start(l.ledger, { relay: 'off', reflector: 'off' });
    watcher = await start(l.ledger, { relay: 'off', reflector: 'off' });
  });
  afterAll(async () => {
    for (const c of cleanups.splice(0)) await c();
    await settleNativeThreads();
  });

  it('a publicly reachable node confirmed by a dial-back serves relay and reflector by itself and announces them; "off" stays off', async () => {
    expect(pub.settings.roles).toMatchObject({ relay: 'auto', reflector: 'auto' });
    // before any observation: not serving, and it says why
    expect(pub.status().roleState.relay).toMatchObject({ mode: 'auto', active: false });
    for (const n of [reflector, pub, refuses]) await n.airdrop(SOL);
    expect(await reflector.roles.announce()).toBe(true);

    // the reflector gives the verdict (public on loopback); its dial-back confirms it; the roles start
    const st = await waitFor(
      () => pub.status().roleState.relay.active && pub.status().roleState,
      40_000,
      'the auto roles serving',
    );
    expect(st.reflector.active).toBe(true);
    expect(st.relay.reason).toMatch(/^auto: publicly reachable \(public at 127\.0\.0\.1\), confirmed by a peer's dial/);
    expect(pub.net.reflectorUdpPort).toBeGreaterThan(0);

    // another node sees the announcement: relay + reflector, healthy
    const pubPeer = pub.identity.peerId.toString();
    const seen = await waitFor(
      () => watcher.status().roleNodes.find((c) => c.peer === pubPeer && c.health?.ok),
      30_000,
      'the auto node announced and healthy',
    );
    expect([...seen.roles].sort()).toEqual(['reflector', 'relay']);
    // and uses it as an ICE server
    expect(watcher.net.iceServers()).toContain(`stun:127.0.0.1:${pub.net.reflectorUdpPort}`);

    // the user said no: same verdict, no role
    await waitFor(() => refuses.status().nat?.reachability === 'public', 20_000, 'a verdict for the refusing node');
    expect(refuses.status().roleState.relay).toMatchObject({ mode: 'off', active: false });
    expect(refuses.status().roleState.reflector).toMatchObject({ mode: 'off', active: false });
    expect(refuses.net.announcement()).toBeUndefined();

    // the app's status view says it too
    expect((await statusView(pub)).roles?.relay).toMatchObject({ mode: 'auto', active: true });

    // `axon status` on its data dir says it too (from the role state the node keeps in SQLite)
    const st2 = await axonAsync(['--data-dir', dirs.get(pub)!, 'status']);
    expect(st2.status, st2.stderr).toBe(0);
    expect(st2.stdout).toMatch(/^relay +serving \(auto\): auto: publicly reachable \(public at 127\.0\.0\.1\)/m);
    expect(st2.stdout).toMatch(/^reflector +serving \(auto\)/m);
    // and the NAT verdict the node kept (migration 014)
    expect(st2.stdout).toMatch(/^nat +none · public · 127\.0\.0\.1 \(/m);
    // the relay's use against its caps (the defaults: 2048 KiB/s in total, 50 GiB a day; free)
    expect(st2.stdout).toMatch(/^relay use [\d.]+ MiB today of 51200\.0 MiB, \d+ KiB\/s of 2048 KiB\/s; price free/m);
    expect((await statusView(pub)).relayUse).toMatchObject({
      capBytesPerSec: 2048 * 1024,
      dailyCapBytes: 50 * 1024 ** 3,
      pricePerMinute: '0',
    });
    const js = await axonAsync(['--data-dir', dirs.get(refuses)!, 'status', '--json']);
    expect(JSON.parse(js.stdout).nat).toMatchObject({ mapping: 'none', reachability: 'public' });
    expect(JSON.parse(js.stdout).roles).toEqual([
      expect.objectContaining({ role: 'relay', mode: 'off', active: false }),
      expect.objectContaining({ role: 'reflector', mode: 'off', active: false }),
    ]);
  }, 90_000);
});
