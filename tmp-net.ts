import { createNetNode, createMemorySignalingPair } from './src-main/core/net/index';
import { Identity } from './src-main/core/identity/identity';
import { openDb } from './src-main/core/store/db';
import { createLogger } from './src-main/core/log';
const log = createLogger({ level: process.env.LVL ?? 'info' });
const mk = (o = {}) => createNetNode({ identity: Identity.generate(), host: '127.0.0.1', announceFilter: { allowLoopback: true }, log, pingIntervalMs: 1000, db: openDb(':memory:'), ...o });
const a = await mk(), b = await mk();
console.log('a addrs', a.multiaddrs());
let t = Date.now();
// 1) direct via signaling
const [sa, sb] = createMemorySignalingPair(50);
const [ra, rb] = await Promise.all([
  a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: sa }),
  b.connectPeer({ peer: a.peerId, role: 'responder', signaling: sb }),
]);
console.log('direct', ra.path, ra.elapsedMs, ra.attempts, rb.path, rb.elapsedMs);
await new Promise(r => setTimeout(r, 1500));
console.log(a.peerStatus(b.peerId));
await a.libp2p.hangUp(b.peerId);
await new Promise(r => setTimeout(r, 300));
// 2) ICE punch only: strip addrs
const c = await mk(), d = await mk();
const sc = await c.prepareConnect({ peer: d.peerId, role: 'initiator' });
console.log('c info', JSON.stringify(sc.localInfo).length, sc.localInfo.ice?.candidates);
const remoteForD = { ...sc.localInfo, addrs: [] };
const sd = await d.prepareConnect({ peer: c.peerId, role: 'responder', remote: remoteForD });
t = Date.now();
const [rc, rd] = await Promise.all([
  sc.connect({ ...sd.localInfo, addrs: [] }, {}),
  sd.connect(remoteForD, {}),
]);
console.log('punch', rc.path, rc.elapsedMs, rc.attempts.map(x => x.method + ':' + x.outcome), rd.path, rd.elapsedMs);
await new Promise(r => setTimeout(r, 1500));
console.log(c.peerStatus(d.peerId), d.peerStatus(c.peerId));
// stream over ICE connection
console.log((c as any).store.attempts().length, (c as any).store.connections());
await Promise.all([a.stop(), b.stop(), c.stop(), d.stop()]);
process.exit(0);
