// The local ledger as a real child process (`main.ts`) is killed (SIGKILL) and restarted on the
// same port and data dir while a watcher runs: the watcher resumes with no duplicate and no gap,
// and a post sent while the ledger is down lands once it is back (client retries).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Identity } from '../../src-main/core/identity/identity';
import { nonceKey } from '../../src-main/core/ledger/messages';
import { getCursor } from '../../src-main/core/store/cursors';
import {
  collector,
  freePortPair,
  spawnLedger,
  stop,
  tempDir,
  testClient,
  type LedgerProcess,
  type TestClient,
} from './ledger-helpers';

let tmp: ReturnType<typeof tempDir>;
let proc: LedgerProcess | undefined;
const sender = Identity.generate();
const reader = Identity.generate();
let s: TestClient;
let r: TestClient;

beforeAll(async () => {
  tmp = tempDir('axon-ledger-restart-');
});
afterAll(async () => {
  await Promise.all([s?.close(), r?.close()]);
  await proc?.kill();
  tmp?.cleanup();
});

describe('ledger process restart', () => {
  it('the watcher resumes with no duplicate and no gap', async () => {
    const port = await freePortPair();
    const dataDir = join(tmp.dir, 'ledger');
    proc = await spawnLedger(port, dataDir);
    const endpoints = { rpcUrl: proc.rpcUrl, wsUrl: proc.wsUrl };
    s = testClient(sender, endpoints, join(tmp.dir, 'sender.db'), { postAttempts: 12 });
    r = testClient(reader, endpoints, join(tmp.dir, 'reader.db'), { pollIntervalMs: 200 });
    await s.client.airdrop(1_000_000_000n);
    const topic = await r.client.stdinTopic(reader.address);
    const inbox = collector(r.client.watch(topic));

    for (const m of ['m1', 'm2', 'm3']) await s.client.post(topic, stop(m));
    await inbox.waitFor(3);

    await proc.kill(); // SIGKILL: no clean shutdown
    const whileDown = s.client.post(topic, stop('m4')); // retries until the ledger is back
    await new Promise((res) => setTimeout(res, 500));
    proc = await spawnLedger(port, dataDir);
    expect(proc.rpcUrl).toBe(endpoints.rpcUrl);
    await whileDown;
    for (const m of ['m5', 'm6']) await s.client.post(topic, stop(m));

    const got = await inbox.waitFor(6, 30_000);
    await new Promise((res) => setTimeout(res, 800)); // a duplicate would arrive by now
    await inbox.stop();
    expect(inbox.items.map((x) => (x.message as { reason: string }).reason)).toEqual([
      'm1',
      'm2',
      'm3',
      'm4',
      'm5',
      'm6',
    ]);
    expect(new Set(got.map((x) => x.signature)).size).toBe(6);
    expect(new Set(got.map((x) => nonceKey(x.message.nonce))).size).toBe(6);
    // History survived the kill: the cursor names the last message, which the ledger still knows.
    expect(getCursor(r.db, topic)!.lastSignature).toBe(got[5]!.signature);
    const tx = await r.client.rpc
      .getTransaction(got[0]!.signature as never, {
        commitment: 'confirmed',
        encoding: 'base64',
        maxSupportedTransactionVersion: 0,
      })
      .send();
    expect(tx).not.toBeNull();
  });
});
