// Runs in: Node (Electron main, `axon`). The ONE place that finds the ledger a node talks to and,
// when the cluster is `local` and nothing answers on its port, starts the embedded local ledger
// (src-main/local-ledger) in this process. The app host (host.ts), the CLI's node commands
// (cli/commands/node-context.ts), `axon demo` and `axon ledger` all start it through
// startEmbeddedLedger.
import type { Settings } from '../core/settings';
import type { DataPaths } from '../core/paths';
import type { Logger } from '../core/log';
import { endpointsFor } from '../core/ledger/cluster';
import { redactUrl, RpcSecretStore } from '../core/ledger/rpc-secret';
import type { LocalLedger } from '../local-ledger/index';

export interface LedgerEndpoint {
  rpcUrl: string;
  wsUrl: string;
  /** The cluster setting is `local` (the embedded / `axon ledger` server). */
  local: boolean;
  /** Everything on this machine (loopback RPC): peers announce loopback addresses too. */
  loopback: boolean;
  airdrop: boolean;
  name: string;
  /** The RPC URL carries an API key (kept in the keychain): show `shownUrl`, never rpcUrl. */
  keyed: boolean;
  /** The RPC URL as it may be shown and logged (an API-key URL redacted). */
  shownUrl: string;
}

const LOOPBACK = /^https?:\/\/(127\.|localhost|\[::1\])/;

/** An RPC URL on this machine (then peers announce loopback addresses too). */
export const isLoopbackUrl = (url: string): boolean => LOOPBACK.test(url);

/** Where the settings point (nothing started, nothing asked); with `dataDir`, an API-key RPC URL
 *  kept in the keychain for it wins. */
export function ledgerEndpoint(
  settings: Pick<Settings, 'cluster' | 'localLedgerPort'> & Partial<Pick<Settings, 'rpcUrl' | 'rpcWsUrl'>>,
  dataDir?: string,
): LedgerEndpoint {
  const ep = endpointsFor(settings, dataDir ? new RpcSecretStore(dataDir).get() : null);
  return {
    rpcUrl: ep.rpcUrl,
    wsUrl: ep.wsUrl,
    local: settings.cluster === 'local' && ep.name === 'local',
    loopback: LOOPBACK.test(ep.rpcUrl),
    airdrop: ep.airdrop,
    name: ep.name,
    keyed: ep.keyed,
    shownUrl: ep.keyed ? redactUrl(ep.rpcUrl) : ep.rpcUrl,
  };
}

/** Does a Solana JSON-RPC server answer at this URL? */
export async function rpcAnswers(rpcUrl: string, timeoutMs = 1500): Promise<boolean> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getHealth' }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Start the local ledger in this process (litesvm is loaded only now). `port` 0 picks a free one;
 * `host` defaults to loopback.
 */
export async function startEmbeddedLedger(o: {
  port: number;
  host?: string;
  dataDir: string;
  log: Logger;
}): Promise<LocalLedger> {
  const { startLocalLedger } = await import('../local-ledger/index');
  const ledger = await startLocalLedger({
    port: o.port,
    ...(o.host ? { host: o.host } : {}),
    dataDir: o.dataDir,
    log: o.log.child({ mod: 'local-ledger' }),
  });
  o.log.info({ rpcUrl: ledger.rpcUrl }, 'embedded local ledger started');
  return ledger;
}

/**
 * The ledger for a node on this data dir: the one the cluster setting names if it answers; for the
 * `local` cluster with `embed`, else a new embedded one on the configured port. `endpoint` is null
 * when nothing answers and nothing was started (the caller says why, in its own words).
 */
export async function connectLedger(
  settings: Pick<Settings, 'cluster' | 'localLedgerPort'> & Partial<Pick<Settings, 'rpcUrl' | 'rpcWsUrl'>>,
  paths: Pick<DataPaths, 'ledger' | 'root'>,
  log: Logger,
  o: { embed: boolean },
): Promise<{ endpoint: LedgerEndpoint; answers: boolean; embedded: LocalLedger | null }> {
  const endpoint = ledgerEndpoint(settings, paths.root);
  if (await rpcAnswers(endpoint.rpcUrl, endpoint.loopback ? 1500 : 5000))
    return { endpoint, answers: true, embedded: null };
  if (!endpoint.local || !o.embed) return { endpoint, answers: false, embedded: null };
  const embedded = await startEmbeddedLedger({ port: settings.localLedgerPort, dataDir: paths.ledger, log });
  return { endpoint: { ...endpoint, rpcUrl: embedded.rpcUrl, wsUrl: embedded.wsUrl }, answers: true, embedded };
}
