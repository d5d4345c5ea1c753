// Dead announced roles must not starve a node (issue 12; docs/net.md "Dead relays and
// reflectors"): a second public node takes the relay/reflector roles by itself and announces them,
// then dies and its host goes off the network — its NodeAnnounce stays live on the ledger until
// its TTL. Pairs behind home routers started afterwards, with DEFAULT settings and signaling over
// the ledger only, must still reach a NAT verdict, reserve a relay on the live public node and
// connect (punched or relayed) and pay. Order-independent: the dead announcement is in the
// directory of every node this file starts (tests/natlab/portmap.test.ts had to order its cases
// around this defect).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatLab, type LabProcess } from './lab';
import {
  PRODUCT_SCENARIOS,
  printProductMatrix,
  rowOk,
  runProductPair,
  spawnProduct,
  startPublicNode,
  type ProductRow,
} from './product-helpers';

let lab: NatLab;
let rpcUrl: string;
let live: LabProcess;
const rows: ProductRow[] = [];

interface Ev {
  event: string;
  roles?: string[];
  nat?: { mapping?: string; sources?: string[] };
  peerId?: string;
}
const serving = (e: Ev): boolean =>
  e.event === 'roles' && !!e.roles?.includes('relay') && !!e.roles.includes('reflector');

beforeAll(async () => {
  lab = await NatLab.create({ name: 'axdead' });
  rpcUrl = (await lab.startLedger()).rpcUrl;
  live = (await startPublicNode(lab, rpcUrl)).node;
  // a second public node: it finds itself public with the first one's help and serves too
  const host = await lab.publicHost('doomed', { addresses: 2 });
  const doomed = spawnProduct(lab, host, rpcUrl, 'public');
  await doomed.waitForJson<Ev>(serving, 300_000);
  // its NodeAnnounce is on the ledger (the roles event follows the announcement by up to a second)
  await new Promise((r) => setTimeout(r, 3000));
  // then it dies and its host leaves the network: dials to it hang, its STUN port stays silent
  await doomed.kill('SIGKILL');
  await lab.setOnline(host, false);
}, 600_000);

afterAll(async () => {
  if (rows.length) printProductMatrix(rows, 'test-artifacts/natlab-dead-roles-matrix.json');
  await lab?.destroy();
});

describe('NAT lab: a dead announced relay/reflector does not starve later nodes', () => {
  for (const name of ['EIM↔EDM', 'EIM↔EIM']) {
    test(`${name} with a dead public node in every directory: a verdict, a live relay, connected and paid`, async () => {
      const s = PRODUCT_SCENARIOS.find((x) => x.name === name)!;
      const { seller, buyer } = await s.build(lab);
      const row = await runProductPair(lab, rpcUrl, `${name} (dead node announced)`, seller, buyer, s.expectedPath);
      rows.push(row);
      // both sides reached a verdict (the defect left them 'unknown')
      for (const v of row.verdicts) expect(v.detected, `${v.peer}: ${JSON.stringify(row)}`).not.toBeNull();
      for (const v of row.verdicts) expect(v.detected, `${v.peer}: ${JSON.stringify(row)}`).not.toMatch(/unknown/);
      expect(rowOk(row), `${row.path ?? 'not connected'}: ${row.note}`).toBe(true);
    }, 600_000);
  }

  test('the live public node kept serving throughout', () => {
    expect(
      live
        .jsonSoFar<Ev>()
        .filter((e) => e.event === 'roles')
        .at(-1)
        ?.roles?.sort(),
    ).toEqual(['reflector', 'relay']);
  });
});
