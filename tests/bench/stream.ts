// `npm run bench -- stream`: the stream protocol /axon/stream/1.0.0, all figures from one run.
//  1. one-connection throughput vs a raw TCP socket on loopback (ratio; goal ≥ 0.5)
//  2. frame latency p50/p99 at 10 Hz and at 10 000 frames/s (goal p99 < 5 ms at 10 Hz)
//  3. fan-out of one 1 KiB / 10 Hz stream to 200 buyers: latency p99 (goal < 50 ms), seller CPU
//     (goal < 1 core) and peak memory per 100 buyers — the seller runs in its own process
//  4. click-to-first-frame on the local ledger (goal < 2 s)
// This file is also the seller child process of (3) when AXON_BENCH_ROLE=seller.
import { fork } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createLibp2p, type Libp2p } from 'libp2p';
import { noise } from '@libp2p/noise';
import { barChart, cdfChart } from './lib/chart';
import { axonTcp } from '../../src-main/core/net/tcp';
import { axonYamux } from '../../src-main/core/net/muxer';
import { multiaddr } from '@multiformats/multiaddr';
import { Identity, peerIdToAddress } from '../../src-main/core/identity/identity';
import { StreamHub } from '../../src-main/core/market/hub';
import { StreamServer } from '../../src-main/core/market/stream-server';
import { openStream } from '../../src-main/core/market/stream-client';

/** Stock js-libp2p behaviour or Axon's tuned TCP + yamux (net/tcp.ts, net/muxer.ts) for the nodes made next. */
let stockStack = false;
function useStockStack(stock: boolean): void {
  stockStack = stock;
}

const nowMs = (): number => performance.timeOrigin + performance.now();

async function node(): Promise<Libp2p> {
  return createLibp2p({
    privateKey: Identity.generate().privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [axonTcp({ coalesceWrites: !stockStack })],
    connectionEncrypters: [noise()],
    streamMuxers: [axonYamux({ windowUpdateHysteresis: !stockStack })],
    connectionManager: {
      maxConnections: 2000,
      inboundConnectionThreshold: 10_000,
      maxIncomingPendingConnections: 1000,
    },
  });
}

/** A seller: hub + stream server that lets every ticket in. */
async function seller(
  opts: { maxQueueFrames?: number } = {},
): Promise<{ n: Libp2p; hub: StreamHub; server: StreamServer }> {
  const n = await node();
  const hub = new StreamHub('bench', { replayFrames: 64 });
  const server = new StreamServer(
    n,
    async (_t, remote) =>
      peerIdToAddress(remote)
        ? { hub, format: 'application/octet-stream', deadline: () => Date.now() + 3_600_000 }
        : { refuse: { code: 'x', recover: 'abort', message: 'x' } },
    {
      keepAliveMs: 5000,
      maxQueueFrames: opts.maxQueueFrames ?? 256,
      maxQueueBytes: 64 * 1024 * 1024,
    },
  );
  await server.start();
  return { n, hub, server };
}

const pct = (xs: number[], p: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);

