// Runs in: a NAT lab namespace (Node 22 via tsx). The reflector's UDP responder and the discovery
// client alone, for the verdict test (verdict.test.ts): no libp2p, no ledger.
//   --serve                 start a ReflectorUdp (all addresses), print {event:'ready', port, altPort, otherIp}
//   --discover ADDR,ADDR…   discoverAddress with these reflector addresses, print {event:'report', report}
import { ReflectorUdp } from '../../src-main/core/net/reflector';
import { discoverAddress } from '../../src-main/core/net/discovery';
import { silentLogger } from '../../src-main/core/log';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const out = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

if (process.argv.includes('--serve')) {
  const r = await ReflectorUdp.start({ log: silentLogger });
  out({ event: 'ready', port: r.port, altPort: r.altPort, otherIp: r.other?.ip ?? null });
  process.on('SIGTERM', () => {
    r.close();
    process.exit(0);
  });
} else {
  const report = await discoverAddress({ stunServers: [], reflectors: (arg('discover') ?? '').split(',') });
  out({ event: 'report', report });
}
