// Runs in: Node (`axon serve`, `npm start`, Electron main). The demo seller of a first start: when
// the host runs the embedded local ledger, a second node in this process (its own data dir and
// identity, file key store) sells the built-in aircraft and weather streams, so that Browse has
// listings and Buy works at once. Nothing here is real money: the local ledger airdrops.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AxonNode, type AxonNodeOptions } from '../core/node';
import { openIdentity } from '../core/identity/keystore';
import type { Logger } from '../core/log';
import type { SellOptions } from '../core/market/seller';

const SOL = 1_000_000_000n;
/** The demo seller's funds for listing fees (airdropped on the local ledger when below a quarter). */
const DEMO_SELLER_FUNDS = 2n * SOL;

export const DEMO_STREAMS: SellOptions[] = [
  {
    streamId: 'demo-aircraft',
    title: 'Demo: aircraft around Frankfurt (synthetic ADS-B)',
    description: 'Built-in demo feed: positions of 8 synthetic aircraft, 10 updates a second, JSON.',
    tags: ['demo', 'aircraft', 'adsb'],
    source: { kind: 'adsb' },
    priceDirect: 60_000n, // lamports per minute: 10 000 per 10 s period
    priceRelay: 30_000n,
    periodSec: 10,
    graceSec: 5,
    region: 'EDDF',
  },
  {
    streamId: 'demo-weather',
    title: 'Demo: weather stations (synthetic)',
    description: 'Built-in demo feed: temperature, wind and pressure readings of synthetic stations, JSON.',
    tags: ['demo', 'weather'],
    source: { kind: 'weather' },
    priceDirect: 30_000n,
    priceRelay: 15_000n,
    periodSec: 10,
    graceSec: 5,
  },
];

export interface DemoSellerOptions {
  dataDir: string;
  ledger: { rpcUrl: string; wsUrl?: string };
  log: Logger;
  timing?: AxonNodeOptions['timing'];
  net?: AxonNodeOptions['net'];
}

/** The demo seller's node: its own identity in a key file in its own data dir (never the user's). */
async function openDemoNode(o: DemoSellerOptions): Promise<AxonNode> {
  const log = o.log.child({ demo: 'seller' });
  const { identity } = openIdentity({ dataDir: o.dataDir, store: 'file', log });
  return AxonNode.start({
    dataDir: o.dataDir,
    identity,
    ledger: o.ledger,
    log,
    endpoint: false,
    ...(o.timing ? { timing: o.timing } : {}),
    // everything is on this machine: announce loopback so the host's node reaches it
    net: { announceFilter: { allowLoopback: true }, ...o.net },
  });
}

/** Start the demo seller node, fund it and (re)publish the demo streams. */
export async function startDemoSeller(o: DemoSellerOptions): Promise<AxonNode> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  rmSync(join(o.dataDir, RETIRED), { force: true });
  const node = await openDemoNode(o);
  try {
    if ((await node.ledger.balance()) < DEMO_SELLER_FUNDS / 4n) await node.airdrop(DEMO_SELLER_FUNDS);
    for (const s of DEMO_STREAMS) await node.sell(s);
  } catch (e) {
    await node.shutdown();
    throw e;
  }
  return node;
}

/** Marker in the demo seller's data dir: its listings were delisted after a start with --no-demo. */
const RETIRED = 'retired';

/**
 * A start with --no-demo after one with the demo: delist the demo streams once (the demo seller's
 * node starts just long enough to post the Delists), so Browse stops showing streams nobody
 * serves instead of showing them until their TTL. Returns how many were delisted.
 */
export async function retireDemoSeller(o: DemoSellerOptions): Promise<number> {
  if (!existsSync(join(o.dataDir, 'identity.json'))) return 0; // never ran here
  if (existsSync(join(o.dataDir, RETIRED))) return 0;
  const node = await openDemoNode(o);
  let n = 0;
  try {
    const own = new Set(node.ownStreams().map((s) => s.offer.streamId));
    for (const { streamId } of DEMO_STREAMS) {
      if (!streamId || !own.has(streamId)) continue;
      await node.unsell(streamId);
      n++;
    }
  } finally {
    await node.shutdown();
  }
  writeFileSync(join(o.dataDir, RETIRED), `${new Date().toISOString()}\n`);
  return n;
}
