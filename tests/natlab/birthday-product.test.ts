// Birthday probing on the product path (issue 15 §2, docs/net.md "Birthday probing"): a seller and
// a buyer that are real Axon nodes with DEFAULT settings, one behind an endpoint-independent
// (port-restricted) NAT, the other behind an endpoint-dependent (symmetric) one — a pair every
// earlier version relayed. The ledger carries request and accept; at punchAt both switch the
// hopeless punch to birthday probing and hand the pair found to ICE with the sealed credentials.
// The buyer's attempts list shows the 'birthday' round and its outcome; the path is hole-punched.
// Both directions: the EDM side as buyer (initiator) and as seller (responder).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { axonAsync, type Ran } from '../helpers/cli';
import { NatLab, type LabProcess } from './lab';
import { printProductMatrix, rowOk, runProductPair, startPublicNode, type ProductRow } from './product-helpers';

let lab: NatLab;
let rpcUrl: string;
const rows: ProductRow[] = [];

interface Attempt {
  method: string;
  outcome: string;
  error?: string;
  addresses?: string[];
}

let pathQuery = 0;
/** The buyer's path to the seller once it is hole-punched (the relay may carry the first frame
 *  while the probing goes on), or the last path seen after `ms`. */
async function settledPath(buyer: LabProcess, ms: number): Promise<string | null> {
  const end = Date.now() + ms;
  let path: string | null = null;
  while (Date.now() < end) {
    const id = ++pathQuery;
    buyer.send({ cmd: 'path', id });
    path = (
      await buyer.waitForJson<{ event: string; id?: number; path: string | null }>(
        (e) => e.event === 'path' && e.id === id,
        5000,
      )
    ).path;
    if (path === 'hole-punched') return path;
    await new Promise((r) => setTimeout(r, 500));
  }
  return path;
}

beforeAll(async () => {
  lab = await NatLab.create({ name: 'axbdp' });
  rpcUrl = (await lab.startLedger()).rpcUrl;
  // one public node with default settings: relay + reflector (the reflector tells the EIM home's
  // filtering, which is what makes its punch with a symmetric NAT hopeless)
  await startPublicNode(lab, rpcUrl);
}, 400_000);

afterAll(async () => {
  if (rows.length) printProductMatrix(rows, 'test-artifacts/natlab-birthday-matrix.json');
  await lab?.destroy();
});

describe('NAT lab: birthday probing on the product path (default settings)', () => {
  for (const [name, sellerKind, buyerKind] of [
    ['EIM seller ↔ EDM buyer', 'eim', 'edm'],
    ['EDM seller ↔ EIM buyer', 'edm', 'eim'],
  ] as const) {
    test(`${name}: hole-punched through birthday probing, paid; the attempt is in the buyer's list`, async () => {
      const i = rows.length + 1;
      const seller = await lab.hostBehind(await lab.router(`bs${i}`, { kind: sellerKind }), `bps${i}`);
      const buyer = await lab.hostBehind(await lab.router(`bb${i}`, { kind: buyerKind }), `bpb${i}`);
      let attempts: Attempt[] = [];
      let path: string | null = null;
      let status: Ran | undefined;
      let statusText: Ran | undefined;
      const row = await runProductPair(lab, rpcUrl, name, seller, buyer, ['hole-punched', 'relayed'], undefined, {
        after: async (_s, b) => {
          path = await settledPath(b, 30_000);
          b.send({ cmd: 'attempts' });
          attempts =
            (await b.waitForJson<{ event: string; attempts?: Attempt[] }>((e) => e.event === 'attempts', 5000))
              .attempts ?? [];
          // `axon status` on the buyer's data dir (its node still running) tells the same story
          const dir = readdirSync(lab.tmpDir).find((n) => n.startsWith(`axon-${buyer.name}-buyer-`));
          if (dir) {
            status = await axonAsync(['--data-dir', join(lab.tmpDir, dir), 'status', '--json']);
            statusText = await axonAsync(['--data-dir', join(lab.tmpDir, dir), 'status']);
          }
        },
      });
      rows.push({ ...row, path: path ?? row.path, note: `${row.note}; first frame over ${row.path ?? '—'}` });
      const story = attempts.map((a) => `${a.method}:${a.outcome}${a.error ? ` (${a.error})` : ''}`).join(', ');
      expect(rowOk(row), `${row.note} [${story}]`).toBe(true);
      expect(attempts.find((a) => a.method === 'birthday')?.outcome, story).toBe('ok');
      expect(path, story).toBe('hole-punched');
      expect(status?.status, status?.stderr).toBe(0);
      const peers = (JSON.parse(status!.stdout) as { peers: { lastAttempts: Attempt[] }[] }).peers;
      expect(peers.flatMap((p) => p.lastAttempts).find((a) => a.method === 'birthday')?.outcome).toBe('ok');
      expect(statusText?.stdout).toMatch(/last connect: .*birthday ok \d+\.\d s/);
    }, 900_000);
  }
});
