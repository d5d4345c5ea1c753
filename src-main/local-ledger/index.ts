// Runs in: Node (CLI `axon ledger`, the app's main process, tests). The embedded local ledger:
// a Solana JSON-RPC 2.0 server (HTTP on `port`, pubsub WebSocket on port+1, as
// solana-test-validator) executing transactions in LiteSVM, with history and state on disk.
// Files: clock (slots, blockhashes, commitments) · bank (LiteSVM) · store (SQLite) · rpc/http
// (dispatch, transport) · methods-* (RPC methods) · pubsub (WebSocket) · faucet · tokens (USDC-like
// mint, token faucet) · wire/tx-* (codecs).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../core/log';
import { LedgerStore } from './store';
import { SlotClock } from './clock';
import type { Bank } from './bank';
import { Faucet } from './faucet';
import { RpcDispatcher } from './rpc';
import { createRpcHttpServer, MAX_BODY_BYTES } from './http';
import { CommitmentFeed, PubSubServer } from './pubsub';
import { chainMethods } from './methods-chain';
import { accountMethods } from './methods-accounts';
import { txMethods } from './methods-tx';
import { ensureUsdcMint, tokenMethods } from './tokens';
import { toBase58 } from './wire';

export interface LocalLedger {
  rpcUrl: string;
  wsUrl: string;
  port: number;
  close(): Promise<void>;
}

export interface LocalLedgerOptions {
  /** HTTP port (default 8899); 0 = a free port (pubsub then at port+1 or another free port). */
  port?: number;
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Slot length in ms (default 400). */
  slotMs?: number;
  /** Slots behind the tip a block counts as confirmed (default 1). */
  confirmDepth?: number;
  /** Slots behind the tip a block counts as finalized (default 32). */
  finalizeDepth?: number;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  log?: Logger;
}

export const DEFAULT_LEDGER_PORT = 8899;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** One server per data dir: a pid file, ignored when its process is gone (e.g. after SIGKILL). */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'ledger.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    let alive = false;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    if (alive) throw new Error(`local ledger: data dir ${dataDir} is in use by process ${pid}`);
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

export async function startLocalLedger(opts: LocalLedgerOptions): Promise<LocalLedger> {
  const log = opts.log ?? silentLogger;
  const host = opts.host ?? '127.0.0.1';
  const unlock = lockDataDir(opts.dataDir);
  const store = new LedgerStore(opts.dataDir);
  const cleanups: (() => Promise<void> | void)[] = [() => store.close(), unlock];
  try {
    const clock = new SlotClock(store, {
      slotMs: opts.slotMs ?? 400,
      confirmDepth: opts.confirmDepth ?? 1,
      finalizeDepth: opts.finalizeDepth ?? 32,
    });
    // litesvm (a native module) loads only here: a node on another cluster never needs it, and
    // litesvm has no binary for some platforms (Windows today)
    const { Bank: BankImpl } = await import('./bank');
    const bank: Bank = new BankImpl(store, clock, log);
    const faucet = await Faucet.open(store, bank);
    ensureUsdcMint(bank, faucet);
    let identity = store.getSetting('identity');
    if (!identity) {
      identity = toBase58(randomBytes(32));
      store.setSetting('identity', identity);
    }
    store.flush();
    const ctx = { clock, bank, store, faucet, log, identity };
    const dispatcher = new RpcDispatcher(
      { ...chainMethods, ...accountMethods, ...txMethods, ...tokenMethods },
      ctx,
      log,
    );

    const http = createRpcHttpServer(dispatcher, log, opts.maxBodyBytes ?? MAX_BODY_BYTES);
    const port = await listen(http, opts.port ?? DEFAULT_LEDGER_PORT, host);
    cleanups.unshift(() => closeServer(http));

    const wsHttp = createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain' });
      res.end('Upgrade to a WebSocket to use the pubsub endpoint');
    });
    let wsPort: number;
    try {
      wsPort = await listen(wsHttp, port + 1, host);
    } catch (e) {
      if (opts.port !== 0) throw e;
      wsPort = await listen(wsHttp, 0, host);
    }
    const pubsub = new PubSubServer({ server: wsHttp }, clock, store, log);
    cleanups.unshift(async () => {
      await pubsub.close();
      await closeServer(wsHttp);
    });
    const feed = new CommitmentFeed(clock, pubsub);
    bank.onLanded = (tx) => feed.landed(tx);
    clock.onSlot((slot) => {
      bank.syncClock();
      feed.onSlot(slot);
    });
    clock.start();
    cleanups.unshift(() => clock.stop());

    const rpcUrl = `http://${urlHost(host)}:${port}`;
    const wsUrl = `ws://${urlHost(host)}:${wsPort}`;
    log.info(
      { rpcUrl, wsUrl, dataDir: opts.dataDir, slot: clock.slot, faucet: faucet.address },
      'local ledger started',
    );
    let closed: Promise<void> | undefined;
    return {
      rpcUrl,
      wsUrl,
      port,
      close: () => (closed ??= runCleanups(cleanups).then(() => log.info('local ledger stopped'))),
    };
  } catch (e) {
    await runCleanups(cleanups);
    throw e;
  }
}

async function runCleanups(cleanups: (() => Promise<void> | void)[]): Promise<void> {
  for (const c of cleanups) {
    try {
      await c();
    } catch {
      /* keep closing the rest */
    }
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
