// Runs in: Node, as its own process: `npx tsx src-main/local-ledger/main.ts --port P
// --data-dir D [--host H] [--slot-ms N]`. Prints one JSON line {"rpcUrl","wsUrl"} on stdout
// when ready; stops cleanly on SIGINT/SIGTERM. Logs (JSON lines) go to stderr.
import { createLogger } from '../core/log';
import { startLocalLedger } from './index';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const dataDir = arg('data-dir');
if (!dataDir) {
  process.stderr.write('usage: main.ts --data-dir DIR [--port 8899] [--host 127.0.0.1] [--slot-ms 400]\n');
  process.exit(2);
}
const port = arg('port') !== undefined ? Number(arg('port')) : undefined;
const slotMs = arg('slot-ms') !== undefined ? Number(arg('slot-ms')) : undefined;
const log = createLogger({ level: process.env.AXON_LOG_LEVEL ?? 'warn', stderr: true });
const ledger = await startLocalLedger({ dataDir, port, slotMs, host: arg('host'), log });
process.stdout.write(JSON.stringify({ rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl }) + '\n');
const stop = (): void => {
  void ledger.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
