// The product through real NATs (issue 12 §5, docs/natlab.md "Product scenarios"): a seller and a
// buyer that are real Axon nodes (the AxonNode behind `axon sell` / `axon buy`, product-peer.ts)
// with DEFAULT settings — no STUN servers, no relays, no roles configured — one local ledger on a
// public lab host that carries every signal (request, accept, PunchSync), and one public Axon node
// that must take its relay/reflector roles by itself. The buyer clicks Buy; each row says whether
// it connected, the path, Buy → first frame, and whether the first period was paid.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatLab, type LabProcess, type Router } from './lab';
import { pool, printProductMatrix, rowOk, runProductPair, spawnProduct, type ProductRow } from './product-helpers';

let lab: NatLab;
let rpcUrl: string;
let publicNode: LabProcess;
const rows: ProductRow[] = [];
/** Scenarios run this many at a time (each is two Axon processes; the machine has 2 cores). */
const PARALLEL = Number(process.env.AXON_NATLAB_PARALLEL ?? 3);
/** AXON_NATLAB_SCENARIOS=EIM↔EIM,full cone: only the scenarios whose name contains one of these
 *  (a focused run while working on one pair; unset = all of them, as CI runs it). */
const ONLY = process.env.AXON_NATLAB_SCENARIOS?.split(',').filter(Boolean);

beforeAll(async () => {
  lab = await NatLab.create({ name: 'axprod' });
  const ledger = await lab.startLedger();
  rpcUrl = ledger.rpcUrl;
  // AXON_NATLAB_PUBLIC_ROLES=relay,reflector configures the public node's roles by hand (a
  // comparison run); by default it has default settings and must take its roles by itself
  const roles = process.env.AXON_NATLAB_PUBLIC_ROLES;
  publicNode = spawnProduct(lab, await lab.publicHost('pub'), rpcUrl, 'public', roles ? ['--roles', roles] : []);
  await publicNode.waitForJson<{ event: string }>((e) => e.event === 'funded', 120_000);
  // the public node takes its relay/reflector roles by itself (or was told to): the homes come up
  // once it serves, as a user's node would find it serving
  const t0 = Date.now();
  await publicNode.waitForJson<{ event: string; roles?: string[] }>(
    (e) => e.event === 'roles' && (e.roles?.length ?? 0) > 0,
    180_000,
  );
  console.log(`public node serving its roles ${Date.now() - t0} ms after it was funded`);
}, 400_000);

afterAll(async () => {
  if (rows.length) printProductMatrix(rows, 'test-artifacts/natlab-product-matrix.json');
  await lab?.destroy();
});

/** The router keeps answering unsolicited inbound packets to itself (no INPUT drop). */
async function acceptUnsolicited(r: Router): Promise<void> {
  await lab.exec(r, 'nft', ['flush', 'chain', 'ip', 'natlab', 'input']);
}
/** The home blocks outbound UDP (only TCP leaves it). */
async function blockUdp(r: Router): Promise<void> {
  await lab.exec(r, 'nft', [
    'insert',
    'rule',
    'ip',
    'natlab',
    'forward',
    'iifname',
    'lan',
    'oifname',
    'wan',
    'meta',
    'l4proto',
    'udp',
    'drop',
  ]);
}

