// Runs in: Node. `axon ledger [--port 8899] [--data-dir D]`: runs the local Solana-compatible
// ledger (JSON-RPC on PORT, pubsub WebSocket on PORT+1) until SIGINT/SIGTERM.
import type { Logger } from '../../core/log';
import { startLocalLedger, DEFAULT_LEDGER_PORT } from '../../local-ledger/index';

export async function ledgerCommand(opts: { port?: number; dataDir: string; log: Logger }): Promise<void> {
  const ledger = await startLocalLedger({
    port: opts.port ?? DEFAULT_LEDGER_PORT,
    dataDir: opts.dataDir,
    log: opts.log,
  });
  console.log(`local ledger: JSON-RPC ${ledger.rpcUrl}  pubsub ${ledger.wsUrl}  data ${opts.dataDir}`);
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