// ---------- 1. throughput ----------
async function rawTcpThroughput(ms: number, chunk: number): Promise<number> {
  const buf = Buffer.alloc(chunk, 7);
  let received = 0;
  const srv = createServer((s) => {
    let stop = false;
    setTimeout(() => (stop = true), ms);
    const pump = (): void => {
      while (!stop) if (!s.write(buf)) return void s.once('drain', pump);
      s.end();
    };
    pump();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const t0 = performance.now();
  const c = connect((srv.address() as AddressInfo).port, '127.0.0.1');
  c.on('data', (d: Buffer) => (received += d.length));
  await new Promise((r) => c.on('close', r));
  const sec = (performance.now() - t0) / 1000;
  srv.close();
  return received / sec;
}

/**
 * The same raw socket, but every 64 KiB record sealed with ChaCha20-Poly1305 (Node's OpenSSL, the
 * AEAD Noise uses) and opened again on the other end: no framing, no muxer, nothing else. No
 * encrypted stream in this process can beat it, so it is the honest ceiling for the ratio.
 */
async function aeadTcpThroughput(ms: number): Promise<number> {
  const RECORD = 65535 - 16; // Noise's largest plaintext
  const key = randomBytes(32);
  const plain = Buffer.alloc(RECORD, 7);
  let received = 0;
  let nonceOut = 0n;
  const nonce = (n: bigint): Buffer => {
    const b = Buffer.alloc(12);
    b.writeBigUInt64LE(n, 4);
    return b;
  };
  const srv = createServer((s) => {
    let stop = false;
    setTimeout(() => (stop = true), ms);
    const pump = (): void => {
      while (!stop) {
        const c = createCipheriv('chacha20-poly1305', key, nonce(nonceOut++), { authTagLength: 16 });
        const body = c.update(plain);
        c.final();
        s.cork();
        s.write(body);
        const more = s.write(c.getAuthTag());
        s.uncork();
        if (!more) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const t0 = performance.now();
  const c = connect((srv.address() as AddressInfo).port, '127.0.0.1');
  const SEALED = RECORD + 16;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let nonceIn = 0n;
  const open = (rec: Buffer): void => {
    const d = createDecipheriv('chacha20-poly1305', key, nonce(nonceIn++), { authTagLength: 16 });
    d.setAuthTag(rec.subarray(RECORD));
    d.update(rec.subarray(0, RECORD));
    d.final();
    received += RECORD;
  };
  c.on('data', (d: Buffer) => {
    pending.push(d);
    pendingBytes += d.length;
    if (pendingBytes < SEALED) return;
    let all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    while (all.length >= SEALED) {
      open(all.subarray(0, SEALED));
      all = all.subarray(SEALED);
    }
    pending = all.length ? [all] : [];
    pendingBytes = all.length;
  });
  await new Promise((r) => c.on('close', r));
  const sec = (performance.now() - t0) / 1000;
  srv.close();
  return received / sec;
}

async function protocolThroughput(ms: number, chunk: number): Promise<number> {
  const s = await seller({ maxQueueFrames: 64 });
  const b = await node();
  const session = await openStream(b, s.n.getMultiaddrs(), { requestId: 'bench-throughput', streamId: 'bench' });
  let received = 0;
  session.on('frame', (f) => (received += f.payload.length));
  const payload = new Uint8Array(chunk).fill(7);
  const sub = [...s.hub.subscribers][0]!;
  const t0 = performance.now();
  // publish with backpressure: keep the subscriber's queue short, never drop
  while (performance.now() - t0 < ms) {
    if (sub.length < 16) s.hub.publish(payload);
    else await new Promise((r) => setImmediate(r));
  }
  while (sub.length > 0) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
  const sec = (performance.now() - t0) / 1000;
  await session.close();
  await s.server.stop();
  await Promise.all([s.n.stop(), b.stop()]);
  return received / sec;
}

// ---------- 2. latency ----------
async function latency(
  rateHz: number,
  seconds: number,
  size = 256,
): Promise<{ p50: number; p99: number; n: number; dropped: number }> {
  const s = await seller({ maxQueueFrames: 100_000 });
  const b = await node();
  const session = await openStream(b, s.n.getMultiaddrs(), { requestId: 'bench-latency', streamId: 'bench' });
  const lat: number[] = [];
  session.on('frame', (f) => lat.push(nowMs() - new DataView(f.payload.buffer, f.payload.byteOffset).getFloat64(0)));
  const payload = new Uint8Array(size);
  const dv = new DataView(payload.buffer);
  const t0 = performance.now();
  let sent = 0;
  const total = rateHz * seconds;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rateHz) + 1);
      while (sent < due) {
        dv.setFloat64(0, nowMs());
        s.hub.publish(payload.slice());
        sent++;
      }
      if (sent >= total) return resolve();
      if (rateHz >= 1000) setImmediate(tick);
      else setTimeout(tick, Math.max(0, (sent / rateHz) * 1000 - (performance.now() - t0)));
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 200));
  const dropped = session.gaps;
  await session.close();
  await s.server.stop();
  await Promise.all([s.n.stop(), b.stop()]);
  return { p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length, dropped };
}

// ---------- 3. fan-out (seller in its own process) ----------
async function sellerChild(): Promise<void> {
  useStockStack(process.env.AXON_BENCH_STOCK === '1');
  const s = await seller();
  const payload = new Uint8Array(1024);
  const dv = new DataView(payload.buffer);
  let timer: NodeJS.Timeout | null = null;
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  let peakRss = process.memoryUsage().rss;
  const mem = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'start') {
      timer = setInterval(() => {
        dv.setFloat64(0, nowMs());
        s.hub.publish(payload.slice());
      }, 100);
    } else if (m.cmd === 'mark') {
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
      peakRss = process.memoryUsage().rss;
      process.send!({ ev: 'marked', rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed });
    } else if (m.cmd === 'report') {
      const c = process.cpuUsage(cpu0);
      const wall = performance.now() - wall0;
      process.send!({
        ev: 'report',
        cores: (c.user + c.system) / 1000 / wall,
        rss: process.memoryUsage().rss,
        peakRss,
        subscribers: s.hub.subscribers.size,
        heap: process.memoryUsage().heapUsed,
      });
    } else if (m.cmd === 'exit') {
      if (timer) clearInterval(timer);
      clearInterval(mem);
      void s.server
        .stop()
        .then(() => s.n.stop())
        .then(() => process.exit(0));
    }
  });
  process.send!({ ev: 'ready', addrs: s.n.getMultiaddrs().map(String), rss: process.memoryUsage().rss });
}

