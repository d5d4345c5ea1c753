import { NetFixture, rewriting, until } from './tests/integration/net-helpers';
import { createMemorySignalingPair } from './src-main/core/net/index';
import { createLogger } from './src-main/core/log';
const fx = new NetFixture();
const tcpAddr = (addrs: string[]) => addrs.find((a) => a.includes('/tcp/') && !a.includes('p2p-circuit'))!;
const r1 = await fx.node({ roles: { relay: true } });
const r2 = await fx.node({ roles: { relay: true } });
const hidden = { announceFilter: { allowLoopback: false, allowPrivate: false }, punch: false };
const b = await fx.node({ ...hidden, log: createLogger({ level: 'debug' }).child({ n: 'B' }) });
const a = await fx.node({ ...hidden, log: createLogger({ level: 'debug' }).child({ n: 'A' }) });
await b.useRelays([tcpAddr(r1.multiaddrs())]);
await b.useRelays([tcpAddr(r2.multiaddrs())]);
const [sa, sb] = createMemorySignalingPair(20);
const [ra] = await Promise.all([
  a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: sa }),
  b.connectPeer({ peer: a.peerId, role: 'responder', signaling: sb }),
]);
console.log('PATH', ra.path.relay, 'r1', r1.peerId.toString(), 'r2', r2.peerId.toString());
const used = ra.path.relay === r1.peerId.toString() ? r1 : r2;
setInterval(() => console.log('HB', Date.now()), 1000).unref();
const t = Date.now();
console.log('KILL', Date.now());
await used.stop();
try {
  const s = await until(() => { const s = a.peerStatus(b.peerId); return s.connected && s.path?.relay !== used.peerId.toString() ? s : undefined; }, 12000, 'x');
  console.log('MOVED', Date.now() - t, s.path);
} catch (e) { console.log('FAILED', String(e)); }
console.log(b.multiaddrs());
await fx.close();
process.exit(0);
