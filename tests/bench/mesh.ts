// `npm run bench -- mesh` (issue 17 §5): one origin seller with a thin uplink, many buyers served
// through rebroadcasters. Every participant is a real Axon node (AxonNode with its own identity,
// SQLite, libp2p node and ledger watchers, default settings) on loopback, all on one local ledger;
// the nodes live in a few worker processes (tests/bench/lib/mesh-worker.ts), many per process.
//
// The origin sells a UDP source; this process feeds it 1 KiB datagrams at 10 Hz, each carrying
// its send time and index. The origin's upload budget allows 10 buyers at the stream's rate:
// 10 rebroadcasters buy it (`rebroadcast()`) and resell it; then the buyers click Buy on the
// origin's listing, and the full origin's redirect sends each to a rebroadcaster (their nodes
// follow it by themselves; AXON_BENCH_MESH_MODE=spread has the bench spread them over the
// rebroadcasters' listings instead). Measured over a window once every buyer streams:
//  - frames delivered per buyer (goal ≥ 99.9 % of the window's frames, every buyer)
//  - end-to-end latency p50/p99, direct (depth 1) vs each depth (goal p99 ≤ 2 × direct p99 + 10 ms per hop)
//  - the origin's upload (raw bytes its connections sent) vs the stream rate (goal ≤ 11 ×)
//  - Buy → first frame per buyer (goal ≤ 3 s)
// Prints the tree and writes test-artifacts/bench/mesh-tree.svg and mesh.json.
// Environment: AXON_BENCH_MESH_BUYERS (500), AXON_BENCH_MESH_RELAYS (10), AXON_BENCH_MESH_WORKERS
// (buyer processes, 4), AXON_BENCH_MESH_SECONDS (window, 60), AXON_BENCH_MESH_BUYS_PER_SEC (10),
// AXON_BENCH_MESH_DEEP (rebroadcasters one hop deeper, buying from the first ones; 0),
// AXON_BENCH_MESH_ORIGIN_SLOTS (buyers the origin's upload budget allows; 10).
import { fork, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalLedger } from '../../src-main/local-ledger/index';
import { nowMs, type NodeReport } from './lib/mesh-worker';
import { buildTree, pct, treeSvg, treeText, writeJson } from './lib/mesh-tree';

const WORKER = fileURLToPath(new URL('./lib/mesh-worker.ts', import.meta.url));
const FRAME_BYTES = 1024;
const HZ = 10;
const STREAM_RATE = FRAME_BYTES * HZ; // payload bytes/s

export interface MeshOptions {
  buyers: number;
  relays: number;
  /** Rebroadcasters one hop deeper, each buying from one of the first `relays` (default 0). */
  deepRelays?: number;
  /** Buyer worker processes. */
  workers: number;
  windowSec: number;
  buysPerSec: number;
  /**
   * 'redirect' (the product path): the origin declares an upload budget of 10 buyers at the
   * stream's rate; the buyers click Buy on the ORIGIN's listing and the full origin's redirect
   * sends them to the rebroadcasters (their nodes follow it by themselves).
   * 'spread': the buyers click Buy on the rebroadcasters' listings, spread over them by the bench
   * (for a build without redirects). Default 'redirect'.
   */
  mode?: 'redirect' | 'spread';
  /** How many buyers the origin's upload budget allows at the stream's rate (default 10). */
  originSlots?: number;
  /** Print as it goes. */
  verbose?: boolean;
  /** File names under test-artifacts/bench (default mesh-tree.svg, mesh.json). */
  svgName?: string;
  jsonName?: string;
}

