// A real local ledger in this process for tests that run the `axon` command against it.
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import { freePort } from './cli';

/** A ledger whose pubsub is at port + 1, as the `local` cluster setting expects. */
export async function ledgerOnPortPair(dir: string): Promise<LocalLedger> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (port > 65000) continue;
    try {
      const l = await startLocalLedger({ port, dataDir: dir, slotMs: 100 });
      if (l.wsUrl.endsWith(`:${port + 1}`)) return l;
      await l.close();
    } catch {
      /* taken meanwhile: try another */
    }
  }
  throw new Error('no free port pair for the ledger');
}
