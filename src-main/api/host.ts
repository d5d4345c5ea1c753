// Runs in: Node (Electron main or `axon serve`). Starts AxonNode for a UI — and, when the cluster
// is `local` and no local ledger answers on its port, the embedded local ledger too — and
// returns the API backend over it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AxonNode, type AxonNodeOptions } from '../core/node';
import { ensureDataDir, resolveDataDir, type DataPaths } from '../core/paths';
import { loadSettings, type Settings } from '../core/settings';
import { createLogger, type Logger } from '../core/log';
import type { LocalLedger } from '../local-ledger/index';
import { connectLedger, isLoopbackUrl, ledgerEndpoint, rpcAnswers } from './ledger';
import type { Identity } from '../core/identity/identity';
import { assertDataDirFree } from '../core/lock';
import type { AxonBackend } from './service';
import { createNodeBackend } from './node-backend';
import { retireDemoSeller, startDemoSeller } from './demo-seller';

const FIRST_START_FUNDS = 2_000_000_000n;

export interface HostOptions {
  dataDir?: string;
  logLevel?: string;
  log?: Logger;
  /** Present inside Electron: capabilities only the desktop app has. */
  electron?: { setStartOnLogin(on: boolean): void };
  /** Explicit ledger endpoints (tests); default: from the cluster setting. */
  ledger?: { rpcUrl: string; wsUrl?: string };
  identity?: Identity;
  timing?: AxonNodeOptions['timing'];
  net?: AxonNodeOptions['net'];
  endpoint?: AxonNodeOptions['endpoint'];
  version?: string;
  /**
   * With the embedded local ledger started by this host: also run an in-process demo seller
   * (<dataDir>/demo-seller) selling the built-in aircraft and weather streams. Default true.
   */
  demo?: boolean;
}

export interface AxonHost {
  backend: AxonBackend;
  node: AxonNode;
  paths: DataPaths;
  settings: Settings;
  log: Logger;
  /** Set when this process runs the embedded local ledger. */
  localLedger: LocalLedger | null;
  /** The in-process demo seller (see HostOptions.demo), when it runs. */
  demoSeller: AxonNode | null;
  /** What the host did for a first-time user, one line each (the CLI prints them). */
  notes: string[];
  close(): Promise<void>;
}

function readVersion(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 6; i++) {
    const f = join(dir, 'package.json');
    if (existsSync(f)) {
      try {
        const pkg = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'axon' && pkg.version) return pkg.version;
      } catch {
        /* keep looking */
      }
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

export { rpcAnswers };

export async function startHost(opts: HostOptions = {}): Promise<AxonHost> {
  const paths = ensureDataDir(resolveDataDir(opts.dataDir));
  const settings = loadSettings(paths.settings);
  const log = opts.log ?? createLogger({ level: opts.logLevel, file: paths.log, stderr: false });
  // one node per data dir: say so before starting anything (AxonNode.start takes the lock)
  assertDataDirFree(paths.root);
  const notes: string[] = [];
  let localLedger: LocalLedger | null = null;
  let ledger = opts.ledger;
  if (!ledger && settings.cluster === 'local') {
    // The embedded default: run the local ledger inside this process when none answers.
    const c = await connectLedger(settings, paths, log, { embed: true });
    if (c.embedded) {
      localLedger = c.embedded;
      ledger = { rpcUrl: c.endpoint.rpcUrl, wsUrl: c.endpoint.wsUrl };
    }
  }
  const rpcUrl = ledger?.rpcUrl ?? ledgerEndpoint(settings, paths.root).rpcUrl;
  // everything on this machine (the embedded ledger): announce loopback addresses too, as the CLI does
  const net = isLoopbackUrl(rpcUrl) ? { announceFilter: { allowLoopback: true }, ...opts.net } : opts.net;
  let node: AxonNode;
  try {
    node = await AxonNode.start({
      dataDir: paths.root,
      log,
      ...(ledger ? { ledger } : {}),
      ...(opts.identity ? { identity: opts.identity } : {}),
      ...(opts.timing ? { timing: opts.timing } : {}),
      ...(net ? { net } : {}),
      ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    });
  } catch (e) {
    await localLedger?.close();
    throw e;
  }
  let demoSeller: AxonNode | null = null;
  if (localLedger && opts.demo !== false) {
    try {
      demoSeller = await startDemoSeller({
        dataDir: join(paths.root, 'demo-seller'),
        ledger: { rpcUrl: localLedger.rpcUrl, wsUrl: localLedger.wsUrl },
        log,
        ...(opts.timing ? { timing: opts.timing } : {}),
        ...(opts.net ? { net: opts.net } : {}),
      });
      notes.push(
        `Demo seller ${demoSeller.identity.address} is selling the demo aircraft and weather streams (turn off with --no-demo).`,
      );
      // a first-time user can click Buy at once: fund an empty wallet on the local ledger
      if ((await node.balance()) === 0n) {
        await node.airdrop(FIRST_START_FUNDS);
        notes.push(`Airdropped 2 SOL (local ledger, not real money) to your address ${node.identity.address}.`);
      }
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'demo seller did not start');
      notes.push(`note: the demo seller did not start: ${(e as Error).message}`);
    }
  } else if (localLedger) {
    // --no-demo after a start with the demo: take its listings off the market once
    try {
      const n = await retireDemoSeller({
        dataDir: join(paths.root, 'demo-seller'),
        ledger: { rpcUrl: localLedger.rpcUrl, wsUrl: localLedger.wsUrl },
        log,
        ...(opts.timing ? { timing: opts.timing } : {}),
        ...(opts.net ? { net: opts.net } : {}),
      });
      if (n) notes.push(`Delisted the ${n} demo streams of an earlier start (--no-demo).`);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'could not delist the demo streams');
      notes.push(`note: the demo streams of an earlier start could not be delisted: ${(e as Error).message}`);
    }
  }
  const canAirdrop = opts.ledger || localLedger ? true : ledgerEndpoint(settings, paths.root).airdrop;
  const backend = createNodeBackend(node, {
    dataDir: paths.root,
    settingsFile: paths.settings,
    version: opts.version ?? readVersion(),
    canAirdrop,
    ...(opts.electron ? { setStartOnLogin: opts.electron.setStartOnLogin } : {}),
  });
  let closed: Promise<void> | null = null;
  return {
    backend,
    node,
    paths,
    settings,
    log,
    localLedger,
    demoSeller,
    notes,
    close() {
      closed ??= (async () => {
        backend.close();
        await node.shutdown();
        await demoSeller?.shutdown();
        await localLedger?.close();
      })();
      return closed;
    },
  };
}
