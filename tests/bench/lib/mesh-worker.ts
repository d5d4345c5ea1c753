// One worker process of `npm run bench -- mesh` (tests/bench/mesh.ts forks it): hosts many real
// Axon nodes (AxonNode: its own identity, SQLite, libp2p node and ledger watchers, default
// settings, on loopback) and drives them as a user would: sell, rebroadcast, Buy. Each node's
// frames are timed on arrival: the payload carries the feeder's send time (float64 ms, wall
// clock shared by every process of the machine) and the frame's index (uint32).
// Commands arrive over IPC ({ id, cmd, arg }); each gets one { ev: 'reply', id, result | error }.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxonNode } from '../../../src-main/core/node';
import { Identity, addressToPeerId } from '../../../src-main/core/identity/identity';
import { createLogger } from '../../../src-main/core/log';
import type { SellOptions } from '../../../src-main/core/market/offers';

export const nowMs = (): number => performance.timeOrigin + performance.now();

/** The feeder's payload header: send time (float64 ms) then the frame index (uint32). */
export const HEADER_BYTES = 12;
/** Frame indices a worker keeps arrival times for (10 Hz × 1 h). */
export const MAX_FRAMES = 36_000;

export interface WorkerConfig {
  rpcUrl: string;
  wsUrl: string;
  label: string;
}

export interface NodeReport {
  address: string;
  role: 'origin' | 'rebroadcaster' | 'buyer';
  /** The seller the node's purchase streams from (its upstream in the tree); null for the origin. */
  upstream: string | null;
  purchaseId: string | null;
  /** The listing the purchase streams (after any redirect). */
  listingId: string | null;
  purchaseState: string | null;
  reason: string | null;
  /** ms from the Buy call to the first frame; null = no frame. */
  buyToFirstMs: number | null;
  /** Frames of the window [from, to] that arrived, and how many the window holds. */
  delivered: number;
  expected: number;
  /** Arrival latency (ms) of every frame of the window that arrived. */
  lat: number[];
  /** Raw bytes this node's connections sent in the window (its upload). */
  uploadBytes: number;
  /** The same per second of the window as this worker timed it. */
  uploadBytesPerSec: number;
  /** The purchase's states after Buy: [state, ms after the Buy call]. */
  steps: [string, number][];
  /** How the node is connected to its upstream (direct / hole-punched / relayed, and its remote address). */
  upstreamPath: string | null;
  /** What it sold (origin, rebroadcasters): each sale's buyer, state, reason and lamports earned. */
  sales: { buyer: string; state: string; reason: string | null; earned: string }[];
}

interface Hosted {
  node: AxonNode;
  dir: string;
  role: NodeReport['role'];
  purchaseId: string | null;
  upstream: string | null;
  tBuy: number;
  tFirst: number | null;
  /** Arrival latency per frame index (NaN = not arrived). */
  lat: Float32Array;
  upload0: number;
  upload1: number;
}

const cfg = JSON.parse(process.env.AXON_MESH_WORKER ?? '{}') as WorkerConfig;
const hosted: Hosted[] = [];
/** Errors nothing caught (uncaught exceptions, unhandled rejections) in this process. */
const crashes: string[] = [];
/** The measurement window as this process timed it (ms). */
let markAt = 0;
let markEndAt = 0;
let prof: Session | null = null;
const log = process.env.AXON_TEST_LOG ? createLogger({ level: process.env.AXON_TEST_LOG }) : undefined;

function uploadOf(h: Hosted): number {
  return h.node.status().peers.reduce((a, p) => a + p.bytesOut, 0);
}

