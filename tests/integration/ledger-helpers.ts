// Shared by the ledger integration tests: a local ledger (in-process or as a child process),
// clients on it, raw memo transactions (junk), and collecting from a watcher.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  AccountRole,
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
  type KeyPairSigner,
  type Signature,
} from '@solana/kit';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import {
  createLedgerClient,
  type LedgerClientOptions,
  type SolanaLedgerClient,
} from '../../src-main/core/ledger/client';
import { MEMO_V1_PROGRAM } from '../../src-main/core/ledger/topics';
import { expiresIn, newNonce } from '../../src-main/core/ledger/messages';
import type { Identity } from '../../src-main/core/identity/identity';
import type { AxonMessage, Received } from '../../src-main/core/ledger/types';
import { openDb, type Db } from '../../src-main/core/store/db';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function inProcessLedger(dir: string): Promise<LocalLedger> {
  return startLocalLedger({ port: 0, dataDir: join(dir, 'ledger') });
}

export interface TestClient {
  client: SolanaLedgerClient;
  db: Db;
  close(): Promise<void>;
}

export interface LedgerWithClients<N extends string> {
  tmp: { dir: string; cleanup: () => void };
  ledger: LocalLedger;
  clients: Record<N, TestClient>;
  /** Closes the clients, then the ledger, then removes the temp dir. */
  close(): Promise<void>;
}

/**
 * A temp dir with an in-process ledger and, per named identity, a client on it (its database
 * `<name>.db` in the temp dir) funded with `airdrop` lamports.
 */
export async function ledgerWithClients<N extends string>(
  prefix: string,
  identities: Record<N, Identity>,
  airdrop: bigint,
): Promise<LedgerWithClients<N>> {
  const tmp = tempDir(prefix);
  let ledger: LocalLedger | undefined;
  const opened: TestClient[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(opened.map((c) => c.close()));
    await ledger?.close();
    tmp.cleanup();
  };
  try {
    const l = await inProcessLedger(tmp.dir);
    ledger = l;
    const clients = {} as Record<N, TestClient>;
    for (const [name, identity] of Object.entries(identities) as [N, Identity][]) {
      clients[name] = testClient(identity, l, join(tmp.dir, `${name}.db`));
      opened.push(clients[name]);
    }
    await Promise.all(opened.map((c) => c.client.airdrop(airdrop)));
    return { tmp, ledger: l, clients, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export function testClient(
  identity: Identity,
  ledger: { rpcUrl: string; wsUrl: string },
  dbFile: string,
  opts: Partial<LedgerClientOptions> = {},
): TestClient {
  const db = openDb(dbFile);
  const client = createLedgerClient({
    identity,
    rpcUrl: ledger.rpcUrl,
    wsUrl: ledger.wsUrl,
    db,
    pollIntervalMs: 250,
    ...opts,
  });
  return {
    client,
    db,
    close: async () => {
      await client.close();
      db.close();
    },
  };
}

/** A Payment or any message with fresh nonce and expiry. */
export const payment = (requestId: string, period: number, expiresAt = expiresIn(300)): AxonMessage => ({
  type: 'Payment',
  nonce: newNonce(),
  expiresAt,
  requestId,
  period,
});
export const stop = (reason: string): AxonMessage => ({
  type: 'ServiceStop',
  nonce: newNonce(),
  expiresAt: expiresIn(300),
  requestId: 'req-1',
  reason,
});

/**
 * Sign `instructions` with `signer` (the fee payer), send them, and wait until the transaction is
 * confirmed; its error, if any, is returned, not thrown.
 */
export async function sendInstructions(
  rpc: SolanaLedgerClient['rpc'],
  signer: KeyPairSigner,
  instructions: Parameters<typeof appendTransactionMessageInstructions>[0],
  opts: { skipPreflight?: boolean; pollMs?: number; what?: string } = {},
): Promise<{ signature: Signature; slot: bigint; err: unknown }> {
  const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  const msg = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(signer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const signed = await signTransactionMessageWithSigners(msg);
  const signature = getSignatureFromTransaction(signed);
  await rpc
    .sendTransaction(getBase64EncodedWireTransaction(signed), {
      encoding: 'base64',
      ...(opts.skipPreflight ? { skipPreflight: true } : {}),
    })
    .send();
  for (let i = 0; i < 200; i++) {
    const { value } = await rpc.getSignatureStatuses([signature], { searchTransactionHistory: true }).send();
    const s = value[0];
    if (s && (s.confirmationStatus === 'confirmed' || s.confirmationStatus === 'finalized')) {
      return { signature, slot: s.slot, err: s.err };
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
  throw new Error(`${opts.what ?? 'transaction'} ${signature} never confirmed`);
}

/** Post arbitrary memo bytes on a topic, as a hostile or buggy peer would (no preflight). */
export async function postRawMemo(
  client: SolanaLedgerClient,
  identity: Identity,
  topic: Address,
  data: Uint8Array,
): Promise<{ signature: string; err: unknown }> {
  const { signature, err } = await sendInstructions(
    client.rpc,
    await identity.signer(),
    [{ programAddress: MEMO_V1_PROGRAM, accounts: [{ address: topic, role: AccountRole.READONLY }], data }],
    { skipPreflight: true, what: 'raw memo' },
  );
  return { signature, err };
}

/** Collect from a watcher in the background. */
export function collector(iterable: AsyncIterable<Received>): {
  items: Received[];
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  stop(): Promise<void>;
} {
  const items: Received[] = [];
  const it = iterable[Symbol.asyncIterator]();
  let stopped = false;
  let failure: unknown;
  const loop = (async () => {
    try {
      while (!stopped) {
        const r = await it.next();
        if (r.done) break;
        items.push(r.value);
      }
    } catch (e) {
      failure = e;
    }
  })();
  return {
    items,
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (items.length < n) {
        if (failure) throw failure;
        if (Date.now() > deadline) throw new Error(`watcher delivered ${items.length} of ${n} messages in time`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return items.slice(0, n);
    },
    async stop() {
      stopped = true;
      await it.return?.();
      await loop;
    },
  };
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port P with P and P+1 free (RPC and pubsub). */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portFree(p)) && (await portFree(p + 1))) return p;
  }
  throw new Error('no free port pair');
}

export interface LedgerProcess {
  rpcUrl: string;
  wsUrl: string;
  child: ChildProcess;
  kill(): Promise<void>;
}

/** The local ledger as a real child process (`main.ts`), ready when it prints its URLs. */
export async function spawnLedger(port: number, dataDir: string): Promise<LedgerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src-main/local-ledger/main.ts', '--port', String(port), '--data-dir', dataDir],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ rpcUrl: string; wsUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ledger did not start in 30 s: ${stderr}`)), 30_000);
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      try {
        const j = JSON.parse(line) as { rpcUrl?: string; wsUrl?: string };
        if (j.rpcUrl && j.wsUrl) {
          clearTimeout(timer);
          resolve({ rpcUrl: j.rpcUrl, wsUrl: j.wsUrl });
        }
      } catch {
        /* not the ready line */
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ledger exited with ${code}: ${stderr}`));
    });
  });
  return {
    ...ready,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
