// Wire formats of the net layer: ConnectInfo (sealed into ledger messages), the STUN codec,
// SDP synthesis for the ICE punch, address scoping, path classification, role picking, backoff.
import { describe, expect, test } from 'vitest';
import { multiaddr } from '@multiformats/multiaddr';
import {
  decodeConnectInfo,
  encodeConnectInfo,
  ConnectInfoError,
  MAX_CONNECT_INFO_BYTES,
  type ConnectInfo,
} from '../../src-main/core/net/connect-info';
import { encodeBindingRequest, encodeBindingResponse, parseStun, parseHostPort } from '../../src-main/core/net/stun';
import { parseIceParams, synthesizeSdp } from '../../src-main/core/net/ice-sdp';
import { directAddrsWorthDialing, ipScope, makeAnnounceFilter } from '../../src-main/core/net/addresses';
import { betterPath, classifyConnection } from '../../src-main/core/net/status';
import { pickRoles } from '../../src-main/core/net/roles';
import { nextBackoff, BACKOFF_MAX_MS } from '../../src-main/core/net/ladder';
import { udpResponder } from '../../src-main/core/net/discovery';

const RELAY = '12D3KooWMyL48RFQic51efPyAXPtBmrHL2M1KdUxWAYzLY362VQ7';
const PEER = '12D3KooWERuy7XAPyLw7A4xrSKJZVv2UaG6oNatxaJzQRP7nnEH4';
const full: ConnectInfo = {
  v: 1,
  addrs: [
    '/ip4/10.1.0.2/tcp/4001',
    '/ip4/198.18.2.2/tcp/4001',
    '/ip4/10.1.0.2/udp/4001/webrtc-direct/certhash/uEiCX2LupsRgZFY7fB0g5qOOSvjUr2WJnw-ChOjV0jhb5VQ',
  ],
  relays: [`/ip4/198.18.1.2/tcp/4001/p2p/${RELAY}/p2p-circuit`],
  ice: {
    ufrag: 'hHj3',
    pwd: '+haMC1HclYYu+jnVlG/tNA',
    fingerprint: Uint8Array.from({ length: 32 }, (_, i) => i * 7),
    candidates: [
      { type: 'host', ip: '10.1.0.2', port: 51489 },
      { type: 'srflx', ip: '198.18.2.2', port: 51489 },
      { type: 'host', ip: 'fd00::2', port: 51489 },
    ],
  },
  nat: { mapping: 'endpoint-independent', publicIp: '198.18.2.2' },
};

describe('ConnectInfo', () => {
  test('round-trips every field and stays small enough for a ledger memo', () => {
    const bytes = encodeConnectInfo(full);
    expect(bytes.length).toBeLessThan(400);
    expect(decodeConnectInfo(bytes)).toEqual(full);
  });

  test('a minimal info (no ICE, no NAT) round-trips', () => {
    const min: ConnectInfo = { v: 1, addrs: [], relays: [] };
    expect(decodeConnectInfo(encodeConnectInfo(min))).toEqual(min);
  });

  test('garbage, wrong versions and bad fields are refused with specific errors', () => {
    expect(() => decodeConnectInfo(Uint8Array.of(0xff, 0x00))).toThrow(ConnectInfoError);
    const v2 = encodeConnectInfo(full);
    v2[1] = 0x02; // the version integer
    expect(() => decodeConnectInfo(v2)).toThrow(/malformed/);
    const badFp = { ...full, ice: { ...full.ice!, fingerprint: new Uint8Array(5) } };
    expect(() => decodeConnectInfo(encodeConnectInfo(badFp))).toThrow(/fingerprint must be 32 bytes/);
  });

  test('too many addresses are refused at encoding', () => {
    const many = {
      ...full,
      addrs: Array.from(
        { length: 16 },
        (_, i) =>
          `/ip4/198.18.2.2/udp/${4000 + i}/webrtc-direct/certhash/uEiCX2LupsRgZFY7fB0g5qOOSvjUr2WJnw-ChOjV0jhb5VQ`,
      ),
    };
    expect(() => encodeConnectInfo(many)).toThrow(new RegExp(`limit is ${MAX_CONNECT_INFO_BYTES}`));
  });
});

