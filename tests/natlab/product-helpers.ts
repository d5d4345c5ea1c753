// Runs in: Node (test harness, root). The product path through the NAT lab: real Axon nodes
// (product-peer.ts, the AxonNode behind `axon sell` / `axon buy`) with default settings, one local
// ledger on a public lab host, signaling only over that ledger. One scenario = a seller and a buyer
// on two lab hosts; the buyer clicks Buy; the row says connected, path, Buy → first frame, paid.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabHost, LabProcess, NatLab } from './lab';
import { REPO_ROOT, expectedNat } from './lab';
import { labelOf } from './scenarios-helpers';

export const PRODUCT_PEER = join(REPO_ROOT, 'tests/natlab/product-peer.ts');

export interface ProductRow {
  scenario: string;
  /** NAT kind the lab built per side (seller, buyer) and what the node's verdict said. */
  verdicts: { peer: string; expected: string; detected: string | null }[];
  connected: boolean;
  path: string | null;
  /** Paths this NAT pair allows (the goal: direct or punched wherever it can be). */
  expectedPath: string[];
  /** The buyer's click → first frame on the buyer, ms. */
  buyToFirstFrameMs: number | null;
  /** The first period was paid (the payment sent and the seller verified it). */
  paid: boolean;
  note: string;
}

interface Ev {
  event: string;
  [k: string]: unknown;
}

let seq = 0;

export function spawnProduct(
  lab: NatLab,
  host: LabHost,
  rpcUrl: string,
  role: 'seller' | 'buyer' | 'public',
  extra: string[] = [],
): LabProcess {
  const dir = join(lab.tmpDir, `axon-${host.name}-${role}-${++seq}`);
  return lab.spawnNode(host, PRODUCT_PEER, ['--data-dir', dir, '--rpc', rpcUrl, '--role', role, ...extra], {
    label: `${host.name}:${role}`,
    env: { AXON_KEYSTORE: 'file', AXON_LOG_LEVEL: process.env.AXON_LOG_LEVEL ?? 'warn' },
  });
}

const natLabel = (n: { mapping?: string; filtering?: string | null } | undefined): string | null =>
  n?.mapping === undefined ? null : labelOf({ ...n, mapping: n.mapping });

/** Optional steps around a pair's purchase (both processes are alive in each). */
export interface PairHooks {
  /** After both nodes are up and have a NAT verdict, before the Buy. */
  beforeBuy?(seller: LabProcess, buyer: LabProcess): Promise<void>;
  /** After the purchase connected or failed, before both are stopped. */
  after?(seller: LabProcess, buyer: LabProcess): Promise<void>;
}

