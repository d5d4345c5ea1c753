// Runs in: Node (test harness, root). The product path through the NAT lab: real Axon nodes
// (product-peer.ts, the AxonNode behind `axon sell` / `axon buy`) with default settings, one local
// ledger on a public lab host, signaling only over that ledger. One scenario = a seller and a buyer
// on two lab hosts; the buyer clicks Buy; the row says connected, path, Buy → first frame, paid.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabHost, LabProcess, NatLab, Router } from './lab';
import { REPO_ROOT, expectedNat } from './lab';
import { labelOf } from './scenarios-helpers';

export const PRODUCT_PEER = join(REPO_ROOT, 'tests/natlab/product-peer.ts');
/** Start, airdrop and listing of one node: minutes on a loaded machine (seen > 120 s at load 27). */
const SETUP_MS = 300_000;

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
  /** Extra product-peer arguments for both nodes (e.g. `--birthday '{"maxProbes":50}'`). */
  args?: string[];
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
  const seller = spawnProduct(lab, sellerHost, rpcUrl, 'seller', hooks.args);
  const buyer = spawnProduct(lab, buyerHost, rpcUrl, 'buyer', hooks.args);
  const expected = expectedLabels ?? [expectedNat(sellerHost).label, expectedNat(buyerHost).label];
  const last = new Map<LabProcess, Ev>();
  const natOf = (p: LabProcess): { mapping?: string; filtering?: string | null } | undefined => {
    const n = p.jsonSoFar<Ev>().filter((e) => e.event === 'nat');
    return n.length ? (n[n.length - 1]!.nat as { mapping: string; filtering: string | null }) : undefined;
  };
  try {
    // generous: on a loaded machine a node's start, airdrop and listing each took minutes
    const listed = await seller.waitForJson<Ev>((e) => e.event === 'listed' || e.event === 'error', SETUP_MS);
    if (listed.event === 'error') throw new Error(`seller: ${String(listed.error)}`);
    await buyer.waitForJson<Ev>((e) => e.event === 'funded', SETUP_MS);
    // a user clicks Buy once the app is up: give both nodes the time to reach a NAT verdict
    // (a verdict that says something: the first report of a busy node may still be 'unknown')
    await Promise.all(
      [seller, buyer].map((p) =>
        p
          .waitForJson<Ev>((e) => e.event === 'nat' && (e.nat as { mapping?: string }).mapping !== 'unknown', 30_000)
          .catch(() => undefined),
      ),
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
      // the seller verified the first period: the payment on the ledger ('paid through period 0') or,
      // with payment vouchers (the default since the voucher merge), the buyer's signed voucher
      // ('voucher through period 0 …'); the buyer's own 'paid' event comes only with a transaction
      paid = await seller
        .waitForJson<Ev>((e) => e.event === 'sale' && /(paid|voucher) through period 0/.test(String(e.reason)), 60_000)
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
  } catch (e) {
    // a scenario that could not even get to Buy is a failed row with its reason, not a lost matrix
    return {
      scenario,
      verdicts: [
        { peer: `seller ${sellerHost.name}`, expected: expected[0], detected: natLabel(natOf(seller)) },
        { peer: `buyer ${buyerHost.name}`, expected: expected[1], detected: natLabel(natOf(buyer)) },
      ],
      connected: false,
      path: null,
      expectedPath,
      buyToFirstFrameMs: null,
      paid: false,
      note: `before Buy: ${(e as Error).message.split('\n')[0]}`,
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

/** One NAT pair of the product matrix: how the lab builds it and what the pair allows. */
export interface ProductScenario {
  name: string;
  build(lab: NatLab, delayMs?: number): Promise<{ seller: LabHost; buyer: LabHost }>;
  expectedPath: string[];
  /** Expected verdict labels (seller, buyer) where the router kind alone does not say it. */
  expectedLabels?: [string, string];
}

/** The router keeps answering unsolicited inbound packets to itself (no INPUT drop). */
async function acceptUnsolicited(lab: NatLab, r: Router): Promise<void> {
  await lab.exec(r, 'nft', ['flush', 'chain', 'ip', 'natlab', 'input']);
}
/** The home blocks outbound UDP (only TCP leaves it). */
async function blockUdp(lab: NatLab, r: Router): Promise<void> {
  const rule = ['forward', 'iifname', 'lan', 'oifname', 'wan', 'meta', 'l4proto', 'udp', 'drop'];
  await lab.exec(r, 'nft', ['insert', 'rule', 'ip', 'natlab', ...rule]);
}

/**
 * The nine NAT pairs of issue 12 §5 and the port-mapping router of issue 15 (names `pe…`, `pd…`, `pf…`, `pt…`, hosts `s1…`/`b1…`: one set
 * per lab). The same list is the NAT-lab test's matrix and `npm run bench -- connect`'s product part.
 */
export const PRODUCT_SCENARIOS: ProductScenario[] = [
  {
    name: 'EIM↔EIM',
    build: async (lab, delayMs) => ({
      seller: await lab.hostBehind(await lab.router('pe1', { kind: 'eim', delayMs }), 's1'),
      buyer: await lab.hostBehind(await lab.router('pe2', { kind: 'eim', delayMs }), 'b1'),
    }),
    expectedPath: ['hole-punched'],
  },
  {
    name: 'EIM↔public',
    build: async (lab, delayMs) => ({
      seller: await lab.hostBehind(await lab.router('pe3', { kind: 'eim', delayMs }), 's2'),
      buyer: await lab.publicHost('b2', { delayMs }),
    }),
    expectedPath: ['direct-wan', 'hole-punched'],
  },
  {
    name: 'EIM↔EDM',
    build: async (lab, delayMs) => ({
      seller: await lab.hostBehind(await lab.router('pe4', { kind: 'eim', delayMs }), 's3'),
      buyer: await lab.hostBehind(await lab.router('pd1', { kind: 'edm', delayMs }), 'b3'),
    }),
    // birthday probing (docs/net.md): hole-punched once a pair of ports is found; the relay, started
    // 3 s in while the probing goes on, may carry the first frame (the path then moves to punched)
    expectedPath: ['hole-punched', 'relayed'],
  },
  {
    name: 'EDM↔EDM',
    build: async (lab, delayMs) => ({
      seller: await lab.hostBehind(await lab.router('pd2', { kind: 'edm', delayMs }), 's4'),
      buyer: await lab.hostBehind(await lab.router('pd3', { kind: 'edm', delayMs }), 'b4'),
    }),
    expectedPath: ['relayed'],
  },
  {
    name: 'full cone↔EDM',
    build: async (lab, delayMs) => ({
      seller: await lab.hostBehind(await lab.router('pf1', { kind: 'fullcone', delayMs }), 's5'),
      buyer: await lab.hostBehind(await lab.router('pd4', { kind: 'edm', delayMs }), 'b5'),
    }),
    expectedPath: ['hole-punched'],
  },
  {
    name: 'same NAT (EIM)',
    build: async (lab, delayMs) => {
      const n = await lab.router('pe5', { kind: 'eim', delayMs });
      return { seller: await lab.hostBehind(n, 's6'), buyer: await lab.hostBehind(n, 'b6') };
    },
    expectedPath: ['direct-lan'],
  },
  {
    // both homes 192.168.1.0/24: the seller's private address is the buyer's own address
    name: 'same LAN range (EIM)',
    build: async (lab, delayMs) => ({
      seller: await lab.hostBehind(await lab.router('pe6', { kind: 'eim', lanPrefix: '192.168.1', delayMs }), 's7'),
      buyer: await lab.hostBehind(await lab.router('pe7', { kind: 'eim', lanPrefix: '192.168.1', delayMs }), 'b7'),
    }),
    expectedPath: ['hole-punched'],
  },
  {
    name: 'EIM↔EIM, routers accept unsolicited',
    build: async (lab, delayMs) => {
      const [s, b] = [
        await lab.router('pe8', { kind: 'eim', delayMs }),
        await lab.router('pe9', { kind: 'eim', delayMs }),
      ];
      await Promise.all([acceptUnsolicited(lab, s), acceptUnsolicited(lab, b)]);
      return { seller: await lab.hostBehind(s, 's8'), buyer: await lab.hostBehind(b, 'b8') };
    },
    expectedPath: ['hole-punched'],
  },
  {
    name: 'EIM↔TCP-only home',
    build: async (lab, delayMs) => {
      const [s, b] = [
        await lab.router('pe10', { kind: 'eim', delayMs }),
        await lab.router('pt1', { kind: 'eim', delayMs }),
      ];
      await blockUdp(lab, b);
      return { seller: await lab.hostBehind(s, 's9'), buyer: await lab.hostBehind(b, 'b9') };
    },
    expectedPath: ['relayed'],
    expectedLabels: ['eim', 'udp-blocked'],
  },
  {
    // the seller's home router runs miniupnpd (UPnP-IGD + NAT-PMP): the seller maps its port, the
    // EDM buyer dials it (issue 15; without the mapping this pair is EIM↔EDM: relayed)
    name: 'UPnP router↔EDM',
    build: async (lab, delayMs) => ({
      seller: await lab.hostBehind(await lab.router('pu1', { kind: 'eim', delayMs, portMapping: true }), 's10'),
      buyer: await lab.hostBehind(await lab.router('pd5', { kind: 'edm', delayMs }), 'b10'),
    }),
    expectedPath: ['direct-wan'],
  },
];

/**
 * The lab's one public Axon node (host `pub`, two addresses: its reflector then answers RFC 5780
 * "change IP" requests, so a full cone home reads full cone), started with default settings
 * (`roles` = 'relay,reflector' configures them by hand instead). Resolves once it serves relay and
 * reflector: the relay role comes once a peer's dial reached it (market/roles.ts), so a first user
 * on another public host (`warm`, default settings; it only starts and health-checks the public
 * node) brings that dial and leaves — every scenario then starts with both roles served, as the
 * paths assume (on a busy machine the homes otherwise raced the relay role).
 */
export async function startPublicNode(
  lab: NatLab,
  rpcUrl: string,
  roles?: string,
): Promise<{ node: LabProcess; servingAfterMs: number }> {
  const node = spawnProduct(
    lab,
    await lab.publicHost('pub', { addresses: 2 }),
    rpcUrl,
    'public',
    roles ? ['--roles', roles] : [],
  );
  await node.waitForJson<Ev>((e) => e.event === 'funded', SETUP_MS);
  const t0 = Date.now();
  const serving = (e: Ev): boolean => {
    const r = (e.roles as string[] | undefined) ?? [];
    return e.event === 'roles' && r.includes('relay') && r.includes('reflector');
  };
  if (!node.jsonSoFar<Ev>().some(serving)) {
    const first = spawnProduct(lab, await lab.publicHost('warm'), rpcUrl, 'buyer');
    try {
      await node.waitForJson<Ev>(serving, 180_000);
    } finally {
      await first.kill('SIGTERM', 3000);
    }
  }
  return { node, servingAfterMs: Date.now() - t0 };
}