describe('STUN codec', () => {
  test('a binding response carries the observed address, XORed, for IPv4 and IPv6', () => {
    const tx = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
    for (const ep of [
      { ip: '198.18.2.2', port: 51489 },
      { ip: 'fd00:0:0:0:0:0:0:2', port: 3478 },
    ]) {
      const m = parseStun(encodeBindingResponse(tx, ep));
      expect(m?.type).toBe(0x0101);
      expect(Buffer.from(m!.txId)).toEqual(Buffer.from(tx));
      expect(m?.mapped?.port).toBe(ep.port);
      if (ep.ip.includes('.')) expect(m?.mapped?.ip).toBe(ep.ip);
      else expect(m?.mapped?.ip.endsWith(':2')).toBe(true);
    }
  });

  test('a binding response ends in a FINGERPRINT an ICE agent accepts; a corrupted one is refused', () => {
    const tx = Uint8Array.from({ length: 12 }, (_, i) => 200 - i);
    const res = encodeBindingResponse(tx, { ip: '198.18.2.2', port: 40000 });
    expect(res.readUInt16BE(res.length - 8)).toBe(0x8028);
    expect(res.readUInt16BE(2)).toBe(res.length - 20);
    expect(parseStun(res)?.fingerprint).toBe(true);
    const bad = Buffer.from(res);
    bad[bad.length - 1]! ^= 1;
    expect(parseStun(bad)).toBeUndefined();
  });

  test('a binding request with CHANGE-REQUEST is recognised; non-STUN bytes are not', () => {
    const m = parseStun(encodeBindingRequest(new Uint8Array(12), { ip: true, port: true }));
    expect(m).toMatchObject({ type: 1, changeIp: true, changePort: true });
    expect(parseStun(Buffer.from('hello, this is not STUN at all'))).toBeUndefined();
  });

  test('server addresses parse with and without the stun: scheme', () => {
    expect(parseHostPort('stun:198.18.3.2:3478')).toEqual({ ip: '198.18.3.2', port: 3478 });
    expect(parseHostPort('198.18.3.2:3479')).toEqual({ ip: '198.18.3.2', port: 3479 });
  });
});

describe('ICE parameters and SDP', () => {
  test('a synthesized SDP parses back into the same parameters', () => {
    const sdp = synthesizeSdp(full.ice!, 'offer');
    expect(sdp).toContain('a=setup:active');
    expect(synthesizeSdp(full.ice!, 'answer')).toContain('a=setup:passive');
    const back = parseIceParams(sdp);
    expect(back.ufrag).toBe(full.ice!.ufrag);
    expect(back.pwd).toBe(full.ice!.pwd);
    expect(Buffer.from(back.fingerprint)).toEqual(Buffer.from(full.ice!.fingerprint));
    expect(back.candidates).toEqual(full.ice!.candidates);
  });
});

