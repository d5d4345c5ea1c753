// Runs in: Node. `axon serve [--ui]`: run the node headless; with --ui, also serve the app's UI
// and API on loopback (src-main/bridge) and print the URL with its access token.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiService } from '../../api/service';
import { startHost, type AxonHost, type HostOptions } from '../../api/host';
import { startBridge, type Bridge } from '../../bridge/server';

export interface ServeOptions {
  dataDir?: string;
  logLevel?: string;
  /** Serve the UI (and API) over HTTP + WebSocket. */
  ui?: boolean;
  /** UI port on 127.0.0.1 (default: the uiPort setting; 0 = any free port). */
  port?: number;
  /** The renderer build to serve (default: <repo>/out/renderer). */
  staticDir?: string;
  /** Run the demo seller next to the embedded local ledger (default true; `--no-demo`). */
  demo?: boolean;
  /** Resolves when the server should stop (default: SIGINT/SIGTERM). */
  until?: Promise<void>;
  /** Where to print the URL (default: stdout). */
  print?: (line: string) => void;
  /** More node options (tests: explicit ledger, identity, fast timing, loopback). */
  hostOptions?: Omit<HostOptions, 'dataDir' | 'logLevel'>;
}

export interface Serving {
  host: AxonHost;
  bridge: Bridge | null;
  close(): Promise<void>;
}

export const RENDERER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'out', 'renderer');

/** Start the node (and the UI bridge); returns once both listen. */
export async function startServe(opts: ServeOptions = {}): Promise<Serving> {
  const print = opts.print ?? ((l: string) => process.stdout.write(l + '\n'));
  const host = await startHost({
    ...opts.hostOptions,
    dataDir: opts.dataDir,
    logLevel: opts.logLevel,
    ...(opts.demo !== undefined ? { demo: opts.demo } : {}),
  });
  if (host.localLedger) print(`Started the embedded local ledger at ${host.localLedger.rpcUrl}.`);
  for (const note of host.notes) print(note);
  let bridge: Bridge | null = null;
  let api: ApiService | null = null;
  try {
    if (opts.ui) {
      const staticDir = opts.staticDir ?? RENDERER_DIR;
      if (!existsSync(join(staticDir, 'index.html'))) {
        print(`note: the UI is not built yet (${staticDir}); run \`npm run build\` — the API still works.`);
      }
      api = new ApiService(host.backend, {
        onError: (cmd, err) => host.log.warn({ cmd, err: String(err) }, 'api command failed'),
      });
      bridge = await startBridge({ api, port: opts.port ?? host.settings.uiPort, staticDir, log: host.log });
      print(`Axon UI: ${bridge.url}`);
      print('(loopback only; the URL holds the access token — do not share it)');
    } else {
      print('Axon node running headless. Stop with Ctrl+C.');
    }
  } catch (e) {
    await host.close();
    throw e;
  }
  return {
    host,
    bridge,
    async close() {
      await bridge?.close();
      api?.close();
      await host.close();
    },
  };
}

/** The `axon serve` command: runs until Ctrl+C / SIGTERM. */
export async function serveCommand(opts: ServeOptions = {}): Promise<void> {
  const serving = await startServe(opts);
  const stop =
    opts.until ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  await stop;
  (opts.print ?? console.log)('Stopping Axon…');
  await serving.close();
}
