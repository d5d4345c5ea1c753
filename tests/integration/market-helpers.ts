// Test helpers for the market integration tests: real libp2p nodes on 127.0.0.1 (TCP + Noise +
// Yamux), real SQLite in a temp dir. Not a test file itself.
import { createLibp2p, type Libp2p } from 'libp2p';
import { noise } from '@libp2p/noise';
import { axonTcp } from '../../src-main/core/net/tcp';
import { axonYamux } from '../../src-main/core/net/muxer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity } from '../../src-main/core/identity/identity';

export async function makeLibp2p(identity = Identity.generate()): Promise<{ node: Libp2p; identity: Identity }> {
  const node = await createLibp2p({
    privateKey: identity.privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [axonTcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [axonYamux()],
    connectionManager: { maxConnections: 1000 },
  });
  return { node, identity };
}

export function tempDir(prefix = 'axon-market-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
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

/**
 * A local ledger and two nodes on it, a seller and a buyer, each funded with `airdrop` lamports
 * (and with `timing` over FAST_TIMING).
 * Their cleanups go onto `cleanups` in the order to run them: the nodes first, the ledger last
 * (push later cleanups with `unshift` to run them before the ledger closes).
 */
export async function startSellerAndBuyer(
  airdrop: bigint,
  cleanups: (() => Promise<void> | void)[],
  o: { timing?: Partial<MarketTiming> } = {},
): Promise<{ ledger: LocalLedger; seller: AxonNode; buyer: AxonNode }> {
  const l = await startLedger();
  cleanups.push(l.cleanup);
  const [s, b] = await Promise.all([
    startNode(l.ledger, { airdrop, timing: o.timing }),
    startNode(l.ledger, { airdrop, timing: o.timing }),
  ]);
  cleanups.unshift(s.cleanup, b.cleanup);
  return { ledger: l.ledger, seller: s.node, buyer: b.node };
}

/** For a test file's last afterAll: runs `cleanups` in order, then `settleNativeThreads()`. */
export async function runCleanups(cleanups: (() => Promise<void> | void)[]): Promise<void> {
  for (const c of cleanups) await c();
  await settleNativeThreads();
}

import { fork, type ChildProcess } from 'node:child_process';
import type { SettingsInput } from '../../src-main/core/settings';
import { fileURLToPath } from 'node:url';

/** A market node in a child process (so that it can be killed with SIGKILL). */
export interface ChildNode {
  proc: ChildProcess;
  address: string;
  frames: number[];
  call<T = unknown>(cmd: string, arg?: unknown): Promise<T>;
  kill(): Promise<void>;
}

export async function startChildNode(
  ledger: LocalLedger,
  o: {
    dataDir: string;
    identity: Identity;
    timing?: Partial<MarketTiming>;
    settings?: SettingsInput;
    roleTiming?: Record<string, number>;
  },
): Promise<ChildNode> {
  const proc = fork(fileURLToPath(new URL('./market-node-child.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      AXON_CHILD: JSON.stringify({
        rpcUrl: ledger.rpcUrl,
        wsUrl: ledger.wsUrl,
        dataDir: o.dataDir,
        seedHex: Buffer.from(o.identity.seed()).toString('hex'),
        timing: { ...FAST_TIMING, ...o.timing },
        ...(o.settings ? { settings: o.settings } : {}),
        ...(o.roleTiming ? { roleTiming: o.roleTiming } : {}),
      }),
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const frames: number[] = [];
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const ready = new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`child node exited (${code}) before it was ready`)));
    proc.on(
      'message',
      (m: { ev: string; address?: string; seq?: number; id?: number; result?: unknown; error?: string }) => {
        if (m.ev === 'ready') resolve(m.address!);
        else if (m.ev === 'frame') frames.push(m.seq!);
        else if (m.ev === 'reply') {
          const p = pending.get(m.id!);
          pending.delete(m.id!);
          if (m.error) p?.reject(new Error(m.error));
          else p?.resolve(m.result);
        }
      },
    );
  });
  const address = await ready;
  return {
    proc,
    address,
    frames,
    call: <T>(cmd: string, arg?: unknown) =>
      new Promise<T>((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, cmd, arg });
      }),
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
    },
  };
}