describe('addresses and paths', () => {
  test("a peer's LAN addresses are dialed only when it may share our home (same or unknown public IP)", () => {
    const addrs = ['/ip4/192.168.1.2/tcp/4001', '/ip4/198.18.5.2/tcp/4001'].map((a) => multiaddr(a));
    const shown = (xs: typeof addrs) => xs.map(String);
    // two homes with the same range: their 192.168.1.2 is a stranger (or ourselves) here
    expect(shown(directAddrsWorthDialing(addrs, '198.18.4.2', '198.18.5.2'))).toEqual(['/ip4/198.18.5.2/tcp/4001']);
    // behind one NAT: the LAN address is the way
    expect(shown(directAddrsWorthDialing(addrs, '198.18.5.2', '198.18.5.2'))).toEqual(shown(addrs));
    // a verdict missing on either side: keep them (a wrong peer is refused by Noise)
    expect(shown(directAddrsWorthDialing(addrs, undefined, '198.18.5.2'))).toEqual(shown(addrs));
    expect(shown(directAddrsWorthDialing(addrs, '198.18.4.2', undefined))).toEqual(shown(addrs));
  });

  test('IP scopes', () => {
    expect(ipScope('127.0.0.1')).toBe('loopback');
    expect(ipScope('10.1.0.2')).toBe('private');
    expect(ipScope('192.168.1.4')).toBe('private');
    expect(ipScope('100.64.0.1')).toBe('cgnat');
    expect(ipScope('198.18.2.2')).toBe('public');
    expect(ipScope('fe80::1')).toBe('link-local');
    expect(ipScope('fd00::2')).toBe('private');
    expect(ipScope('not-an-ip')).toBe('invalid');
  });

  test('the announce filter drops loopback unless allowed, keeps circuit addresses', () => {
    const addrs = [
      '/ip4/127.0.0.1/tcp/1',
      '/ip4/10.1.0.2/tcp/1',
      '/ip4/198.18.2.2/tcp/1',
      `/ip4/127.0.0.1/tcp/2/p2p/${RELAY}/p2p-circuit`,
    ].map((a) => multiaddr(a));
    expect(makeAnnounceFilter()(addrs).map(String)).toEqual([
      '/ip4/10.1.0.2/tcp/1',
      '/ip4/198.18.2.2/tcp/1',
      `/ip4/127.0.0.1/tcp/2/p2p/${RELAY}/p2p-circuit`,
    ]);
    expect(makeAnnounceFilter({ allowLoopback: true, allowPrivate: false })(addrs).map(String)).toEqual([
      '/ip4/127.0.0.1/tcp/1',
      '/ip4/198.18.2.2/tcp/1',
      `/ip4/127.0.0.1/tcp/2/p2p/${RELAY}/p2p-circuit`,
    ]);
  });

  test('classification: relayed names its relay; a limited connection is relayed; ICE pairs tell punched from direct', () => {
    const circuit = multiaddr(`/ip4/198.18.1.2/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`);
    expect(classifyConnection({ remoteAddr: circuit, limits: { seconds: 60 } })).toMatchObject({
      kind: 'relayed',
      relay: RELAY,
      transport: 'circuit',
    });
    expect(
      classifyConnection({ remoteAddr: multiaddr(`/ip4/198.18.77.2/tcp/4001/p2p/${PEER}`), limits: undefined }),
    ).toMatchObject({ kind: 'direct-wan', transport: 'tcp' });
    expect(
      classifyConnection({ remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`), limits: undefined }),
    ).toMatchObject({ kind: 'direct-lan' });
    const webrtc = multiaddr(`/ip4/198.18.77.2/udp/5000/webrtc/p2p/${PEER}`);
    const ep = (type: string, address: string) => ({ type, address, port: 5000 });
    expect(
      classifyConnection(
        { remoteAddr: webrtc, limits: undefined },
        { local: ep('srflx', '198.18.2.2'), remote: ep('srflx', '198.18.77.2') },
      ).kind,
    ).toBe('hole-punched');
    expect(
      classifyConnection(
        { remoteAddr: webrtc, limits: undefined },
        { local: ep('host', '198.18.2.2'), remote: ep('host', '198.18.77.2') },
      ).kind,
    ).toBe('direct-wan');
    const viaRelayWebrtc = multiaddr(`/ip4/198.18.1.2/tcp/4001/p2p/${RELAY}/p2p-circuit/webrtc/p2p/${PEER}`);
    expect(classifyConnection({ remoteAddr: viaRelayWebrtc, limits: undefined }).kind).toBe('hole-punched');
  });

  test('the better of two connections: its kind first, then the cheaper transport (TCP over a data channel)', () => {
    const tcpLan = classifyConnection({
      remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`),
      limits: undefined,
    });
    const ep = (address: string) => ({ type: 'host', address, port: 5000 });
    const rtcLan = classifyConnection(
      { remoteAddr: multiaddr(`/ip4/127.0.0.1/udp/5000/webrtc/p2p/${PEER}`), limits: undefined },
      { local: ep('127.0.0.1'), remote: ep('127.0.0.1') },
    );
    expect([tcpLan.kind, rtcLan.kind]).toEqual(['direct-lan', 'direct-lan']);
    expect(betterPath(tcpLan, rtcLan)).toBe(true);
    expect(betterPath(rtcLan, tcpLan)).toBe(false);
    // a direct data channel still beats a relayed TCP connection
    const relayed = classifyConnection({
      remoteAddr: multiaddr(`/ip4/198.18.1.2/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`),
      limits: { seconds: 60 },
    });
    expect(betterPath(rtcLan, relayed)).toBe(true);
  });

  test('a reflector UDP responder address is recognised; a libp2p address is not', () => {
    expect(udpResponder(`/ip4/198.18.1.2/udp/3479/p2p/${RELAY}`)).toEqual({
      ep: { ip: '198.18.1.2', port: 3479 },
      peer: RELAY,
    });
    expect(
      udpResponder(
        `/ip4/198.18.1.2/udp/4001/webrtc-direct/certhash/uEiCX2LupsRgZFY7fB0g5qOOSvjUr2WJnw-ChOjV0jhb5VQ/p2p/${RELAY}`,
      ),
    ).toBeUndefined();
  });
});

describe('roles and backoff', () => {
  test('pickRoles: fresh, with the role, not ourselves, one per peer, healthy first, dead dropped', () => {
    const now = 1_000_000;
    const c = (peer: string, roles: ('relay' | 'reflector')[], expiresAt = now + 100) => ({
      peer,
      roles,
      multiaddrs: [],
      expiresAt,
    });
    const health = new Map([
      ['slow', { peer: 'slow', ok: true, rttMs: 300 }],
      ['fast', { peer: 'fast', ok: true, rttMs: 5 }],
      ['dead', { peer: 'dead', ok: false, error: 'refused' }],
    ]);
    const picked = pickRoles(
      [
        c('slow', ['relay']),
        c('fast', ['relay', 'reflector']),
        c('dead', ['relay']),
        c('old', ['relay'], now - 1),
        c('me', ['relay']),
        c('refl', ['reflector']),
        c('fast', ['relay'], now + 50),
      ],
      'relay',
      { self: 'me', nowSec: now, health },
    );
    expect(picked.map((p) => p.peer)).toEqual(['fast', 'slow']);
    expect(picked[0]!.expiresAt).toBe(now + 100);
  });

  test('backoff: 5 s doubling to 10 min', () => {
    const seq: number[] = [];
    let b: number | undefined;
    for (let i = 0; i < 10; i++) seq.push((b = nextBackoff(b)));
    expect(seq.slice(0, 4)).toEqual([5000, 10_000, 20_000, 40_000]);
    expect(seq.at(-1)).toBe(BACKOFF_MAX_MS);
  });
});
