// Benchmark: the local ledger's sustained transactions per second through JSON-RPC against
// LiteSVM called in-process (the ceiling), measured in the same run. Each transaction is a signed
// v0 Memo v1 post with a read-only topic account (what Axon posts). `npm run bench -- ledger`.
//
// Structure: `sections` is a list of measurements, each returning table rows; more sections
// (e.g. post→observed latency on the push and polling paths) can be appended to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { LiteSVM } from 'litesvm';
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  createSolanaRpc,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
  type Blockhash,
  type KeyPairSigner,
} from '@solana/kit';
import { startLocalLedger } from '../../src-main/local-ledger/index';

const MEMO_V1 = address('Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo');
const ROOT = join(import.meta.dirname, '..', '..');
const N = Number(process.env.LEDGER_BENCH_TXS ?? 2000);
const IN_FLIGHT = Number(process.env.LEDGER_BENCH_IN_FLIGHT ?? 16);

export interface Row {
  measurement: string;
  value: number;
  unit: string;
  note?: string;
}

export async function memoTx(
  payer: KeyPairSigner,
  topic: Address,
  blockhash: { blockhash: Blockhash; lastValidBlockHeight: bigint },
  text: string,
) {
  const msg = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) =>
      appendTransactionMessageInstruction(
        {
          programAddress: MEMO_V1,
          accounts: [{ address: topic, role: AccountRole.READONLY }],
          data: new TextEncoder().encode(text),
        },
        m,
      ),
  );
  return signTransactionMessageWithSigners(msg);
}

