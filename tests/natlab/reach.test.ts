// Peers are the STUN servers, through real NATs (issue 12 §1, §2): one public Axon node with
// DEFAULT settings takes the reflector (and relay) role by itself; a seller and a buyer behind two
// EIM home routers, also with default settings (stunServers: []), get their server-reflexive
// candidates from it and hole-punch — no third-party STUN server anywhere. Lab names 'axr…'.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatLab, type LabProcess } from './lab';
import { printProductMatrix, runProductPair, spawnProduct, type ProductRow } from './product-helpers';

let lab: NatLab;
let rpcUrl: string;
let publicNode: LabProcess;
const rows: ProductRow[] = [];

beforeAll(async () => {
  lab = await NatLab.create({ name: 'axr' });
  const ledger = await lab.startLedger();
  rpcUrl = ledger.rpcUrl;
  publicNode = spawnProduct(lab, await lab.publicHost('rpub'), rpcUrl, 'public');
  await publicNode.waitForJson<{ event: string }>((e) => e.event === 'funded', 120_000);
}, 240_000);

afterAll(async () => {
  if (rows.length) printProductMatrix(rows, 'test-artifacts/natlab-reach-matrix.json');
  await lab?.destroy();
});

describe('NAT lab: a public node serves as STUN server by itself', () => {
  test('EIM↔EIM with default settings hole-punches with the public node as reflector, and pays', async () => {
    // the public node announces its roles by itself (no role configured)
    const roles = await publicNode.waitForJson<{ event: string; roles?: string[] }>(
      (e) => e.event === 'roles' && !!e.roles?.includes('reflector'),
      120_000,
    );
    expect(roles.roles).toContain('reflector');
    const [s, b] = [await lab.router('re1', { kind: 'eim' }), await lab.router('re2', { kind: 'eim' })];
    const row = await runProductPair(
      lab,
      rpcUrl,
      'EIM↔EIM (reach)',
      await lab.hostBehind(s, 'rs1'),
      await lab.hostBehind(b, 'rb1'),
      ['hole-punched'],
    );
    rows.push(row);
    // both homes learned their NAT from the one public node (its two STUN ports; no STUN server
    // configured), then met without a relay (ICE with its srflx candidates, or TCP to the
    // verdict's public address) and paid
    expect(row.verdicts.map((v) => v.detected)).toEqual(['eim', 'eim']);
    expect(row.connected, row.note).toBe(true);
    expect(['hole-punched', 'direct-wan']).toContain(row.path);
    expect(row.paid).toBe(true);
  }, 600_000);
});