async function startNodes(count: number, airdrop: bigint): Promise<string[]> {
  const out: string[] = [];
  // a few at a time: each start reads the market topic back and opens its own SQLite
  for (let i = 0; i < count; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'axon-meshbench-'));
        const node = await AxonNode.start({
          dataDir: dir,
          identity: Identity.generate(),
          ledger: { rpcUrl: cfg.rpcUrl, wsUrl: cfg.wsUrl },
          net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
          endpoint: false,
          ...(log ? { log } : {}),
        });
        if (airdrop > 0n) await node.airdrop(airdrop);
        const h: Hosted = {
          node,
          dir,
          role: 'buyer',
          purchaseId: null,
          upstream: null,
          tBuy: 0,
          tFirst: null,
          lat: new Float32Array(MAX_FRAMES).fill(NaN),
          upload0: 0,
          upload1: 0,
        };
        node.on('frame', (f) => {
          const t = nowMs();
          if (f.purchaseId !== h.purchaseId || f.payload.length < HEADER_BYTES) return;
          const dv = new DataView(f.payload.buffer, f.payload.byteOffset, HEADER_BYTES);
          const idx = dv.getUint32(8);
          if (h.tFirst === null) h.tFirst = t;
          if (idx < MAX_FRAMES && Number.isNaN(h.lat[idx]!)) h.lat[idx] = t - dv.getFloat64(0);
        });
        return h;
      }),
    );
    hosted.push(...batch);
    out.push(...batch.map((h) => h.node.identity.address));
  }
  return out;
}

