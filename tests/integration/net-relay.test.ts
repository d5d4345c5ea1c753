// Relays and reflectors on loopback: a node reachable only through relays is reached relayed
// (the status names the relay), moves to another relay within 10 s when its relay dies, and a
// relayed pair switches to a direct path as soon as one works. Reflectors report what they see.
import { afterAll, describe, expect, test } from 'vitest';
import { createMemorySignalingPair, type ConnectInfo, type PathChange } from '../../src-main/core/net/index';
import { ConnectionStore } from '../../src-main/core/store/connections';
import { NetFixture, echo, rewriting, until } from './net-helpers';

const fx = new NetFixture();
afterAll(() => fx.close());

const tcpAddr = (addrs: string[]): string => addrs.find((a) => a.includes('/tcp/') && !a.includes('p2p-circuit'))!;

describe('relays', () => {
  test('a node reachable only via relays is reached relayed; when the relay dies the pair moves to another relay or direct within 10 s', async () => {
    const r1 = await fx.node({ roles: { relay: true } });
    const r2 = await fx.node({ roles: { relay: true } });
    // a and b: no loopback addresses announced and no ICE — like nodes behind symmetric NATs
    const hidden = { announceFilter: { allowLoopback: false, allowPrivate: false }, punch: false };
    const b = await fx.node(hidden);
    const a = await fx.node(hidden);
    const held = await b.useRelays([tcpAddr(r1.multiaddrs())]);
    expect(held.every((x) => x.includes(`/p2p/${r1.peerId.toString()}/p2p-circuit`))).toBe(true);
    await b.useRelays([tcpAddr(r2.multiaddrs())]);
    const relaysHeld = (): Set<string> =>
      new Set(b.multiaddrs().flatMap((x) => x.match(/\/p2p\/(\w+)\/p2p-circuit/)?.[1] ?? []));
    await until(() => relaysHeld().size >= 2, 10_000, 'reservations on two relays');
    expect(b.multiaddrs().every((x) => x.includes('p2p-circuit'))).toBe(true);

    const [sa, sb] = createMemorySignalingPair(20);
    // only r1's circuit address first, so the pair starts on r1; r2 is known as the fallback
    const r1First = (i: ConnectInfo): ConnectInfo => ({
      ...i,
      relays: [...i.relays].sort((x) => (x.includes(r1.peerId.toString()) ? -1 : 1)),
    });
    const [ra] = await Promise.all([
      a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: sa }),
      b.connectPeer({ peer: a.peerId, role: 'responder', signaling: rewriting(sb, r1First) }),
    ]);
    expect(ra.path.kind).toBe('relayed');
    expect([r1.peerId.toString(), r2.peerId.toString()]).toContain(ra.path.relay);
    expect(ra.attempts.find((x) => x.method === 'relay')?.outcome).toBe('ok');
    expect(await echo(ra.connection, 50_000)).toBeGreaterThanOrEqual(50_000);
    await until(() => a.peerStatus(b.peerId).rttMs !== undefined, 5000, 'an RTT over the relay');
    const st = a.peerStatus(b.peerId);
    expect(st.path?.kind).toBe('relayed');
    expect(st.path?.relay).toBe(ra.path.relay);
    expect(
      new ConnectionStore(a.db)
        .connections(b.peerId.toString())
        .some((c) => c.path === 'relayed' && c.relay === ra.path.relay),
    ).toBe(true);

    // kill the relay in use
    const used = ra.path.relay === r1.peerId.toString() ? r1 : r2;
    const other = used === r1 ? r2 : r1;
    const lostAt = Date.now();
    const changes: PathChange[] = [];
    a.addEventListener('path', (e) => changes.push((e as CustomEvent<PathChange>).detail));
    await used.stop();
    const back = await until(
      () => {
        const s = a.peerStatus(b.peerId);
        return s.connected && s.path?.relay !== used.peerId.toString() ? s : undefined;
      },
      10_000,
      'a new path after the relay died',
    );
    expect(Date.now() - lostAt).toBeLessThan(10_000);
    expect(back.path?.kind === 'relayed' ? back.path.relay : 'direct').toBe(
      back.path?.kind === 'relayed' ? other.peerId.toString() : 'direct',
    );
    expect(changes.some((c) => c.to === undefined || c.to.relay !== used.peerId.toString())).toBe(true);
  });

  test('a relayed pair keeps trying for a direct path and switches when it works', async () => {
    const r = await fx.node({ roles: { relay: true } });
    const b = await fx.node({ punch: false });
    const a = await fx.node({ punch: false });
    await b.useRelays([tcpAddr(r.multiaddrs())]);
    await until(() => b.multiaddrs().some((x) => x.includes('p2p-circuit')), 10_000, 'a reservation');
    const [sa, sb] = createMemorySignalingPair(20);
    // at accept time the peers know no direct address of each other (as behind NATs)
    const relayOnly = (i: ConnectInfo): ConnectInfo => ({ ...i, addrs: [] });
    const seen: string[] = [];
    a.addEventListener('path', (e) => {
      const d = (e as CustomEvent<PathChange>).detail;
      if (d.peer === b.peerId.toString() && d.to) seen.push(d.to.kind);
    });
    const [ra] = await Promise.all([
      a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: rewriting(sa, relayOnly) }),
      b.connectPeer({ peer: a.peerId, role: 'responder', signaling: rewriting(sb, relayOnly) }),
    ]);
    expect(ra.path.kind).toBe('relayed');
    // identify over the relayed connection teaches each side the other's addresses; the upgrade dials them
    const up = await until(
      () => (a.peerStatus(b.peerId).path?.kind === 'direct-lan' ? a.peerStatus(b.peerId) : undefined),
      15_000,
      'the upgrade to direct',
    );
    expect(up.path?.transport).toBe('tcp');
    expect(seen[0]).toBe('relayed');
    expect(seen).toContain('direct-lan');
    expect(
      new ConnectionStore(a.db).attempts(b.peerId.toString()).some((x) => x.method === 'upgrade' && x.outcome === 'ok'),
    ).toBe(true);
  });
});

describe('reflectors', () => {
  test('a reflector reports the observed address over libp2p and over its UDP responder; the announcement carries both', async () => {
    const refl = await fx.node({ roles: { reflector: true } });
    const a = await fx.node();
    const ann = refl.announcement();
    expect(ann?.roles).toEqual(['reflector']);
    expect(ann?.multiaddrs.some((x) => /\/udp\/\d+\/p2p\//.test(x))).toBe(true);
    const report = await a.discoverAddress({ reflectors: ann!.multiaddrs, stunServers: [] });
    expect(report.publicIp).toBe('127.0.0.1');
    expect(report.mapping).toBe('none');
    expect(report.reachability).toBe('public');
    expect(report.sources).toEqual([`reflector:${refl.peerId.toString()}`]);
    expect(a.announcement()).toBeUndefined();
  });
});
