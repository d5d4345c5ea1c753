// Runs in: Node (the `axon` command). The node lifecycle shared by the subcommands:
//   data dir + settings + identity (cliContext) → a ledger that answers → AxonNode (or, for the
//   commands that only read, a "ledger view": the ledger client and the SQLite stores, no libp2p).
// One CLI node per data dir at a time (a pid file); Ctrl+C / SIGTERM end a command cleanly.
import { assertDataDirFree, DataDirLockedError, lockDataDir as lockCore } from '../../core/lock';
import type { Address } from '@solana/kit';
import { AxonNode, type AxonNodeOptions } from '../../core/node';
import { rpcAnswers } from '../../api/host';
import { resolveCluster } from '../../core/ledger/cluster';
import { createLedgerClient, type SolanaLedgerClient } from '../../core/ledger/client';
import { startLocalLedger, type LocalLedger } from '../../local-ledger/index';
import { openDb, type Db } from '../../core/store/db';
import { getCursor } from '../../core/store/cursors';
import { ListingStore } from '../../core/store/listings';
import { TradeStore } from '../../core/store/trades';
import { ConnectionStore } from '../../core/store/connections';
import { Catalog } from '../../core/market/catalog';
import type { MarketContext } from '../../core/market/context';
import type { Identity } from '../../core/identity/identity';
import type { Listing, Delist, Received } from '../../core/ledger/types';
import { CliError, type CliContext } from '../context';

export interface LedgerEndpoint {
  rpcUrl: string;
  wsUrl: string;
  /** The cluster setting is `local` (the embedded / `axon ledger` server). */
  local: boolean;
  /** Everything on this machine (loopback RPC): peers announce loopback addresses too. */
  loopback: boolean;
  airdrop: boolean;
  name: string;
}

export function ledgerEndpoint(ctx: CliContext): LedgerEndpoint {
  const s = ctx.settings;
  const ep = resolveCluster(s.cluster, { localPort: s.localLedgerPort });
  const loopback = /^https?:\/\/(127\.|localhost|\[::1\])/.test(ep.rpcUrl);
  return {
    rpcUrl: ep.rpcUrl,
    wsUrl: ep.wsUrl,
    local: s.cluster === 'local',
    loopback,
    airdrop: ep.airdrop,
    name: ep.name,
  };
}

export { rpcAnswers };

/**
 * The ledger this command talks to. For the `local` cluster: the one listening on the configured
 * port, or (embed) a new embedded one in this process; else a clear error.
 */
export async function requireLedger(
  ctx: CliContext,
  o: { embed?: boolean } = {},
): Promise<{ endpoint: LedgerEndpoint; embedded: LocalLedger | null }> {
  const endpoint = ledgerEndpoint(ctx);
  if (await rpcAnswers(endpoint.rpcUrl, endpoint.loopback ? 1500 : 5000)) return { endpoint, embedded: null };
  if (endpoint.local && o.embed) {
    const embedded = await startLocalLedger({
      port: ctx.settings.localLedgerPort,
      dataDir: ctx.paths.ledger,
      log: ctx.log.child({ mod: 'local-ledger' }),
    });
    return { endpoint: { ...endpoint, rpcUrl: embedded.rpcUrl, wsUrl: embedded.wsUrl }, embedded };
  }
  if (endpoint.local)
    throw new CliError(`no ledger at ${endpoint.rpcUrl}: start one with \`axon ledger\` or run \`axon serve\``);
  throw new CliError(`the ledger at ${endpoint.rpcUrl} (cluster ${ctx.settings.cluster}) does not answer`);
}

/**
 * One node per data dir: the core lock (node.pid, taken by AxonNode.start). Here for the commands
 * that hold a data dir without a node of their own (`demo`); a clash is a one-line CliError.
 */
export function lockDataDir(root: string): () => void {
  try {
    return lockCore(root);
  } catch (e) {
    if (e instanceof DataDirLockedError) throw new CliError(e.message);
    throw e;
  }
}

export interface OpenedNode {
  node: AxonNode;
  endpoint: LedgerEndpoint;
  close(): Promise<void>;
}

/** Start a full node (market + net) for this data dir against a ledger that answers. */
export async function openNode(
  ctx: CliContext,
  o: {
    identity?: Identity;
    endpoint?: AxonNodeOptions['endpoint'];
    timing?: AxonNodeOptions['timing'];
    net?: AxonNodeOptions['net'];
  } = {},
): Promise<OpenedNode> {
  const { endpoint } = await requireLedger(ctx);
  const identity = o.identity ?? ctx.identity().identity;
  // fail before anything starts when another node runs on this data dir (AxonNode.start locks it)
  try {
    assertDataDirFree(ctx.paths.root);
  } catch (e) {
    if (e instanceof DataDirLockedError) throw new CliError(e.message);
    throw e;
  }
  let node: AxonNode;
  try {
    node = await AxonNode.start({
      dataDir: ctx.paths.root,
      identity,
      ledger: { rpcUrl: endpoint.rpcUrl, wsUrl: endpoint.wsUrl },
      log: ctx.log,
      ...(o.timing ? { timing: o.timing } : {}),
      ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
      net: { ...(endpoint.loopback ? { announceFilter: { allowLoopback: true } } : {}), ...o.net },
    });
  } catch (e) {
    if (e instanceof DataDirLockedError) throw new CliError(e.message);
    throw e;
  }
  let closed: Promise<void> | null = null;
  return {
    node,
    endpoint,
    close() {
      closed ??= node.shutdown();
      return closed;
    },
  };
}

