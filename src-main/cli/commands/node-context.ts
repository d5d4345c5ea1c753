// Runs in: Node (the `axon` command). The node lifecycle shared by the subcommands:
//   data dir + settings + identity (cliContext) → a ledger that answers → AxonNode (or, for the
//   commands that only read, a "ledger view": the ledger client and the SQLite stores, no libp2p).
// One CLI node per data dir at a time (a pid file); Ctrl+C / SIGTERM end a command cleanly.
import { assertDataDirFree, DataDirLockedError, lockDataDir as lockCore } from '../../core/lock';
import { AxonNode, type AxonNodeOptions } from '../../core/node';
import { connectLedger, ledgerEndpoint as ledgerEndpointOf, rpcAnswers, type LedgerEndpoint } from '../../api/ledger';
import type { LocalLedger } from '../../local-ledger/index';
import { NodeView } from '../../core/node-view';
import type { ListingFilter, ListingRow } from '../../core/store/listings';
import type { Identity } from '../../core/identity/identity';
import { CliError, type CliContext } from '../context';
import type { Progress } from '../progress';

export type { LedgerEndpoint };

/** Where the cluster setting points (api/ledger.ts). */
export function ledgerEndpoint(ctx: CliContext): LedgerEndpoint {
  return ledgerEndpointOf(ctx.settings, ctx.paths.root);
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
  const c = await connectLedger(ctx.settings, ctx.paths, ctx.log, { embed: !!o.embed });
  if (c.answers) return { endpoint: c.endpoint, embedded: c.embedded };
  if (c.endpoint.local)
    throw new CliError(`no ledger at ${c.endpoint.rpcUrl}: start one with \`axon ledger\` or run \`axon serve\``);
  throw new CliError(`the ledger at ${c.endpoint.shownUrl} (cluster ${ctx.settings.cluster}) does not answer`);
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

/** `openNode` as the long-running commands (sell, buy, rebroadcast) show it: "starting the node…",
 *  then the node's address and listen port. */
export async function openNodeShown(
  ctx: CliContext,
  p: Progress,
  o: Parameters<typeof openNode>[1] = {},
): Promise<OpenedNode> {
  p.step('starting the node…');
  const opened = await openNode(ctx, o);
  p.succeed(`node ${opened.node.identity.address} listening on port ${opened.node.net.port}`);
  return opened;
}

/** What the read-only commands need: the history and the ledger, no libp2p (core/node-view.ts). */
export type LedgerView = NodeView & { endpoint: LedgerEndpoint };

export async function openLedgerView(ctx: CliContext, o: { needLedger?: boolean } = {}): Promise<LedgerView> {
  const endpoint = o.needLedger === false ? ledgerEndpoint(ctx) : (await requireLedger(ctx)).endpoint;
  const view = NodeView.open({
    dataDir: ctx.paths.root,
    identity: ctx.identity().identity,
    ledger: { rpcUrl: endpoint.rpcUrl, wsUrl: endpoint.wsUrl },
    log: ctx.log,
  });
  return Object.assign(view, { endpoint });
}

/**
 * Sync the market topic into the catalog without a full node. Resolves when caught up or at the
 * timeout.
 */
export function syncCatalogOnce(view: LedgerView, marketId: string, timeoutMs: number): Promise<boolean> {
  return view.syncCatalog(marketId, timeoutMs, (e) =>
    process.stderr.write(`warning: reading the market topic failed: ${e.message}\n`),
  );
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
export function resolveListingId(
  from: { listing(id: string): ListingRow | undefined; listings(f: ListingFilter): ListingRow[] },
  text: string,
): string | null {
  if (from.listing(text)) return text;
  const live = from.listings({ includeOwn: true, limit: 10_000 });
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

/** How long a command waits for the market to be read before it says a listing is not there. */
const FIND_TIMEOUT_MS = 15_000;

/**
 * The listing a command was given (`text`: full id, stream id or id prefix), once the node has read
 * the market; not there: the step fails and a CliError says where to look.
 */
export async function findListing(
  node: AxonNode,
  ctx: CliContext,
  text: string,
  p: { step(s: string): void; fail(s: string): void },
): Promise<string> {
  p.step(`looking for '${text}' on the market…`);
  await node.waitCatalogSynced(FIND_TIMEOUT_MS);
  const id = resolveListingId(node, text);
  if (id) return id;
  p.fail(`listing '${text}' not found`);
  throw new CliError(
    `no live listing '${text}' on the market '${ctx.settings.market}' (never published, expired or delisted): see \`axon listings\``,
  );
}