interface FanOutResult {
  lat: number[];
  p50: number;
  p99: number;
  frames: number;
  cores: number;
  subscribers: number;
  mbPer100: number;
  dropped: number;
  buyerCores: number;
}

async function fanOut(buyers: number, seconds: number, stock = false): Promise<FanOutResult> {
  useStockStack(stock);
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, AXON_BENCH_ROLE: 'seller', AXON_BENCH_STOCK: stock ? '1' : '0' },
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.AXON_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.AXON_BENCH_PROF}`] : []),
    ],
  });
  const next = (ev: string): Promise<Record<string, unknown>> =>
    new Promise((r) => {
      const on = (m: Record<string, unknown>): void => {
        if (m.ev === ev) {
          child.off('message', on);
          r(m);
        }
      };
      child.on('message', on);
    });
  const ready = await next('ready');
  const addrs = (ready.addrs as string[]).map((a) => multiaddr(a));
  const baseline = ready.rss as number;
  // buyers: one libp2p node per buyer, all in this process
  const nodes: Libp2p[] = [];
  for (let i = 0; i < buyers; i += 20)
    nodes.push(...(await Promise.all(Array.from({ length: Math.min(20, buyers - i) }, () => node()))));
  const lat: number[] = [];
  let measuring = false;
  const sessions = [];
  for (let i = 0; i < buyers; i += 20) {
    sessions.push(
      ...(await Promise.all(
        nodes
          .slice(i, i + 20)
          .map((n, j) =>
            openStream(n, addrs, { requestId: `bench-fan-${i + j}`, streamId: 'bench', welcomeTimeoutMs: 60_000 }),
          ),
      )),
    );
  }
  for (const s of sessions) {
    s.on('frame', (f) => {
      if (measuring) lat.push(nowMs() - new DataView(f.payload.buffer, f.payload.byteOffset).getFloat64(0));
    });
  }
  child.send({ cmd: 'start' });
  await new Promise((r) => setTimeout(r, 1000));
  child.send({ cmd: 'mark' });
  await next('marked');
  measuring = true;
  const buyerCpu0 = process.cpuUsage();
  const buyerWall0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const bc = process.cpuUsage(buyerCpu0);
  const buyerCores = (bc.user + bc.system) / 1000 / (performance.now() - buyerWall0);
  child.send({ cmd: 'report' });
  const rep = await next('report');
  const dropped = sessions.reduce((a, s) => a + s.gaps, 0);
  child.send({ cmd: 'exit' });
  await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
  await Promise.all(nodes.map((n) => n.stop()));
  return {
    lat,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    frames: lat.length,
    cores: rep.cores as number,
    subscribers: rep.subscribers as number,
    mbPer100: (((rep.peakRss as number) - baseline) / 1024 / 1024) * (100 / buyers),
    dropped,
    buyerCores,
  };
}

// ---------- 4. click-to-first-frame on the local ledger ----------
async function clickToFirstFrame(): Promise<{ firstFrameMs: number; firstPaymentMs: number } | null> {
  let helpers;
  try {
    helpers = await import('../integration/market-helpers');
  } catch {
    return null;
  }
  const l = await helpers.startLedger();
  const s = await helpers.startNode(l.ledger, { airdrop: 1_000_000_000n, timing: { periodSec: 60, graceSec: 15 } });
  const b = await helpers.startNode(l.ledger, { airdrop: 1_000_000_000n, timing: { periodSec: 60, graceSec: 15 } });
  try {
    await s.node.sell({ streamId: 'adsb', title: 'Aircraft', source: { kind: 'adsb' }, priceDirect: 60_000n });
    const id = `${s.node.identity.address}:adsb`;
    await helpers.waitFor(() => b.node.listings().find((x) => x.id === id), 20_000, 'listing');
    const t0 = performance.now();
    let first = 0;
    let paid = 0;
    b.node.once('frame', () => (first = performance.now() - t0));
    b.node.once('payment', () => (paid = performance.now() - t0));
    const p = await b.node.buy(id, { minutes: 5 });
    await helpers.waitFor(() => first > 0 && paid > 0, 30_000, 'first frame');
    await b.node.stop(p.id);
    return { firstFrameMs: first, firstPaymentMs: paid };
  } finally {
    await b.cleanup();
    await s.cleanup();
    await l.cleanup();
  }
}

export default async function run(): Promise<void> {
  // AXON_BENCH_PARTS=throughput,latency,fanout,click runs only those parts (default: all)
  const parts = new Set((process.env.AXON_BENCH_PARTS ?? 'throughput,latency,fanout,click').split(','));
  if (parts.has('throughput')) await throughputPart();
  if (parts.has('latency')) await latencyPart();
  if (parts.has('fanout')) await fanOutPart();
  if (parts.has('click')) await clickPart();
}

async function throughputPart(): Promise<void> {
  const CHUNK = 64 * 1024;
  const MS = 1500;
  const ROUNDS = 3;
  // interleaved rounds, median of each: this machine's loopback speed drifts by ±30 % over
  // minutes, so every figure is compared with a raw socket measured moments before it
  const runs = { raw: [] as number[], aead: [] as number[], stock: [] as number[], axon: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    runs.raw.push(await rawTcpThroughput(MS, CHUNK));
    runs.aead.push(await aeadTcpThroughput(MS));
    useStockStack(true);
    runs.stock.push(await protocolThroughput(MS, CHUNK));
    useStockStack(false);
    runs.axon.push(await protocolThroughput(MS, CHUNK));
  }
  const big = await protocolThroughput(2000, 1024 * 1024);
  const med = (xs: number[]): number => pct(xs, 50);
  const raw = med(runs.raw);
  const aead = med(runs.aead);
  const proto = med(runs.axon);
  console.log(
    `throughput (one connection, loopback, both ends in this process; median of ${ROUNDS} interleaved rounds)`,
  );
  console.log(`                                              MB/s   ratio to raw TCP`);
  const row = (name: string, v: number, note = ''): void =>
    console.log(`  ${name.padEnd(42)} ${f1(v / 1e6).padStart(6)}   ${f2(v / raw)}${note}`);
  row('raw TCP socket, 64 KiB writes', raw);
  row('ceiling: raw TCP + ChaCha20-Poly1305 records', aead, '   (no framing, no muxer: no encrypted stream beats it)');
  row('/axon/stream, 64 KiB, stock Noise + yamux', med(runs.stock));
  row('/axon/stream, 64 KiB frames', proto, `   (goal ≥ 0.5; ${f2(proto / aead)} of the ceiling)`);
  row('/axon/stream, 1 MiB frames', big);
  const chart = barChart('stream-throughput.svg', 'one-connection throughput (MB/s, medians, one run)', 'MB/s', [
    { label: 'raw TCP socket', value: raw / 1e6 },
    { label: 'ceiling: raw TCP + ChaCha20-Poly1305', value: aead / 1e6 },
    { label: '/axon/stream 64 KiB, stock Noise + yamux', value: med(runs.stock) / 1e6 },
    { label: '/axon/stream 64 KiB', value: proto / 1e6 },
    { label: '/axon/stream 1 MiB', value: big / 1e6 },
  ]);
  console.log(`  chart: ${chart}`);
}

async function latencyPart(): Promise<void> {
  const l10 = await latency(10, 5);
  console.log(`latency at 10 Hz        p50 ${f2(l10.p50)} ms  p99 ${f2(l10.p99)} ms  (n=${l10.n}; goal p99 < 5 ms)`);
  const l10k = await latency(10_000, 2);
  console.log(
    `latency at 10 000 fps   p50 ${f2(l10k.p50)} ms  p99 ${f2(l10k.p99)} ms  (n=${l10k.n}, lost ${l10k.dropped})`,
  );
}

async function fanOutPart(): Promise<void> {
  const buyers = Number(process.env.AXON_BENCH_BUYERS ?? 200);
  // baseline in the same run: js-yamux as published (a window update for every frame received)
  const stock = await fanOut(buyers, 5, true);
  const fo = await fanOut(buyers, 5);
  console.log(
    `fan-out 1 KiB @ 10 Hz to ${fo.subscribers} buyers (seller in its own process; the ${buyers} buyer nodes share one other process, so their receive path is in the latency)`,
  );
  console.log(`                        p50 ms   p99 ms   seller cores   buyers' cores   MB/100 buyers   frames   lost`);
  const row = (name: string, r: FanOutResult): void =>
    console.log(
      `  ${name.padEnd(20)} ${f2(r.p50).padStart(7)}  ${f2(r.p99).padStart(7)}   ${f2(r.cores).padStart(12)}   ${f2(r.buyerCores).padStart(13)}   ${f1(r.mbPer100).padStart(13)}   ${String(r.frames).padStart(6)}   ${r.dropped}`,
    );
  row('stock Noise + yamux', stock);
  row('Axon net stack', fo);
  console.log(
    `  Axon: p99 ${f2(fo.p99)} ms (goal < 50 ms), seller ${f2(fo.cores)} cores (goal < 1), ${f1(fo.mbPer100)} MB per 100 buyers; vs stock: p99 ×${f2(fo.p99 / stock.p99)}, seller CPU ×${f2(fo.cores / stock.cores)}`,
  );
  const chart = cdfChart('stream-fanout-latency.svg', `fan-out latency, ${buyers} buyers × 1 KiB @ 10 Hz (one run)`, [
    { label: `stock Noise + yamux (p99 ${f1(stock.p99)} ms)`, values: stock.lat },
    { label: `Axon net stack (p99 ${f1(fo.p99)} ms)`, values: fo.lat },
  ]);
  console.log(`  chart: ${chart}`);
}

async function clickPart(): Promise<void> {
  const c = await clickToFirstFrame().catch((e) => {
    console.log(`click-to-first-frame: failed (${(e as Error).message})`);
    return null;
  });
  if (c)
    console.log(
      `click-to-first-frame on the local ledger: ${f1(c.firstFrameMs)} ms (first payment confirmed at ${f1(c.firstPaymentMs)} ms; goal < 2000 ms)`,
    );
}

if (process.env.AXON_BENCH_ROLE === 'seller') void sellerChild();
