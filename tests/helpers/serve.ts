// `axon serve --ui` started in this process on a given ledger, with a stand-in UI page.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, type Serving } from '../../src-main/cli/commands/serve';
import { Identity } from '../../src-main/core/identity/identity';
import type { HostOptions } from '../../src-main/api/host';

/** Serve `dataDir` with the bridge and a UI (dataDir/ui/index.html) on `ledger`, on loopback. */
export function serveWithUi(
  dataDir: string,
  ledger: { rpcUrl: string; wsUrl: string },
  hostOptions: Partial<Omit<HostOptions, 'dataDir' | 'logLevel'>> = {},
): Promise<Serving> {
  const ui = join(dataDir, 'ui');
  mkdirSync(ui);
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>Axon</title>');
  return startServe({
    dataDir,
    ui: true,
    port: 0,
    staticDir: ui,
    print: () => {},
    hostOptions: {
      ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
      identity: Identity.generate(),
      net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
      endpoint: { wsPort: 0, tcpPort: 0 },
      ...hostOptions,
    },
  });
}
