// A market node in its own process, for the kill -9 tests (market-failures.test.ts): started by
// fork() with AXON_CHILD = JSON { rpcUrl, wsUrl, dataDir, seedHex, timing }, driven over IPC.
// Not a test file itself.
import { AxonNode } from '../../src-main/core/node';
import { Identity } from '../../src-main/core/identity/identity';

interface Cmd {
  id: number;
  cmd: 'airdrop' | 'sell' | 'buy' | 'purchase' | 'listings' | 'announce' | 'rebroadcast';
  arg?: unknown;
}

const cfg = JSON.parse(process.env.AXON_CHILD ?? '{}') as {
  rpcUrl: string;
  wsUrl: string;
  dataDir: string;
  seedHex: string;
  timing: object;
  /** Settings beside the defaults (e.g. roles) and role timing, for the role tests. */
  settings?: object;
  roleTiming?: object;
};
const node = await AxonNode.start({
  dataDir: cfg.dataDir,
  identity: Identity.fromSeed(Buffer.from(cfg.seedHex, 'hex')),
  ledger: { rpcUrl: cfg.rpcUrl, wsUrl: cfg.wsUrl },
  timing: cfg.timing,
  ...(cfg.settings ? { settings: cfg.settings } : {}),
  ...(cfg.roleTiming ? { roleTiming: cfg.roleTiming } : {}),
  net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
});
node.on('frame', (f) => process.send!({ ev: 'frame', seq: f.seq }));
const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);
process.on('message', (m: Cmd) => {
  void (async () => {
    try {
      let result: unknown;
      const a = m.arg as Record<string, unknown>;
      if (m.cmd === 'airdrop') result = await node.airdrop(BigInt(a.lamports as string));
      else if (m.cmd === 'sell')
        result = await node.sell({ ...(a as object), priceDirect: BigInt(a.priceDirect as string) } as never);
      else if (m.cmd === 'buy')
        result = await node.buy(a.listingId as string, {
          minutes: a.minutes as number,
          out: a.out as string | undefined,
          ...(a.raw ? { raw: a.raw as never } : {}),
        });
      else if (m.cmd === 'purchase') result = node.purchase(a.id as string);
      else if (m.cmd === 'listings') result = node.listings();
      else if (m.cmd === 'announce') result = await node.roles.announce();
      else if (m.cmd === 'rebroadcast')
        result = await node.rebroadcast(a.listingId as string, {
          price: BigInt(a.price as string),
          minutes: a.minutes as number,
        });
      process.send!({ ev: 'reply', id: m.id, result: JSON.parse(JSON.stringify(result ?? null, big)) });
    } catch (e) {
      process.send!({ ev: 'reply', id: m.id, error: (e as Error).message });
    }
  })();
});
process.send!({ ev: 'ready', address: node.identity.address });
