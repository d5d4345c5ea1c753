// Peers are the STUN servers: a reflector's UDP responder answers ICE's Binding requests, a node
// with no STUN server configured gets a server-reflexive candidate from a reflector in its
// directory and punches with it; a lying reflector and one answering junk do not move the verdict,
// are named in its warnings and are never handed to ICE. Real libp2p nodes on 127.0.0.1.
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, describe, expect, test } from 'vitest';
import {
  createMemorySignalingPair,
  iceServers,
  reflectorStunUrl,
  type ConnectInfo,
  type NetNode,
  type RoleCandidate,
} from '../../src-main/core/net/index';
import { encodeBindingResponse, parseStun } from '../../src-main/core/net/stun';
import { Identity } from '../../src-main/core/identity/identity';
import { NetFixture, echo, rewriting } from './net-helpers';

const fx = new NetFixture();
const sockets: Socket[] = [];
afterAll(async () => {
  for (const s of sockets) s.close();
  await fx.close();
});

/** The directory entry a reflector's NodeAnnounce gives (what the market reads off the ledger). */
function candidateOf(n: NetNode): RoleCandidate {
  const body = n.announcement(600);
  if (!body) throw new Error('the node has no role to announce');
  return { peer: n.peerId.toString(), roles: body.roles, multiaddrs: body.multiaddrs, expiresAt: body.expiresAt };
}

/** A UDP "reflector" that answers every Binding request with `answer(txId)`. */
async function fakeReflector(answer: (txId: Uint8Array) => Buffer): Promise<{ port: number; peer: string }> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  s.on('message', (buf, rinfo) => {
    const m = parseStun(buf);
    if (m) s.send(answer(m.txId), rinfo.port, rinfo.address);
  });
  return { port: s.address().port, peer: Identity.generate().peerId.toString() };
}