export interface MeshResult {
  options: MeshOptions;
  processes: number;
  nodesPerProcess: number[];
  loadavg: number[];
  /** Per depth (1 = bought from the origin): nodes, delivered share, latency p50/p99 (ms). */
  depths: { depth: number; nodes: number; delivered: number; expected: number; p50: number; p99: number }[];
  /** The worst buyer's delivered share of the window (all buyers and rebroadcasters). */
  minDeliveredShare: number;
  deliveredShare: number;
  originUploadBytesPerSec: number;
  originUploadRatio: number;
  buyToFirst: { n: number; missing: number; p50: number; p99: number; max: number };
  /** Where Buy → first frame goes: median ms after Buy at which buyers' purchases reached each state. */
  buySteps: Record<string, number>;
  /** How the receivers are connected to their upstream: "direct tcp" → count, … */
  paths: Record<string, number>;
  svg: string;
  json: string;
  tree: string;
  nodes: (Omit<NodeReport, 'lat'> & { depth: number; p50: number; p99: number })[];
  failures: string[];
}

class Worker {
  readonly proc: ChildProcess;
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;
  nodes = 0;

  constructor(
    readonly label: string,
    ledger: { rpcUrl: string; wsUrl: string },
  ) {
    this.proc = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      // no router on loopback: the nodes must not look for one on the LAN
      env: {
        ...process.env,
        AXON_PORT_MAPPING: 'off',
        AXON_MESH_WORKER: JSON.stringify({ ...ledger, label }),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.proc.once('exit', (code) => {
        reject(new Error(`${label} exited (${code})`));
        for (const p of this.#pending.values()) p.reject(new Error(`${label} exited (${code})`));
      });
      this.proc.on('message', (m: { ev: string; id?: number; result?: unknown; error?: string }) => {
        if (m.ev === 'ready') resolve();
        else if (m.ev === 'reply') {
          const p = this.#pending.get(m.id!);
          this.#pending.delete(m.id!);
          if (m.error !== undefined) p?.reject(new Error(m.error));
          else p?.resolve(m.result);
        }
      });
    });
  }

  call<T>(cmd: string, arg?: unknown): Promise<T> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null)
      return Promise.reject(new Error(`${this.label} is gone (exit ${this.proc.exitCode ?? this.proc.signalCode})`));
    return new Promise<T>((resolve, reject) => {
      const id = this.#next++;
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, arg });
    });
  }

  async start(count: number, airdrop: bigint): Promise<string[]> {
    const a = await this.call<string[]>('start', { count, airdrop: airdrop.toString() });
    this.nodes += count;
    return a;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await Promise.race([this.call('stop'), new Promise((r) => setTimeout(r, 20_000))]).catch(() => undefined);
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await gone;
  }
}

/** A free UDP port on 127.0.0.1 for the origin's source. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** The device: 1 KiB datagrams at 10 Hz to the origin's UDP source, each with its send time and index. */
function feeder(port: number): { index: () => number; stop: () => void } {
  const sock = createSocket('udp4');
  let idx = 0;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | null = null;
  const tick = (): void => {
    const due = Math.floor(((performance.now() - t0) / 1000) * HZ) + 1;
    while (idx < due) {
      const buf = Buffer.alloc(FRAME_BYTES, 0x5a);
      buf.writeDoubleBE(nowMs(), 0);
      buf.writeUInt32BE(idx, 8);
      sock.send(buf, port, '127.0.0.1');
      idx++;
    }
    timer = setTimeout(tick, Math.max(0, (idx / HZ) * 1000 - (performance.now() - t0)));
  };
  tick();
  return {
    index: () => idx,
    stop: () => {
      if (timer) clearTimeout(timer);
      sock.close();
    },
  };
}

/**
 * CPU profiles of every process (AXON_BENCH_MESH_PROFILE=DIR): the Buy phase and the window,
 * written as DIR/<process>-<phase>.cpuprofile (open them in Chrome's DevTools or speedscope).
 */
