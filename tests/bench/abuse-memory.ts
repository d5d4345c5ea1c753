// Seller memory under the pre-ticket attack of issue 11 item 5: a stranger (no ledger identity, no
// SOL) opens 64 streams of /axon/stream/1.0.0 to a seller and on each announces a 4 MiB frame and
// sends 4 MiB of it, never a ticket. The seller (a real StreamServer on a real libp2p node) runs in
// a child process; its RSS and heap are read before and 3 s into the attack.
//   node_modules/.bin/node --import tsx tests/bench/abuse-memory.ts
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { multiaddr } from '@multiformats/multiaddr';
import { makeLibp2p } from '../integration/market-helpers';
import { StreamServer } from '../../src-main/core/market/stream-server';
import { STREAM_PROTOCOL } from '../../src-main/core/market/frames';

const STREAMS = 64;
const MiB = 1024 * 1024;

if (process.env.ABUSE_CHILD) {
  const { node } = await makeLibp2p();
  const server = new StreamServer(node, async () => ({
    refuse: { code: 'unknown-request', recover: 'abort', message: 'no such request' },
  }));
  await server.start();
  process.on('message', (m: string) => {
    if (m === 'mem') {
      global.gc?.();
      const u = process.memoryUsage();
      process.send!({ rss: u.rss, heap: u.heapUsed + u.arrayBuffers });
    } else if (m === 'stop')
      void server
        .stop()
        .then(() => node.stop())
        .then(() => process.exit(0));
  });
  process.send!({ addrs: node.getMultiaddrs().map((a) => a.toString()) });
} else {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, ABUSE_CHILD: '1' },
  });
  const next = (): Promise<Record<string, unknown>> => new Promise((r) => child.once('message', r));
  const { addrs } = (await next()) as { addrs: string[] };
  const mem = async (): Promise<{ rss: number; heap: number }> => {
    child.send('mem');
    return (await next()) as { rss: number; heap: number };
  };
  const { node: attacker } = await makeLibp2p();
  await attacker.handle(STREAM_PROTOCOL, (s) => s.abort(new Error('no')), { maxOutboundStreams: 1024 });
  const conn = await attacker.dial(addrs.map((a) => multiaddr(a)));
  const before = await mem();
  const chunk = new Uint8Array(64 * 1024).fill(7);
  let opened = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      const s = await conn.newStream(STREAM_PROTOCOL, { runOnLimitedConnection: true }).catch(() => null);
      if (!s) return void refused++;
      opened++;
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, 4 * MiB);
      try {
        s.send(head);
        for (let sent = 0; sent < 4 * MiB && s.writeStatus === 'writable'; sent += chunk.length) {
          if (!s.send(chunk)) await Promise.race([s.onDrain(), new Promise((r) => setTimeout(r, 3000))]);
        }
      } catch {
        /* closed by the seller */
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 3000));
  const during = await mem();
  const mb = (n: number): string => `${(n / MiB).toFixed(1)} MB`;
  console.log(
    JSON.stringify({
      streams: STREAMS,
      opened,
      refusedAtOpen: refused,
      seller: {
        rssBefore: mb(before.rss),
        rssDuring: mb(during.rss),
        rssGrowth: mb(during.rss - before.rss),
        heapAndBuffersGrowth: mb(during.heap - before.heap),
      },
    }),
  );
  child.send('stop');
  await attacker.stop();
  setTimeout(() => process.exit(0), 1000).unref();
}
