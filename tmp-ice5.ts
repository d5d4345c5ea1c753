import { initLogger } from 'node-datachannel';
if (process.env.NDC_LOG) initLogger(process.env.NDC_LOG as never, (level: string, msg: string) => console.log('NDC', level, msg));
import { NetFixture, rewriting } from './tests/integration/net-helpers';
import { createMemorySignalingPair } from './src-main/core/net/index';
const fx = new NetFixture();
let fails = 0;
for (let i = 0; i < 25; i++) {
  if (process.env.WITH_CD) {
    const c = await fx.node(), d = await fx.node();
    const [sc, sd] = createMemorySignalingPair(20);
    await Promise.all([c.connectPeer({ peer: d.peerId, role: 'initiator', signaling: sc }), d.connectPeer({ peer: c.peerId, role: 'responder', signaling: sd })]);
  }
  const a = await fx.node({ announceFilter: { allowLoopback: true, denyInterfaces: ['eth0'] } }), b = await fx.node({ announceFilter: { allowLoopback: true, denyInterfaces: ['eth0'] } });
  const [sa, sb] = createMemorySignalingPair(20);
  const noAddrs = (x: any) => ({ ...x, addrs: [] });
  const r = await Promise.allSettled([
    a.connectPeer({ peer: b.peerId, role: 'initiator', signaling: rewriting(sa, noAddrs) }),
    b.connectPeer({ peer: a.peerId, role: 'responder', signaling: rewriting(sb, noAddrs) }),
  ]);
  if (r[0].status === 'rejected') { fails++; console.log(i, String(r[0].reason).slice(0, 300)); }
  else console.log(i, 'ok', r[0].value.elapsedMs);
}
console.log('fails', fails);
await fx.close();
process.exit(0);