function profiler(workers: Worker[]): { start: () => Promise<void>; stop: (what: string) => Promise<void> } {
  const dir = process.env.AXON_BENCH_MESH_PROFILE;
  let own: Session | null = null;
  if (!dir) return { start: async () => undefined, stop: async () => undefined };
  mkdirSync(dir, { recursive: true });
  return {
    start: async () => {
      own = new Session();
      own.connect();
      await own.post('Profiler.enable');
      await own.post('Profiler.start');
      await Promise.all(workers.map((w) => w.call('profStart').catch(() => undefined)));
    },
    stop: async (what) => {
      await Promise.all(workers.map((w) => w.call('profStop', { dir, what }).catch(() => undefined)));
      if (!own) return;
      const { profile } = await own.post('Profiler.stop');
      writeFileSync(join(dir, `bench-${what}.cpuprofile`), JSON.stringify(profile));
      own.disconnect();
      own = null;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');

export async function runMesh(o: MeshOptions): Promise<MeshResult> {
  const say = (s: string): void => {
    if (o.verbose) console.log(s);
  };
  const dir = mkdtempSync(join(tmpdir(), 'axon-meshbench-ledger-'));
  const ledger = await startLocalLedger({ port: 0, dataDir: dir });
  const endpoints = { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl };
  const originW = new Worker('origin', endpoints);
  const relayW = new Worker('rebroadcasters', endpoints);
  const buyerWs = Array.from({ length: Math.max(1, o.workers) }, (_, i) => new Worker(`buyers-${i + 1}`, endpoints));
  const all = [originW, relayW, ...buyerWs];
  let feed: ReturnType<typeof feeder> | null = null;
  const failures: string[] = [];
  const deep = o.deepRelays ?? 0;
  const mode = o.mode ?? 'redirect';
  const slots = o.originSlots ?? 10;
  try {
    await Promise.all(all.map((w) => w.ready));
    const t0 = performance.now();
    const [originAddr] = await originW.start(1, 1_000_000_000n);
    await relayW.start(o.relays + deep, 5_000_000_000n);
    const perWorker = buyerWs.map(
      (_, i) => Math.floor(o.buyers / buyerWs.length) + (i < o.buyers % buyerWs.length ? 1 : 0),
    );
    await Promise.all(buyerWs.map((w, i) => w.start(perWorker[i]!, 1_000_000_000n)));
    say(
      `started ${1 + o.relays + deep + o.buyers} Axon nodes in ${all.length} processes (${(
        (performance.now() - t0) /
        1000
      ).toFixed(1)} s)`,
    );

    const port = await freeUdpPort();
    feed = feeder(port);
    const originListing = await originW.call<string>('sell', {
      i: 0,
      offer: {
        streamId: 'mesh',
        title: 'Mesh bench 1 KiB @ 10 Hz',
        source: { kind: 'udp', port },
        priceDirect: '100000',
        priceRelay: '50000',
        // `slots` buyers at the stream's rate on the wire (payload + the 21-byte DATA header, as
        // the seller measures it), and not one more; in 'spread' mode a buyer count instead
        ...(mode === 'redirect'
          ? { capacity: 10_000, uploadBps: Math.floor((slots + 0.5) * HZ * (FRAME_BYTES + 21)) }
          : { capacity: slots }),
      },
    });
    say(`origin ${originAddr} sells ${originListing}`);
    // every rebroadcaster (of either level) serves its share of the buyers and the deeper ones
    const perRelay = Math.ceil(o.buyers / Math.max(1, o.relays + deep)) + Math.ceil(deep / Math.max(1, o.relays)) + 5;
    const level1 = await Promise.all(
      Array.from({ length: o.relays }, (_, i) =>
        relayW.call<string>('rebroadcast', {
          i,
          listingId: originListing,
          price: '50000',
          capacity: perRelay,
          minutes: 60,
        }),
      ),
    );
    const level2 = await Promise.all(
      Array.from({ length: deep }, (_, k) =>
        relayW.call<string>('rebroadcast', {
          i: o.relays + k,
          listingId: level1[k % level1.length]!,
          price: '50000',
          capacity: perRelay,
          minutes: 60,
        }),
      ),
    );
    const relayListings = [...level1, ...level2];
    // a rebroadcast is listed once its data flows (docs/mesh.md): the buyers come when the origin sees them
    const tListed = performance.now();
    await originW.call('seen', { i: 0, ids: relayListings, ms: 120_000 }).catch((e: Error) => failures.push(e.message));
    say(
      `${level1.length} rebroadcasters listed${deep ? ` and ${deep} more one hop deeper` : ''} (${(
        (performance.now() - tListed) /
        1000
      ).toFixed(1)} s after their rebroadcast() returned)`,
    );

    // buyers click Buy one after another (buysPerSec), spread over the rebroadcasters
    const buys: Promise<unknown>[] = [];
    let returned = 0;
    const prof = profiler(all);
    await prof.start();
    const tBuys = performance.now();
    let j = 0;
    const maxPer = Math.max(...perWorker);
    for (let i = 0; i < maxPer; i++)
      for (let w = 0; w < buyerWs.length; w++) {
        if (i >= perWorker[w]!) continue;
        const listingId = mode === 'redirect' ? originListing : relayListings[j % relayListings.length]!;
        const at = tBuys + (j * 1000) / o.buysPerSec;
        j++;
        if (at > performance.now()) await sleep(at - performance.now());
        buys.push(
          buyerWs[w]!.call('buy', { i, listingId, minutes: 10 }).then(
            () => returned++,
            (e: Error) => failures.push(e.message),
          ),
        );
      }
    // a Buy that has not returned 120 s after the last click is reported, and the run goes on
    const buysDone = Promise.all(buys);
    const buyEnd = Date.now() + 120_000;
    while (Date.now() < buyEnd) {
      const done = await Promise.race([buysDone.then(() => true), sleep(15_000).then(() => false)]);
      if (done) break;
      say(`  ${returned}/${o.buyers} Buy clicks returned so far`);
    }
    if (returned + failures.length < o.buyers)
      failures.push(`${o.buyers - returned - failures.length} Buy clicks had not returned 120 s after the last one`);
    say(
      `${returned}/${o.buyers} Buy clicks returned a purchase (${((performance.now() - tBuys) / 1000).toFixed(1)} s)`,
    );

    // wait for every node's first frame (or give up after a while)
    const want = o.relays + deep + o.buyers;
    const end = Date.now() + 120_000;
    let have = 0;
    for (;;) {
      have = (await Promise.all([relayW, ...buyerWs].map((w) => w.call<number>('progress')))).reduce(
        (a, b) => a + b,
        0,
      );
      if (have >= want || Date.now() > end) break;
      await sleep(500);
    }
    say(`${have}/${want} nodes streaming; measuring ${o.windowSec} s`);
    await prof.stop('buy');
    await sleep(2000);
    await prof.start();
    await Promise.all(all.map((w) => w.call('mark').catch(() => undefined)));
    const tMark = performance.now();
    const from = feed.index();
    await sleep(o.windowSec * 1000);
    const to = feed.index() - 1;
    await Promise.all(all.map((w) => w.call('markEnd').catch(() => undefined)));
    await prof.stop('window');
    const windowSec = (performance.now() - tMark) / 1000;
    await sleep(1500); // frames of the window still on their way
    const load = loadavg();
    const reports = (
      await Promise.all(
        all.map((w) =>
          w.call<NodeReport[]>('report', { from, to }).catch((e: Error) => {
            failures.push(`${w.label}: no report (${e.message}); its ${w.nodes} nodes are missing from the figures`);
            return [];
          }),
        ),
      )
    ).flat();
    for (const w of all) failures.push(...(await w.call<string[]>('crashes').catch(() => [])));
    feed.stop();
    feed = null;

    // tree and figures
    const origin = reports.find((r) => r.role === 'origin')!;
    const up = new Map(reports.map((r) => [r.address, r.upstream]));
    const depthOf = (a: string): number => {
      let d = 0;
      let cur: string | null | undefined = a;
      while (cur && cur !== origin.address && d < 32) {
        cur = up.get(cur);
        d++;
      }
      return cur === origin.address ? d : -1;
    };
    const receivers = reports.filter((r) => r.role !== 'origin');
    const depths = [...new Set(receivers.map((r) => depthOf(r.address)))].sort((a, b) => a - b);
    const byDepth = depths.map((d) => {
      const rs = receivers.filter((r) => depthOf(r.address) === d);
      const lat = rs.flatMap((r) => r.lat);
      return {
        depth: d,
        nodes: rs.length,
        delivered: rs.reduce((a, r) => a + r.delivered, 0),
        expected: rs.reduce((a, r) => a + r.expected, 0),
        p50: pct(lat, 50),
        p99: pct(lat, 99),
      };
    });
    const share = (r: NodeReport): number => r.delivered / Math.max(1, r.expected);
    const minShare = Math.min(...receivers.map(share));
    const deliveredShare =
      receivers.reduce((a, r) => a + r.delivered, 0) /
      Math.max(
        1,
        receivers.reduce((a, r) => a + r.expected, 0),
      );
    const firsts = reports.filter((r) => r.role === 'buyer');
    const ff = firsts.map((r) => r.buyToFirstMs).filter((x): x is number => x !== null);
    const buyToFirst = {
      n: ff.length,
      missing: firsts.length - ff.length,
      p50: pct(ff, 50),
      p99: pct(ff, 99),
      max: Math.max(...ff),
    };
    const stepAt = new Map<string, number[]>();
    for (const r of firsts)
      for (const [state, ms] of r.steps.filter(([st], k, a) => a.findIndex(([x]) => x === st) === k))
        stepAt.set(state, [...(stepAt.get(state) ?? []), ms]);
    stepAt.set('first frame', ff);
    const buySteps = Object.fromEntries([...stepAt].map(([k, v]) => [k, pct(v, 50)]));
    const paths: Record<string, number> = {};
    for (const r of receivers) {
      const [kind, addr = ''] = (r.upstreamPath ?? 'not connected').split(' ');
      const t = /\/webrtc/.test(addr) ? 'webrtc' : /\/tcp\//.test(addr) ? 'tcp' : /\/udp\//.test(addr) ? 'udp' : '';
      const k = `${kind}${t ? ` ${t}` : ''}`;
      paths[k] = (paths[k] ?? 0) + 1;
    }
    const upBps = origin.uploadBytesPerSec;
    const { root, orphans } = buildTree(origin.address, receivers);
    for (const x of orphans) failures.push(`${x.address} is not under the origin (upstream ${x.upstream ?? 'none'})`);
    for (const r of receivers)
      if (r.delivered === 0)
        failures.push(
          `${r.role} ${r.address}: no frame in the window; purchase ${r.purchaseState ?? 'none'}${r.reason ? ` (${r.reason})` : ''}`,
        );
    const tree = treeText(root);
    const footer = [
      `${o.buyers} buyers + ${o.relays + deep} rebroadcasters + 1 origin = ${reports.length} Axon nodes in ${all.length} worker processes; 1 KiB @ 10 Hz; window ${windowSec.toFixed(0)} s`,
      ...byDepth.map(
        (d) =>
          `depth ${d.depth}: ${d.nodes} nodes, delivered ${((100 * d.delivered) / Math.max(1, d.expected)).toFixed(3)} %, latency p50 ${f1(d.p50)} ms p99 ${f1(d.p99)} ms`,
      ),
      `origin upload ${(upBps / 1024).toFixed(1)} KiB/s = ${(upBps / STREAM_RATE).toFixed(2)} × the stream rate; Buy → first frame p50 ${f1(buyToFirst.p50)} ms p99 ${f1(buyToFirst.p99)} ms`,
      `load average ${load.map((x) => x.toFixed(2)).join(' ')} (2 cores shared)`,
    ];
    const svg = treeSvg(o.svgName ?? 'mesh-tree.svg', 'mesh: origin → rebroadcasters → buyers (one run)', root, footer);
    const nodes = reports.map(({ lat, ...r }) => ({
      ...r,
      depth: depthOf(r.address),
      p50: pct(lat, 50),
      p99: pct(lat, 99),
    }));
    const result: Omit<MeshResult, 'json'> = {
      options: o,
      processes: all.length + 1,
      nodesPerProcess: all.map((w) => w.nodes),
      loadavg: load,
      depths: byDepth,
      minDeliveredShare: minShare,
      deliveredShare,
      originUploadBytesPerSec: upBps,
      originUploadRatio: upBps / STREAM_RATE,
      buyToFirst,
      buySteps,
      paths,
      svg,
      tree,
      nodes,
      failures,
    };
    const json = writeJson(o.jsonName ?? 'mesh.json', result);
    return { ...result, json };
  } finally {
    feed?.stop();
    await Promise.all(all.map((w) => w.stop()));
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function run(): Promise<void> {
  const o: MeshOptions = {
    buyers: Number(process.env.AXON_BENCH_MESH_BUYERS ?? 500),
    relays: Number(process.env.AXON_BENCH_MESH_RELAYS ?? 10),
    deepRelays: Number(process.env.AXON_BENCH_MESH_DEEP ?? 0),
    mode: process.env.AXON_BENCH_MESH_MODE === 'spread' ? 'spread' : 'redirect',
    originSlots: Number(process.env.AXON_BENCH_MESH_ORIGIN_SLOTS ?? 10),
    workers: Number(process.env.AXON_BENCH_MESH_WORKERS ?? 4),
    windowSec: Number(process.env.AXON_BENCH_MESH_SECONDS ?? 60),
    buysPerSec: Number(process.env.AXON_BENCH_MESH_BUYS_PER_SEC ?? 10),
    verbose: true,
  };
  const r = await runMesh(o);
  console.log('');
  console.log(r.tree);
  console.log('');
  const direct = r.depths.find((d) => d.depth === 1);
  console.log(`                       nodes   delivered      p50 ms   p99 ms   goal p99`);
  for (const d of r.depths) {
    const goal = direct ? 2 * direct.p99 + 10 * (d.depth - 1) : NaN;
    console.log(
      `  depth ${String(d.depth).padEnd(13)} ${String(d.nodes).padStart(5)}   ${((100 * d.delivered) / Math.max(1, d.expected)).toFixed(3).padStart(8)} %   ${f1(d.p50).padStart(7)}  ${f1(d.p99).padStart(7)}   ${d.depth === 1 ? '(direct)' : `≤ ${f1(goal)}`}`,
    );
  }
  console.log(
    `  frames delivered: ${(100 * r.deliveredShare).toFixed(3)} % overall, worst node ${(100 * r.minDeliveredShare).toFixed(2)} % (goal ≥ 99.9 % every buyer)`,
  );
  console.log(
    `  origin upload: ${(r.originUploadBytesPerSec / 1024).toFixed(1)} KiB/s = ${r.originUploadRatio.toFixed(2)} × the stream rate of ${STREAM_RATE / 1024} KiB/s (goal ≤ 11 ×)`,
  );
  console.log(
    `  Buy → first frame: p50 ${f1(r.buyToFirst.p50)} ms, p99 ${f1(r.buyToFirst.p99)} ms, max ${f1(r.buyToFirst.max)} ms over ${r.buyToFirst.n} buyers${r.buyToFirst.missing ? `, ${r.buyToFirst.missing} without a frame` : ''} (goal ≤ 3000 ms)`,
  );
  console.log(
    `    median ms after Buy: ${Object.entries(r.buySteps)
      .map(([k, v]) => `${k} ${f1(v)}`)
      .join(' → ')}`,
  );
  console.log(
    `  connections to the upstream: ${Object.entries(r.paths)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}`,
  );
  console.log(
    `  ${r.nodes.length} Axon nodes in ${r.processes} processes (nodes per worker: ${r.nodesPerProcess.join(', ')}; the ledger and the feeder in this one); load average ${r.loadavg.map((x) => x.toFixed(2)).join(' ')}`,
  );
  if (r.failures.length)
    console.log(`  failures (${r.failures.length}):\n    ${r.failures.slice(0, 20).join('\n    ')}`);
  console.log(`  tree: ${r.svg}\n  figures: ${r.json}`);
}