/** What the read-only commands need: the ledger client and the stores, no libp2p. */
export interface LedgerView {
  identity: Identity;
  db: Db;
  ledger: SolanaLedgerClient;
  endpoint: LedgerEndpoint;
  listings: ListingStore;
  trades: TradeStore;
  connections: ConnectionStore;
  close(): Promise<void>;
}

export async function openLedgerView(ctx: CliContext, o: { needLedger?: boolean } = {}): Promise<LedgerView> {
  const endpoint = o.needLedger === false ? ledgerEndpoint(ctx) : (await requireLedger(ctx)).endpoint;
  const identity = ctx.identity().identity;
  const db = openDb(ctx.paths.db);
  const ledger = createLedgerClient({
    identity,
    db,
    log: ctx.log.child({ mod: 'ledger' }),
    rpcUrl: endpoint.rpcUrl,
    wsUrl: endpoint.wsUrl,
  });
  return {
    identity,
    db,
    ledger,
    endpoint,
    listings: new ListingStore(db),
    trades: new TradeStore(db),
    connections: new ConnectionStore(db),
    async close() {
      await ledger.close().catch(() => undefined);
      db.close();
    },
  };
}

const marketCursor = (topic: Address): string => `market:market:${topic}`;

/** Has the market watcher (of a node, or ours) delivered every message up to the topic's head? */
async function caughtUp(db: Db, ledger: SolanaLedgerClient, topic: Address): Promise<boolean> {
  const head = await ledger.rpc.getSignaturesForAddress(topic, { limit: 1, commitment: 'confirmed' }).send();
  if (head.length === 0) return true;
  return getCursor(db, marketCursor(topic))?.lastSignature === head[0]!.signature;
}

/** Wait until the node's catalog has read the market topic up to its head (or the timeout). */
export async function waitCatalogSynced(
  db: Db,
  ledger: SolanaLedgerClient,
  topic: Address,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!signal?.aborted) {
    if (await caughtUp(db, ledger, topic).catch(() => false)) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

/**
 * Sync the market topic into the catalog without a full node (the same cursor as the market's
 * watcher, so nothing is read twice later). Resolves when caught up or at the timeout.
 */
export async function syncCatalogOnce(view: LedgerView, marketId: string, timeoutMs: number): Promise<boolean> {
  const topic = await view.ledger.marketTopic(marketId);
  const ac = new AbortController();
  const catalog = new Catalog({
    identity: view.identity,
    listings: view.listings,
    emit: () => undefined,
  } as unknown as MarketContext);
  const loop = (async () => {
    try {
      for await (const rx of view.ledger.watch(topic, { signal: ac.signal, cursor: marketCursor(topic) })) {
        if (rx.message.type === 'Listing') catalog.onListing(rx as Received<Listing>);
        else if (rx.message.type === 'Delist') catalog.onDelist(rx as Received<Delist>);
      }
    } catch (e) {
      if (!ac.signal.aborted)
        process.stderr.write(`warning: reading the market topic failed: ${(e as Error).message}\n`);
    }
  })();
  try {
    return await waitCatalogSynced(view.db, view.ledger, topic, timeoutMs);
  } finally {
    ac.abort();
    await Promise.race([loop, new Promise((r) => setTimeout(r, 1000))]);
  }
}

/**
 * Resolves on the first Ctrl+C / SIGTERM; a second Ctrl+C exits at once (130). `dispose` removes
 * the handlers.
 */
export function untilInterrupted(): { interrupted: Promise<string>; dispose(): void } {
  let resolveFn: (s: string) => void = () => undefined;
  const interrupted = new Promise<string>((r) => (resolveFn = r));
  let count = 0;
  const on = (sig: string): void => {
    count++;
    if (count > 1) {
      process.stderr.write('\ninterrupted again: exiting now\n');
      process.exit(130);
    }
    resolveFn(sig);
  };
  const onInt = (): void => on('SIGINT');
  const onTerm = (): void => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    interrupted,
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

/** Find a listing by its full id, or uniquely by stream id or id prefix. */
export function resolveListingId(listings: ListingStore, text: string): string | null {
  if (listings.get(text)) return text;
  const live = listings.search({ includeOwn: true, limit: 10_000 });
  const byStream = live.filter((l) => l.streamId === text);
  if (byStream.length === 1) return byStream[0]!.id;
  if (byStream.length > 1)
    throw new CliError(
      `'${text}' matches ${byStream.length} listings: give the full id (SELLER:STREAM) from \`axon listings\``,
    );
  const byPrefix = live.filter((l) => l.id.startsWith(text));
  if (byPrefix.length === 1) return byPrefix[0]!.id;
  if (byPrefix.length > 1) throw new CliError(`'${text}' matches ${byPrefix.length} listings: give more of the id`);
  return null;
}