/** One purchase between a seller on `sellerHost` and a buyer on `buyerHost`. */
export async function runProductPair(
  lab: NatLab,
  rpcUrl: string,
  scenario: string,
  sellerHost: LabHost,
  buyerHost: LabHost,
  expectedPath: string[],
  expectedLabels?: [string, string],
  hooks: PairHooks = {},
): Promise<ProductRow> {
  const seller = spawnProduct(lab, sellerHost, rpcUrl, 'seller');
  const buyer = spawnProduct(lab, buyerHost, rpcUrl, 'buyer');
  const last = new Map<LabProcess, Ev>();
  const natOf = (p: LabProcess): { mapping?: string; filtering?: string | null } | undefined => {
    const n = p.jsonSoFar<Ev>().filter((e) => e.event === 'nat');
    return n.length ? (n[n.length - 1]!.nat as { mapping: string; filtering: string | null }) : undefined;
  };
  try {
    const listed = await seller.waitForJson<Ev>((e) => e.event === 'listed' || e.event === 'error', 120_000);
    if (listed.event === 'error') throw new Error(`seller: ${String(listed.error)}`);
    await buyer.waitForJson<Ev>((e) => e.event === 'funded', 120_000);
    // a user clicks Buy once the app is up: give both nodes the time to reach a NAT verdict
    await Promise.all(
      [seller, buyer].map((p) => p.waitForJson<Ev>((e) => e.event === 'nat', 20_000).catch(() => undefined)),
    );
    await hooks.beforeBuy?.(seller, buyer);
    buyer.send({ cmd: 'buy', listingId: listed.listingId });
    const end = await buyer.waitForJson<Ev>(
      (e) =>
        e.event === 'first-frame' ||
        e.event === 'error' ||
        (e.event === 'purchase' && ['failed', 'ended', 'rejected'].includes(String(e.state))),
      120_000,
    );
    last.set(buyer, end);
    let paid = false;
    if (end.event === 'first-frame') {
      paid = await buyer
        .waitForJson<Ev>((e) => e.event === 'paid' && e.state !== 'failed', 60_000)
        .then(() => true)
        .catch(() => false);
      // the seller verified the payment on the ledger
      if (paid)
        paid = await seller
          .waitForJson<Ev>((e) => e.event === 'sale' && /paid through period 0/.test(String(e.reason)), 60_000)
          .then(() => true)
          .catch(() => false);
    } else {
      buyer.send({ cmd: 'attempts' });
      await buyer.waitForJson<Ev>((e) => e.event === 'attempts', 5000).catch(() => undefined);
    }
    await hooks.after?.(seller, buyer);
    const conn = buyer.jsonSoFar<Ev>().find((e) => e.event === 'connection');
    const attempts = buyer.jsonSoFar<Ev>().find((e) => e.event === 'attempts')?.attempts as
      { method: string; outcome: string; error?: string; addresses?: string[] }[] | undefined;
    const expected = expectedLabels ?? [expectedNat(sellerHost).label, expectedNat(buyerHost).label];
    return {
      scenario,
      verdicts: [
        { peer: `seller ${sellerHost.name}`, expected: expected[0], detected: natLabel(natOf(seller)) },
        { peer: `buyer ${buyerHost.name}`, expected: expected[1], detected: natLabel(natOf(buyer)) },
      ],
      connected: end.event === 'first-frame',
      path: end.event === 'first-frame' ? String(end.path ?? conn?.path ?? '?') : null,
      expectedPath,
      buyToFirstFrameMs: end.event === 'first-frame' ? Number(end.ms) : null,
      paid,
      note:
        end.event === 'first-frame'
          ? `ladder ${String(conn?.elapsedMs ?? '?')} ms`
          : `${String(end.reason ?? end.error ?? end.state)}${attempts ? ` [${attempts.map((a) => `${a.method}:${a.outcome}${a.method === 'hole-punch' ? `(${(a.addresses ?? []).join(' ')})` : ''}`).join(', ')}]` : ''}`,
    };
  } finally {
    await Promise.all([seller.kill('SIGTERM', 3000), buyer.kill('SIGTERM', 3000)]);
  }
}

/** Run `jobs` with at most `n` at a time (the lab's namespaces are independent; the CPU is not). */
export async function pool<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

export const rowOk = (r: ProductRow): boolean => r.connected && r.paid && r.expectedPath.includes(r.path ?? '');

/** Markdown table + one grep-able JSON line (PRODUCT_MATRIX_JSON); the JSON also to `jsonFile`. */
export function printProductMatrix(rows: ProductRow[], jsonFile?: string): string {
  const header = ['scenario', 'verdicts (expected→detected)', 'connected', 'path', 'Buy → first frame', 'paid', 'note'];
  const body = rows.map((r) => [
    r.scenario,
    r.verdicts.map((v) => `${v.expected}→${v.detected ?? '?'}`).join(', '),
    r.connected ? 'yes' : 'NO',
    (r.path ?? '—') +
      (r.connected && !r.expectedPath.includes(r.path ?? '') ? ` (want ${r.expectedPath.join('|')})` : ''),
    r.buyToFirstFrameMs === null ? '—' : `${r.buyToFirstFrameMs} ms`,
    r.paid ? 'yes' : 'NO',
    r.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const sep = '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|';
  const table = [
    'Axon product path through NATs (default settings, signaling over the ledger)',
    fmt(header),
    sep,
    ...body.map(fmt),
  ].join('\n');
  const json = JSON.stringify({ allOk: rows.every(rowOk), rows });
  console.log(`${table}\n`);
  console.log(`PRODUCT_MATRIX_JSON ${json}`);
  if (jsonFile) {
    mkdirSync(dirname(jsonFile), { recursive: true });
    writeFileSync(jsonFile, json + '\n');
  }
  return table;
}
