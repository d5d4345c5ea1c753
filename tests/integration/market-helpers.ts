// Test helpers for the market integration tests: real libp2p nodes on 127.0.0.1 (TCP + Noise +
// Yamux), real SQLite in a temp dir. Not a test file itself.
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity } from '../../src-main/core/identity/identity';

export async function makeLibp2p(identity = Identity.generate()): Promise<{ node: Libp2p; identity: Identity }> {
  const node = await createLibp2p({
    privateKey: identity.privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 1000 },
  });
  return { node, identity };
}

export function tempDir(prefix = 'axon-market-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function waitFor<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

import { startLocalLedger, type LocalLedger } from '../../src-main/core/ledger/local/index';
import { AxonNode } from '../../src-main/core/node';
import type { MarketTiming } from '../../src-main/core/market/types';
import { createLogger } from '../../src-main/core/log';

export const FAST_TIMING: Partial<MarketTiming> = {
  listingTtlSec: 20,
  periodSec: 2,
  graceSec: 2,
  requestTimeoutMs: 8000,
  keepAliveMs: 1000,
  dataStallMs: 3000,
  clockSkewMs: 2000,
};

export async function startLedger(): Promise<{ ledger: LocalLedger; cleanup: () => Promise<void> }> {
  const t = tempDir('axon-ledger-');
  const ledger = await startLocalLedger({ port: 0, dataDir: t.dir, slotMs: 100 });
  return {
    ledger,
    cleanup: async () => {
      await ledger.close();
      t.cleanup();
    },
  };
}

export async function startNode(
  ledger: LocalLedger,
  o: { identity?: Identity; dataDir?: string; timing?: Partial<MarketTiming>; airdrop?: bigint; relay?: boolean } = {},
): Promise<{ node: AxonNode; dataDir: string; cleanup: () => Promise<void> }> {
  const t = o.dataDir ? { dir: o.dataDir, cleanup: () => undefined } : tempDir('axon-node-');
  const node = await AxonNode.start({
    dataDir: t.dir,
    identity: o.identity ?? Identity.generate(),
    ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
    timing: { ...FAST_TIMING, ...o.timing },
    net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
    log: process.env.AXON_TEST_LOG ? createLogger({ level: process.env.AXON_TEST_LOG }) : undefined,
  });
  if (o.airdrop) await node.airdrop(o.airdrop);
  return {
    node,
    dataDir: t.dir,
    cleanup: async () => {
      await node.shutdown();
      if (!o.dataDir) t.cleanup();
    },
  };
}

