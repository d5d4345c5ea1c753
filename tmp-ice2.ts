import { createNetNode, createMemorySignalingPair } from './src-main/core/net/index';
import { Identity } from './src-main/core/identity/identity';
import { createLogger } from './src-main/core/log';
const log = createLogger({ level: 'warn' });
const mk = (o = {}) => createNetNode({ identity: Identity.generate(), host: '127.0.0.1', announceFilter: { allowLoopback: true }, log, pingIntervalMs: 0, ...o });
for (let i = 0; i < 6; i++) {
  const c = await mk(), d = await mk();
  const [s1, s2] = createMemorySignalingPair(i % 2 ? 50 : 0);
  const strip = (s: any) => ({ send: (x: any) => s.send({ ...x, addrs: [] }), receive: (sig: any) => s.receive(sig) });
  const [rc, rd] = await Promise.all([
    c.connectPeer({ peer: d.peerId, role: 'initiator', signaling: strip(s1) }),
    d.connectPeer({ peer: c.peerId, role: 'responder', signaling: strip(s2) }),
  ]);
  console.log(i, rc.path.kind, rc.elapsedMs, rc.attempts.map(x => x.method + ':' + x.outcome + ':' + (x.error ?? '')).join(' | '));
  await Promise.all([c.stop(), d.stop()]);
}
process.exit(0);