/**
 * Call in a test file's last afterAll, after every node stopped: give libdatachannel (WebRTC in
 * the net node) time to finish closing, then join its threads. Without it the worker process
 * sometimes aborts at exit (SIGSEGV / glibc pthread assertion inside libdatachannel) after many
 * nodes ran in one process (docs/market.md).
 */
export async function settleNativeThreads(): Promise<void> {
  await new Promise((r) => setTimeout(r, 3000));
  const ndc = (await import('node-datachannel')) as unknown as {
    cleanup?: () => void;
    default?: { cleanup?: () => void };
  };
  (ndc.cleanup ?? ndc.default?.cleanup)?.();
}

import type { SellOptions } from '../../src-main/core/market/seller';

/**
 * A buyer crash, set up: a local ledger; a seller (1 SOL) selling `offer`; a buyer in a child
 * process (so it can be killed with SIGKILL) with its own identity and data dir, funded with
 * 1 SOL, that sees the listing. `restart()` starts the buyer again in this process on the same
 * identity and data dir; `cleanup()` stops all of it (the ledger last).
 */
export async function startCrashableBuyer(offer: SellOptions): Promise<{
  ledger: LocalLedger;
  seller: AxonNode;
  child: ChildNode;
  listingId: string;
  dataDir: string;
  restart(): Promise<AxonNode>;
  cleanup(): Promise<void>;
}> {
  const l = await startLedger();
  const s = await startNode(l.ledger, { airdrop: 1_000_000_000n });
  const identity = Identity.generate();
  const dir = tempDir();
  const child = await startChildNode(l.ledger, { identity, dataDir: dir.dir });
  let restarted: Awaited<ReturnType<typeof startNode>> | null = null;
  const cleanup = async (): Promise<void> => {
    await child.kill();
    await restarted?.cleanup();
    dir.cleanup();
    await s.cleanup();
    await l.cleanup();
  };
  try {
    const sold = await s.node.sell(offer);
    const listingId = `${s.node.identity.address}:${sold.streamId}`;
    await child.call('airdrop', { lamports: String(1_000_000_000n) });
    await waitFor(
      async () => (await child.call<{ id: string }[]>('listings')).some((x) => x.id === listingId),
      15_000,
      'listing',
    );
    return {
      ledger: l.ledger,
      seller: s.node,
      child,
      listingId,
      dataDir: dir.dir,
      restart: async () => {
        restarted = await startNode(l.ledger, { identity, dataDir: dir.dir });
        return restarted.node;
      },
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/**
 * Many nodes on one local ledger, for a describe block: `beforeAll(pool.start)`,
 * `afterAll(pool.close)`. `pool.node()` starts a node funded with `airdrop` (1 SOL unless said)
 * on FAST_TIMING + the pool's `timing` + its own. `close()` stops every node's market first (no
 * reconnect attempts towards nodes going away), then cleans them all up at once, the ledger last,
 * and lets native threads settle. `defer()` adds a cleanup of the test's own.
 */
export function nodePool(o: { timing?: Partial<MarketTiming> } = {}): {
  readonly ledger: LocalLedger;
  node(n?: { airdrop?: bigint; timing?: Partial<MarketTiming> }): Promise<AxonNode>;
  /** Run `fn` at close, with the nodes' cleanups (before the ledger closes). */
  defer(fn: () => void | Promise<void>): void;
  start(): Promise<void>;
  close(): Promise<void>;
} {
  let ledger: LocalLedger | null = null;
  let closeLedger: (() => Promise<void>) | null = null;
  const nodes: AxonNode[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const theLedger = (): LocalLedger => {
    if (!ledger) throw new Error('nodePool: start() first');
    return ledger;
  };
  return {
    get ledger(): LocalLedger {
      return theLedger();
    },
    async node(n = {}) {
      const s = await startNode(theLedger(), {
        airdrop: n.airdrop ?? 1_000_000_000n,
        timing: { ...o.timing, ...n.timing },
      });
      cleanups.push(s.cleanup);
      nodes.push(s.node);
      return s.node;
    },
    defer(fn) {
      cleanups.push(async () => fn());
    },
    async start() {
      const l = await startLedger();
      ledger = l.ledger;
      closeLedger = l.cleanup;
    },
    async close() {
      await Promise.all(nodes.map((n) => n.shutdown()));
      await Promise.all(cleanups.map((c) => c()));
      await closeLedger?.();
      await settleNativeThreads();
    },
  };
}
