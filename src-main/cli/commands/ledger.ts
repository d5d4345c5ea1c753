// Runs in: Node. `axon ledger [--port 8899] [--host 127.0.0.1] [--data-dir D]`: runs the local
// Solana-compatible ledger (JSON-RPC on PORT, pubsub WebSocket on PORT+1) until SIGINT/SIGTERM.
// --host listens elsewhere than loopback (a team or the NAT lab shares one ledger); the others
// then set `cluster` to http://<that address>:PORT.
import { isIP } from 'node:net';
import type { Logger } from '../../core/log';
import { DEFAULT_LEDGER_PORT } from '../../local-ledger/index';
import { startEmbeddedLedger } from '../../api/ledger';
import { CliError } from '../context';

/** An IP address to listen on (a name could resolve anywhere: the user gives the address). */
export function listenHost(s: string): string {
  const h = s.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(h) === 0) throw new CliError(`--host wants an IP address to listen on (e.g. 0.0.0.0), got '${s}'`, 2);
  return h;
}

export async function ledgerCommand(opts: {
  port?: number;
  host?: string;
  dataDir: string;
  log: Logger;
}): Promise<void> {
  const ledger = await startEmbeddedLedger({
    port: opts.port ?? DEFAULT_LEDGER_PORT,
    ...(opts.host ? { host: opts.host } : {}),
    dataDir: opts.dataDir,
    log: opts.log,
  }).catch((e: Error & { code?: string }) => {
    if (e.code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen on ${opts.host}: no interface has that address`);
    if (e.code === 'EADDRINUSE') throw new CliError(`port ${opts.port ?? DEFAULT_LEDGER_PORT} (or +1) is in use`);
    throw e;
  });
  console.log(`local ledger: JSON-RPC ${ledger.rpcUrl}  pubsub ${ledger.wsUrl}  data ${opts.dataDir}`);
  if (opts.host === '0.0.0.0' || opts.host === '::')
    console.log(
      `listening on every interface: others set cluster to http://<this host's address>:${new URL(ledger.rpcUrl).port}`,
    );
  console.log('press Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await ledger.close();
}
