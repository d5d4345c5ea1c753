import { NetFixture } from './tests/integration/net-helpers';
import { reflectViaPeer } from './src-main/core/net/reflector';
const fx = new NetFixture();
for (let i = 0; i < 4; i++) await fx.node({ roles: { relay: true } });
const refl = await fx.node({ roles: { reflector: true } });
const a = await fx.node();
const ann = refl.announcement()!;
for (const addrs of [[ann.multiaddrs[0]!], [ann.multiaddrs[1]!], ann.multiaddrs.slice(0, 2)]) {
  const t = Date.now();
  const r = await reflectViaPeer(a.libp2p, addrs).catch((e) => String(e));
  console.log(addrs.map(x => x.slice(0, 30)), r, Date.now() - t);
  await a.libp2p.hangUp(refl.peerId);
}
await fx.close();
process.exit(0);
