import { createNetNode, createMemorySignalingPair } from './src-main/core/net/index';
import { Identity } from './src-main/core/identity/identity';
import { createLogger } from './src-main/core/log';
import { openDb } from './src-main/core/store/db';
const log = createLogger({ level: 'warn' });
const mk = (o = {}) => createNetNode({ identity: Identity.generate(), host: '127.0.0.1', announceFilter: { allowLoopback: true }, log, pingIntervalMs: 1000, db: openDb(':memory:'), ...o });
const r = await mk({ roles: { relay: true, reflector: true } });
const a = await mk(), b = await mk();
const relayAddr = r.multiaddrs().find(x => x.includes('/tcp/'))!;
console.log('held', await b.useRelays([relayAddr]));
a.addEventListener('path', (e: any) => console.log('A path', Date.now() % 100000, e.detail.from?.kind, '->', e.detail.to?.kind, e.detail.to?.relay?.slice(-6), e.detail.peer.slice(-6), e.detail.to?.remoteAddr));
const [s1, s2] = createMemorySignalingPair(20);
const strip = (s: any) => ({ send: (x: any) => s.send({ ...x, addrs: [], ice: undefined }), receive: (sig: any) => s.receive(sig) });
const [ra, rb] = await Promise.all([
  a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: strip(s1) }),
  b.connectPeer({ peer: a.peerId, role: 'responder', signaling: strip(s2) }),
]);
console.log('A', ra.path, ra.elapsedMs, ra.attempts.map(x => x.method + ':' + x.outcome + ':' + (x.error ?? '')).join(' | '));
console.log('B', rb.path, rb.elapsedMs, rb.attempts.map(x => x.method + ':' + x.outcome + ':' + (x.error ?? '')).join(' | '));
await new Promise(res => setTimeout(res, 6000));
console.log(JSON.stringify(a.peerStatus(b.peerId)), (a as any).store.attempts().map((x: any) => [x.method, x.outcome, x.duration_ms, x.error, x.addresses.slice(0, 200)]));
console.log('announce', r.announcement());
console.log('nat', await a.discoverAddress({ reflectors: r.announcement()!.multiaddrs }));
await Promise.all([a.stop(), b.stop(), r.stop()]);
process.exit(0);