/** The ledger as its own process (as `axon ledger` runs), so client and server get a core each. */
export async function spawnLedger(
  dataDir: string,
): Promise<{ rpcUrl: string; wsUrl: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src-main/local-ledger/main.ts', '--port', '0', '--data-dir', dataDir],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`ledger exited (${code})`)));
  });
  const { rpcUrl, wsUrl } = JSON.parse(line) as { rpcUrl: string; wsUrl: string };
  return {
    rpcUrl,
    wsUrl,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function ceilingLiteSvm(): Promise<Row[]> {
  const svm = new LiteSVM();
  const payer = await generateKeyPairSigner();
  const topic = (await generateKeyPairSigner()).address;
  svm.airdrop(payer.address, lamports(1_000_000_000_000n));
  const bh = { blockhash: svm.latestBlockhash(), lastValidBlockHeight: 0n };
  const send = (tx: Awaited<ReturnType<typeof memoTx>>, i: number): void => {
    const r = svm.sendTransaction(tx);
    if (r.constructor.name !== 'TransactionMetadata') throw new Error(`LiteSVM refused tx ${i}: ${r.toString()}`);
  };
  let t0 = performance.now();
  for (let i = 0; i < N; i++) send(await memoTx(payer, topic, bh, `axon1:bench ${i}`), i);
  const signed = N / ((performance.now() - t0) / 1000);
  const pre = await Promise.all(Array.from({ length: N }, (_, i) => memoTx(payer, topic, bh, `axon1:pre ${i}`)));
  t0 = performance.now();
  pre.forEach(send);
  const executeOnly = N / ((performance.now() - t0) / 1000);
  return [
    {
      measurement: 'LiteSVM in-process, sign + execute',
      value: signed,
      unit: 'tx/s',
      note: `${N} txs, sequential (ceiling for "signs" rows)`,
    },
    {
      measurement: 'LiteSVM in-process, execute pre-signed',
      value: executeOnly,
      unit: 'tx/s',
      note: `${N} txs, sequential (ceiling for pre-signed rows)`,
    },
  ];
}

type Mode = 'kit, client signs' | 'kit, pre-signed' | 'raw HTTP, pre-signed';

/** A lean JSON-RPC client (node:http keep-alive): shows the server's capacity, not kit's. */
function rawPoster(rpcUrl: string): (body: string) => Promise<string> {
  const url = new URL(rpcUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  return (body) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (data += c));
          res.on('end', () => resolve(data));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/**
 * Sends N memo posts through JSON-RPC (sendTransaction, preflight on) with IN_FLIGHT requests
 * outstanding. Pre-signed modes sign everything before the clock starts; "client signs" signs in
 * the loop (what one client process achieves end to end).
 */
async function throughRpc(rpcUrl: string, label: string, mode: Mode): Promise<Row> {
  const rpc = createSolanaRpc(rpcUrl);
  const payer = await generateKeyPairSigner();
  const topic = (await generateKeyPairSigner()).address;
  await rpc.requestAirdrop(payer.address, lamports(1_000_000_000_000n)).send();
  const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'processed' }).send();
  const wire = async (i: number) => getBase64EncodedWireTransaction(await memoTx(payer, topic, bh, `axon1:bench ${i}`));
  const presigned = mode !== 'kit, client signs';
  const pre = presigned ? await Promise.all(Array.from({ length: N }, (_, i) => wire(i))) : [];
  const raw = mode === 'raw HTTP, pre-signed' ? rawPoster(rpcUrl) : undefined;
  const bodies = raw
    ? pre.map((tx, i) =>
        JSON.stringify({ jsonrpc: '2.0', id: i, method: 'sendTransaction', params: [tx, { encoding: 'base64' }] }),
      )
    : [];
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < N) {
      const i = next++;
      try {
        if (raw) {
          if ((await raw(bodies[i]!)).includes('"error"')) failed++;
        } else {
          const tx = presigned ? pre[i]! : await wire(i);
          await rpc.sendTransaction(tx, { encoding: 'base64', preflightCommitment: 'processed' }).send();
        }
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const secs = (performance.now() - t0) / 1000;
  if (failed) throw new Error(`${failed} of ${N} sends failed`);
  return { measurement: label, value: N / secs, unit: 'tx/s', note: `${N} txs, ${IN_FLIGHT} in flight, ${mode}` };
}

async function rpcSeparateProcess(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-ledger-'));
  const ledger = await spawnLedger(dir);
  try {
    return [
      await throughRpc(ledger.rpcUrl, 'JSON-RPC, ledger own process, raw client', 'raw HTTP, pre-signed'),
      await throughRpc(ledger.rpcUrl, 'JSON-RPC, ledger own process, kit client', 'kit, pre-signed'),
      await throughRpc(ledger.rpcUrl, 'JSON-RPC, ledger own process, kit signs', 'kit, client signs'),
    ];
  } finally {
    await ledger.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rpcInProcess(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-ledger-'));
  const ledger = await startLocalLedger({ port: 0, dataDir: dir });
  try {
    return [await throughRpc(ledger.rpcUrl, 'JSON-RPC, ledger in-process, kit signs', 'kit, client signs')];
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const sections: (() => Promise<Row[]>)[] = [ceilingLiteSvm, rpcSeparateProcess, rpcInProcess];
/** LEDGER_BENCH_ONLY=costs | rpc: only the cost table or the RPC budget (the rest takes minutes on a busy machine). */
const ONLY = process.env.LEDGER_BENCH_ONLY;

export function printTable(rows: Row[]): void {
  const w = Math.max(...rows.map((r) => r.measurement.length));
  for (const r of rows) {
    console.log(
      `${r.measurement.padEnd(w)}  ${r.value.toFixed(r.value < 10 ? 2 : 0).padStart(8)} ${r.unit.padEnd(6)} ${r.note ?? ''}`,
    );
  }
}

export default async function run(): Promise<void> {
  const rows: Row[] = [];
  if (ONLY === 'costs' || ONLY === 'rpc') {
    printTable(await (ONLY === 'costs' ? ledgerCosts : rpcBudget)());
    return;
  }
  for (const s of sections) rows.push(...(await s()));
  const [signCeiling, execCeiling] = [rows[0]!.value, rows[1]!.value];
  for (const r of rows.slice(2)) {
    if (r.unit !== 'tx/s') continue;
    const signs = r.note?.includes('client signs') ?? false;
    rows.push({
      measurement: `ratio: ${r.measurement}`,
      value: r.value / (signs ? signCeiling : execCeiling),
      unit: '×',
      note: signs ? 'vs LiteSVM sign + execute' : 'vs LiteSVM execute only',
    });
  }
  console.log(
    `\nlocal ledger throughput (goal: ≥ 300 tx/s through JSON-RPC); load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores\n`,
  );
  printTable(rows);
}

// ───────────────────────────────────────────────────────────────────────────────────────────────
// Section added by the ledger-client work (issue 3): post → observed latency of watch(), on the
// push path (logsSubscribe wakes the reader) and on the polling path (getSignaturesForAddress
// every pollMs, push disabled), in-process ledger as the app embeds it. Sequential posts with a
// random pause so they land anywhere in a slot. "send→observed" starts when post() is called
// (includes confirmation); "confirmed→observed" starts when post() resolved for the sender.
import { createLedgerClient as latencyClient } from '../../src-main/core/ledger/client';
import {
  expiresIn as latencyExpiresIn,
  newNonce as latencyNonce,
  nonceKey as latencyNonceKey,
} from '../../src-main/core/ledger/messages';
import { Identity as LatencyIdentity } from '../../src-main/core/identity/identity';
import { openDb as latencyOpenDb } from '../../src-main/core/store/db';

const LATENCY_N = Number(process.env.LEDGER_BENCH_LATENCY_N ?? 30);
const LATENCY_POLL_MS = 1000; // the client's default poll interval on loopback

function latencyPct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function watchLatency(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-latency-'));
  const ledger = await startLocalLedger({ port: 0, dataDir: join(dir, 'ledger') });
  const rows: Row[] = [];
  const p50: Record<string, number> = {};
  try {
    const senderDb = latencyOpenDb(join(dir, 'sender.db'));
    const sender = latencyClient({
      identity: LatencyIdentity.generate(),
      rpcUrl: ledger.rpcUrl,
      wsUrl: ledger.wsUrl,
      db: senderDb,
    });
    await sender.airdrop(10_000_000_000n);
    for (const path of ['push', 'poll'] as const) {
      const reader = LatencyIdentity.generate();
      const db = latencyOpenDb(join(dir, `${path}.db`));
      const client = latencyClient({
        identity: reader,
        rpcUrl: ledger.rpcUrl,
        wsUrl: ledger.wsUrl,
        db,
        push: path === 'push',
        pollIntervalMs: LATENCY_POLL_MS,
      });
      const topic = await client.stdinTopic(reader.address);
      const observed = new Map<string, number>();
      const ac = new AbortController();
      const loop = (async () => {
        for await (const r of client.watch(topic, { fromNow: true, signal: ac.signal })) {
          observed.set(latencyNonceKey(r.message.nonce), performance.now());
        }
      })();
      await new Promise((r) => setTimeout(r, 300)); // let the subscription settle
      const send: number[] = [];
      const confirmed: number[] = [];
      for (let i = 0; i < LATENCY_N; i++) {
        const nonce = latencyNonce();
        const t0 = performance.now();
        await sender.post(topic, {
          type: 'ServiceStop',
          nonce,
          expiresAt: latencyExpiresIn(120),
          requestId: 'bench',
          reason: String(i),
        });
        const t1 = performance.now();
        const key = latencyNonceKey(nonce);
        while (!observed.has(key) && performance.now() - t1 < 15_000) await new Promise((r) => setTimeout(r, 2));
        const t2 = observed.get(key);
        if (t2 === undefined) throw new Error(`${path} path: message ${i} not observed within 15 s`);
        send.push(t2 - t0);
        confirmed.push(Math.max(0, t2 - t1));
        await new Promise((r) => setTimeout(r, Math.random() * 200));
      }
      ac.abort();
      await loop;
      await client.close();
      db.close();
      const label =
        path === 'push' ? 'watch() push path (logsSubscribe)' : `watch() polling path (every ${LATENCY_POLL_MS} ms)`;
      p50[path] = latencyPct(send, 50);
      rows.push(
        {
          measurement: `${label}: send→observed p50`,
          value: latencyPct(send, 50),
          unit: 'ms',
          note: `${LATENCY_N} posts`,
        },
        { measurement: `${label}: send→observed p95`, value: latencyPct(send, 95), unit: 'ms' },
        { measurement: `${label}: confirmed→observed p50`, value: latencyPct(confirmed, 50), unit: 'ms' },
        { measurement: `${label}: confirmed→observed p95`, value: latencyPct(confirmed, 95), unit: 'ms' },
      );
    }
    await sender.close();
    senderDb.close();
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
  rows.push({
    measurement: 'ratio: polling / push send→observed p50',
    value: p50.poll! / p50.push!,
    unit: '×',
    note: `goal: push p50 ≤ one slot + 100 ms = 500 ms → ${p50.push! <= 500 ? 'met' : 'NOT met'}`,
  });
  return rows;
}

sections.push(watchLatency);

// Section added by the voucher work (issue 13 §5): the cost table, today's protocol beside the new
// one (tests/bench/lib/ledger-costs.ts). Skip with LEDGER_BENCH_COSTS=0.
import { ledgerCosts } from './lib/ledger-costs';
if (process.env.LEDGER_BENCH_COSTS !== '0') sections.push(ledgerCosts);

// Section added by the rpc work (issue 13 §1): the RPC budget of an idle node and of joining a
// market of 1,000 past / 50 live listings, counted by a rate-limiting RPC front.
import { rpcBudget } from './lib/rpc-budget';
sections.push(rpcBudget);