async function waitListing(h: Hosted, listingId: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!h.node.listings({ includeOwn: false }).some((l) => l.id === listingId && l.healthy)) {
    if (Date.now() > end) throw new Error(`${h.node.identity.address}: listing ${listingId} not seen in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Handler = (arg: never) => Promise<unknown>;
const handlers: Record<string, Handler> = {
  start: async (a: { count: number; airdrop: string }) => startNodes(a.count, BigInt(a.airdrop)),
  sell: async (a: { i: number; offer: Omit<SellOptions, 'priceDirect' | 'priceRelay'> & Record<string, unknown> }) => {
    const h = hosted[a.i]!;
    h.role = 'origin';
    const o = { ...a.offer } as Record<string, unknown>;
    for (const k of ['priceDirect', 'priceRelay']) if (typeof o[k] === 'string') o[k] = BigInt(o[k]);
    const offer = await h.node.sell(o as SellOptions);
    return `${h.node.identity.address}:${offer.streamId}`;
  },
  rebroadcast: async (a: { i: number; listingId: string; price: string; capacity: number; minutes: number }) => {
    const h = hosted[a.i]!;
    h.role = 'rebroadcaster';
    await waitListing(h, a.listingId, 60_000);
    h.tBuy = nowMs();
    const r = await h.node.rebroadcast(a.listingId, {
      price: BigInt(a.price),
      capacity: a.capacity,
      minutes: a.minutes,
    });
    h.purchaseId = r.purchase.id;
    h.upstream = r.purchase.seller;
    return `${h.node.identity.address}:${r.offer.streamId}`;
  },
  /** A user clicks Buy on `listingId` once it shows in the node's catalog. */
  buy: async (a: { i: number; listingId: string; minutes: number }) => {
    const h = hosted[a.i]!;
    h.role = 'buyer';
    await waitListing(h, a.listingId, 60_000);
    h.tBuy = nowMs();
    const p = await h.node.buy(a.listingId, { minutes: a.minutes });
    h.purchaseId = p.id;
    h.upstream = p.seller;
    return p.id;
  },
  /** Node `i` sees every listing of `ids` live and healthy (e.g. the origin, its rebroadcasts). */
  seen: async (a: { i: number; ids: string[]; ms: number }) => {
    for (const id of a.ids) await waitListing(hosted[a.i]!, id, a.ms);
    return true;
  },
  /** How many hosted nodes have their first frame. */
  progress: async () => hosted.filter((h) => h.tFirst !== null).length,
  /** Start of the measurement window: upload counters from now. */
  mark: async () => {
    for (const h of hosted) h.upload0 = uploadOf(h);
    markAt = nowMs();
    return true;
  },
  /** End of the measurement window: upload counters until now. */
  markEnd: async () => {
    for (const h of hosted) h.upload1 = uploadOf(h);
    markEndAt = nowMs();
    return true;
  },
  report: async (a: { from: number; to: number }) =>
    hosted.map((h): NodeReport => {
      const lat: number[] = [];
      for (let k = a.from; k <= a.to && k < MAX_FRAMES; k++) if (!Number.isNaN(h.lat[k]!)) lat.push(h.lat[k]!);
      const p = h.purchaseId ? h.node.purchase(h.purchaseId) : undefined;
      return {
        listingId: p?.listingId ?? null,
        address: h.node.identity.address,
        role: h.role,
        // the seller the purchase streams from now (a full seller's redirect moves it)
        upstream: p?.seller ?? h.upstream,
        purchaseId: h.purchaseId,
        purchaseState: p?.state ?? null,
        reason: p?.reason ?? null,
        buyToFirstMs: h.tFirst === null ? null : h.tFirst - h.tBuy,
        delivered: lat.length,
        expected: a.to - a.from + 1,
        lat,
        uploadBytes: h.upload1 - h.upload0,
        uploadBytesPerSec: ((h.upload1 - h.upload0) * 1000) / Math.max(1, markEndAt - markAt),
        upstreamPath: (() => {
          const up = p?.seller ?? h.upstream;
          const id = up ? addressToPeerId(up).toString() : null;
          const peer = h.node.status().peers.find((x) => x.peer === id);
          return peer?.path ? `${peer.path.kind} ${peer.path.remoteAddr}` : null;
        })(),
        steps: h.purchaseId
          ? h.node.history('purchase', h.purchaseId).map((t) => [t.to, Math.round(t.at - h.tBuy)] as [string, number])
          : [],
        sales: h.node
          .sales({ limit: 10_000 })
          .map((x) => ({ buyer: x.buyer, state: x.state, reason: x.reason, earned: x.earned.toString() })),
      };
    }),
  crashes: async () => crashes,
  /** CPU profile of this process (AXON_BENCH_MESH_PROFILE=DIR): start, then stop and write DIR/<label>-<what>.cpuprofile. */
  profStart: async () => {
    prof ??= new Session();
    prof.connect();
    await prof.post('Profiler.enable');
    await prof.post('Profiler.start');
    return true;
  },
  profStop: async (a: { dir: string; what: string }) => {
    if (!prof) return false;
    const { profile } = await prof.post('Profiler.stop');
    const file = join(a.dir, `${cfg.label}-${a.what}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    prof.disconnect();
    prof = null;
    return file;
  },
  usage: async () => ({ rss: process.memoryUsage().rss, cpu: process.cpuUsage() }),
  stop: async () => {
    await Promise.all(hosted.map((h) => h.node.shutdown().catch(() => undefined)));
    for (const h of hosted) rmSync(h.dir, { recursive: true, force: true });
    return true;
  },
};

// only as a forked worker (mesh.ts imports this file for its types and nowMs)
if (process.env.AXON_MESH_WORKER && process.send) {
  // An error no node code caught is a defect of the product: say it (the bench lists it among its
  // failures) and keep the other nodes of this process running, as other users' apps would.
  const onCrash = (e: unknown): void => {
    const msg = (e as Error)?.stack ?? String(e);
    process.stderr.write(`${cfg.label}: uncaught: ${msg}\n`);
    crashes.push(`${cfg.label}: uncaught: ${(e as Error)?.message ?? String(e)}`);
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  process.on('message', (m: { id: number; cmd: string; arg?: unknown }) => {
    const h = handlers[m.cmd];
    if (!h) return void process.send!({ ev: 'reply', id: m.id, error: `unknown command ${m.cmd}` });
    h(m.arg as never).then(
      (result) => process.send!({ ev: 'reply', id: m.id, result }),
      (e: Error) => process.send!({ ev: 'reply', id: m.id, error: `${cfg.label}: ${e.message}` }),
    );
  });
  process.send!({ ev: 'ready' });
}