describe('NAT lab: the product path with default settings', () => {
  test('every NAT pair connects and pays; direct or punched wherever the pair allows it', async () => {
    const all: [string, (name: string) => Promise<ProductRow>][] = [
      [
        'EIM↔EIM',
        async (name) => {
          const [s, b] = [await lab.router('pe1', { kind: 'eim' }), await lab.router('pe2', { kind: 'eim' })];
          return runProductPair(lab, rpcUrl, name, await lab.hostBehind(s, 's1'), await lab.hostBehind(b, 'b1'), [
            'hole-punched',
          ]);
        },
      ],
      [
        'EIM↔public',
        async (name) => {
          const s = await lab.router('pe3', { kind: 'eim' });
          return runProductPair(lab, rpcUrl, name, await lab.hostBehind(s, 's2'), await lab.publicHost('b2'), [
            'direct-wan',
            'hole-punched',
          ]);
        },
      ],
      [
        'EIM↔EDM',
        async (name) => {
          const [s, b] = [await lab.router('pe4', { kind: 'eim' }), await lab.router('pd1', { kind: 'edm' })];
          return runProductPair(lab, rpcUrl, name, await lab.hostBehind(s, 's3'), await lab.hostBehind(b, 'b3'), [
            'relayed',
          ]);
        },
      ],
      [
        'EDM↔EDM',
        async (name) => {
          const [s, b] = [await lab.router('pd2', { kind: 'edm' }), await lab.router('pd3', { kind: 'edm' })];
          return runProductPair(lab, rpcUrl, name, await lab.hostBehind(s, 's4'), await lab.hostBehind(b, 'b4'), [
            'relayed',
          ]);
        },
      ],
      [
        'full cone↔EDM',
        async (name) => {
          const [s, b] = [await lab.router('pf1', { kind: 'fullcone' }), await lab.router('pd4', { kind: 'edm' })];
          return runProductPair(lab, rpcUrl, name, await lab.hostBehind(s, 's5'), await lab.hostBehind(b, 'b5'), [
            'hole-punched',
          ]);
        },
      ],
      [
        'same NAT (EIM)',
        async (name) => {
          const n = await lab.router('pe5', { kind: 'eim' });
          return runProductPair(lab, rpcUrl, name, await lab.hostBehind(n, 's6'), await lab.hostBehind(n, 'b6'), [
            'direct-lan',
          ]);
        },
      ],
      [
        'same LAN range (EIM)',
        async (name) => {
          // both homes 192.168.1.0/24: the seller's private address is the buyer's own address
          const s = await lab.router('pe6', { kind: 'eim', lanPrefix: '192.168.1' });
          const b = await lab.router('pe7', { kind: 'eim', lanPrefix: '192.168.1' });
          return runProductPair(lab, rpcUrl, name, await lab.hostBehind(s, 's7'), await lab.hostBehind(b, 'b7'), [
            'hole-punched',
          ]);
        },
      ],
      [
        'EIM↔EIM, routers accept unsolicited',
        async (name) => {
          const [s, b] = [await lab.router('pe8', { kind: 'eim' }), await lab.router('pe9', { kind: 'eim' })];
          await Promise.all([acceptUnsolicited(s), acceptUnsolicited(b)]);
          return runProductPair(lab, rpcUrl, name, await lab.hostBehind(s, 's8'), await lab.hostBehind(b, 'b8'), [
            'hole-punched',
          ]);
        },
      ],
      [
        'EIM↔TCP-only home',
        async (name) => {
          const [s, b] = [await lab.router('pe10', { kind: 'eim' }), await lab.router('pt1', { kind: 'eim' })];
          await blockUdp(b);
          return runProductPair(lab, rpcUrl, name, await lab.hostBehind(s, 's9'), await lab.hostBehind(b, 'b9'), [
            'relayed',
          ]);
        },
      ],
    ];
    const jobs = all
      .filter(([name]) => !ONLY || ONLY.some((o) => name.includes(o)))
      .map(
        ([name, run]) =>
          () =>
            run(name),
      );
    expect(jobs.length, `no scenario matches AXON_NATLAB_SCENARIOS=${ONLY?.join(',')}`).toBeGreaterThan(0);
    rows.push(...(await pool(PARALLEL, jobs)));
    const roles = publicNode.jsonSoFar<{ event: string; roles?: string[] }>().filter((e) => e.event === 'roles');
    // every change of the public node's roles during the run (a flip-flop would strand the homes)
    console.log(`public node roles over the run: ${JSON.stringify(roles.map((e) => e.roles ?? []))}`);
    expect(rows.filter((r) => !rowOk(r)).map((r) => `${r.scenario}: ${r.path ?? 'not connected'} (${r.note})`)).toEqual(
      [],
    );
  }, 900_000);
});