describe('reflectors are STUN servers for ICE', () => {
  test('with no STUN server configured, ICE gathers a server-reflexive candidate from a reflector peer and punches with it', async () => {
    const reflector = await fx.node({ roles: { reflector: true } });
    // no loopback host candidate: the 127.0.0.1 candidate can only come from the reflector
    const a = await fx.node({ stunServers: [], announceFilter: { allowLoopback: false } });
    const b = await fx.node({ stunServers: [] });

    // without a reflector in the directory: no server-reflexive candidate at all
    const before = await a.prepareConnect({ peer: b.peerId, role: 'initiator' });
    expect(before.localInfo.ice?.candidates.filter((c) => c.type === 'srflx')).toEqual([]);
    before.close();

    const dir = [candidateOf(reflector)];
    a.setIceServerSource(() => iceServers({ candidates: dir, configured: [] }));
    b.setIceServerSource(() => iceServers({ candidates: dir, configured: [] }));
    expect(a.iceServers()).toEqual([`stun:127.0.0.1:${reflector.reflectorUdpPort}`]);

    // the punch offers only what the reflector gave A (no addresses, no relays, no host candidate)
    const onlySrflx = (i: ConnectInfo): ConnectInfo => ({
      ...i,
      addrs: [],
      relays: [],
      ...(i.ice ? { ice: { ...i.ice, candidates: i.ice.candidates.filter((c) => c.type === 'srflx') } } : {}),
    });
    const noAddrs = (i: ConnectInfo): ConnectInfo => ({ ...i, addrs: [], relays: [] });
    const [sa, sb] = createMemorySignalingPair(20);
    let offered: ConnectInfo | undefined;
    const [ra] = await Promise.all([
      a.connectPeer({
        peer: b.peerId,
        role: 'initiator',
        signaling: rewriting(sa, (i) => (offered = onlySrflx(i))),
      }),
      b.connectPeer({ peer: a.peerId, role: 'responder', signaling: rewriting(sb, noAddrs) }),
    ]);
    expect(offered?.ice?.candidates).toContainEqual(expect.objectContaining({ type: 'srflx', ip: '127.0.0.1' }));
    expect(offered?.ice?.candidates.every((c) => c.type === 'srflx')).toBe(true);
    expect(ra.attempts.some((x) => x.method === 'hole-punch' && x.outcome === 'ok')).toBe(true);
    expect(ra.path.transport).toBe('webrtc');
    expect(await echo(ra.connection, 50_000)).toBeGreaterThanOrEqual(50_000);
  });

  test('a reflector that went away since it was announced does not cost the punch its srflx candidate', async () => {
    const live = await fx.node({ roles: { reflector: true } });
    const gone = await fx.node({ roles: { reflector: true } });
    const a = await fx.node({ stunServers: [], announceFilter: { allowLoopback: false } });
    const b = await fx.node({ stunServers: [] });
    const dir = [candidateOf(gone), candidateOf(live)];
    await gone.stop(); // its announcement is still in the directory, first (unchecked, ranked first)
    a.setIceServerSource(() => iceServers({ candidates: dir, configured: [] }));
    expect(a.iceServers()[0]).toBe(reflectorStunUrl(dir[0]!)); // the dead one is ranked first
    const s = await a.prepareConnect({ peer: b.peerId, role: 'initiator' });
    try {
      expect(s.localInfo.ice?.candidates).toContainEqual(expect.objectContaining({ type: 'srflx', ip: '127.0.0.1' }));
    } finally {
      s.close();
    }
  });

  test('a lying reflector and one answering junk: the verdict stands, warns and names the liar, ICE never gets it', async () => {
    const r1 = await fx.node({ roles: { reflector: true } });
    const r2 = await fx.node({ roles: { reflector: true } });
    const me = await fx.node({ stunServers: [] });
    const liar = await fakeReflector((tx) => encodeBindingResponse(tx, { ip: '203.0.113.7', port: 4242 }));
    const junk = await fakeReflector((tx) => {
      // a success response for the right transaction whose attributes run past the end
      const b = Buffer.alloc(32);
      b.writeUInt16BE(0x0101, 0);
      b.writeUInt16BE(12, 2);
      b.writeUInt32BE(0x2112a442, 4);
      Buffer.from(tx).copy(b, 8);
      b.writeUInt16BE(0x0020, 20);
      b.writeUInt16BE(200, 22);
      return b;
    });
    const udpAddr = (port: number, peer: string): string => `/ip4/127.0.0.1/udp/${port}/p2p/${peer}`;
    const dir: RoleCandidate[] = [
      candidateOf(r1),
      candidateOf(r2),
      ...[liar, junk].map((f) => ({
        peer: f.peer,
        roles: ['reflector' as const],
        multiaddrs: [udpAddr(f.port, f.peer)],
        expiresAt: Math.floor(Date.now() / 1000) + 600,
      })),
    ];
    const report = await me.discoverAddress({
      reflectors: dir.flatMap((c) => c.multiaddrs.filter((a) => a.includes('/udp/') && !a.includes('webrtc'))),
    });

    expect(report.publicIp).toBe('127.0.0.1');
    expect(report.reachability).toBe('public');
    expect(report.sources).toContain(`reflector:${r1.peerId.toString()}`);
    expect(report.sources).toContain(`reflector:${r2.peerId.toString()}`);
    expect(report.sources).not.toContain(`reflector:${junk.peer}`);
    expect(report.outvoted).toEqual([`reflector:${liar.peer}`]);
    expect(report.warnings.join('\n')).toContain(`203.0.113.7 (reflector:${liar.peer})`);

    const servers = iceServers({ candidates: dir, configured: [], report });
    expect(servers).not.toContain(`stun:127.0.0.1:${liar.port}`);
    expect(servers).toContain(`stun:127.0.0.1:${r1.reflectorUdpPort}`);
    expect(servers).toContain(`stun:127.0.0.1:${r2.reflectorUdpPort}`);
    // those that answered the agreed address first; the junk one (no answer) after them
    expect(servers.indexOf(`stun:127.0.0.1:${junk.port}`)).toBeGreaterThan(1);
  });
});
