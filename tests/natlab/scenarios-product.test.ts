// The product through real NATs (issue 12 §5, docs/natlab.md "Product scenarios"): a seller and a
// buyer that are real Axon nodes (the AxonNode behind `axon sell` / `axon buy`, product-peer.ts)
// with DEFAULT settings — no STUN servers, no relays, no roles configured — one local ledger on a
// public lab host that carries every signal (request, accept, PunchSync), and one public Axon node
// that must take its relay/reflector roles by itself. The buyer clicks Buy; each row says whether
// it connected, the path, Buy → first frame, and whether the first period was paid.
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatLab, type LabProcess } from './lab';
import {
  PRODUCT_SCENARIOS,
  pool,
  printProductMatrix,
  rowOk,
  runProductPair,
  startPublicNode,
  type ProductRow,
} from './product-helpers';

let lab: NatLab;
let rpcUrl: string;
let publicNode: LabProcess;
const rows: ProductRow[] = [];
/** Scenarios run this many at a time: each is two Axon processes beside the public node and the
 *  ledger, so one core per scenario, one left for those (2 cores → 1). Three at a time on 2 cores
 *  starved the nodes under load (a seller's listing took > 120 s). */
const PARALLEL = Number(process.env.AXON_NATLAB_PARALLEL ?? Math.max(1, Math.min(3, availableParallelism() - 1)));
/** AXON_NATLAB_SCENARIOS=EIM↔EIM,full cone: only the scenarios whose name contains one of these
 *  (a focused run while working on one pair; unset = all of them, as CI runs it). */
const ONLY = process.env.AXON_NATLAB_SCENARIOS?.split(',').filter(Boolean);

beforeAll(async () => {
  lab = await NatLab.create({ name: 'axprod' });
  const ledger = await lab.startLedger();
  rpcUrl = ledger.rpcUrl;
  // AXON_NATLAB_PUBLIC_ROLES=relay,reflector configures the public node's roles by hand (a
  // comparison run); by default it has default settings and must take its roles by itself
  const pub = await startPublicNode(lab, rpcUrl, process.env.AXON_NATLAB_PUBLIC_ROLES);
  publicNode = pub.node;
  console.log(`public node serving relay + reflector ${pub.servingAfterMs} ms after it was funded`);
}, 400_000);

afterAll(async () => {
  if (rows.length) printProductMatrix(rows, 'test-artifacts/natlab-product-matrix.json');
  await lab?.destroy();
});

describe('NAT lab: the product path with default settings', () => {
  test('every NAT pair connects and pays; direct or punched wherever the pair allows it', async () => {
    const chosen = PRODUCT_SCENARIOS.filter((s) => !ONLY || ONLY.some((o) => s.name.includes(o)));
    expect(chosen.length, `no scenario matches AXON_NATLAB_SCENARIOS=${ONLY?.join(',')}`).toBeGreaterThan(0);
    const jobs = chosen.map((s) => async () => {
      const { seller, buyer } = await s.build(lab);
      return runProductPair(lab, rpcUrl, s.name, seller, buyer, s.expectedPath, s.expectedLabels);
    });
    rows.push(...(await pool(PARALLEL, jobs)));
    const roles = publicNode.jsonSoFar<{ event: string; roles?: string[] }>().filter((e) => e.event === 'roles');
    // every change of the public node's roles during the run (a flip-flop would strand the homes)
    console.log(`public node roles over the run: ${JSON.stringify(roles.map((e) => e.roles ?? []))}`);
    expect(rows.filter((r) => !rowOk(r)).map((r) => `${r.scenario}: ${r.path ?? 'not connected'} (${r.note})`)).toEqual(
      [],
    );
  }, 1_800_000);
});
