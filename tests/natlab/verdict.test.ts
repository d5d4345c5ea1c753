// NAT verdicts from Axon reflectors alone (issue 12 §5–§7 verdict gaps), through real NATs: a
// reflector (the UDP responder every public Axon node runs as reflector) on a public host with two
// addresses answers RFC 5780 CHANGE-REQUESTs, so a home learns its NAT's FILTERING as well as its
// mapping — full cone reads full cone, a port-restricted (eim) home reads
// address-and-port-dependent, a symmetric home endpoint-dependent. With a one-address reflector
// the filtering test can only change the port: full cone then reads "address-dependent", flagged
// as a lower bound. Lab name 'axv'.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatLab, REPO_ROOT, type LabHost, type PublicHost } from './lab';
import { join } from 'node:path';

const PEER = join(REPO_ROOT, 'tests/natlab/verdict-peer.ts');
let lab: NatLab;

beforeAll(async () => {
  lab = await NatLab.create({ name: 'axv' });
}, 60_000);
afterAll(() => lab?.destroy());

interface Report {
  mapping: string;
  filtering?: string;
  publicIp?: string;
  warnings: string[];
}

async function serve(host: PublicHost): Promise<string[]> {
  const p = lab.spawnNode(host, PEER, ['--serve'], { label: `${host.name}:reflector` });
  const r = await p.waitForJson<{ event: string; port: number; altPort: number }>((e) => e.event === 'ready', 60_000);
  return [`/ip4/${host.ip}/udp/${r.port}/p2p/refl`, `/ip4/${host.ip}/udp/${r.altPort}/p2p/refl`];
}

async function discover(host: LabHost, reflectors: string[]): Promise<Report> {
  const p = lab.spawnNode(host, PEER, ['--discover', reflectors.join(',')], { label: `${host.name}:discover` });
  return (await p.waitForJson<{ event: string; report: Report }>((e) => e.event === 'report', 60_000)).report;
}

describe('NAT lab: verdicts from Axon reflectors (mapping and filtering)', () => {
  test('a two-address reflector tells full cone, port-restricted and symmetric homes apart', async () => {
    const refl = await serve(await lab.publicHost('vrefl', { addresses: 2 }));
    const kinds = ['fullcone', 'eim', 'edm'] as const;
    const homes = await Promise.all(
      kinds.map(async (kind, i) => lab.hostBehind(await lab.router(`vn${i}`, { kind }), `vh${i}`)),
    );
    const reports = await Promise.all(homes.map((h) => discover(h, refl)));
    const seen = reports.map((r) => ({ mapping: r.mapping, filtering: r.filtering ?? null }));
    expect(seen).toEqual([
      { mapping: 'endpoint-independent', filtering: 'endpoint-independent' },
      { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' },
      // the symmetric home's filtering test ran from its own socket: a fresh mapping per port
      { mapping: 'endpoint-dependent', filtering: 'address-and-port-dependent' },
    ]);
  }, 180_000);

  test('a one-address reflector bounds the filtering and says so', async () => {
    const refl = await serve(await lab.publicHost('vrefl1'));
    const home = await lab.hostBehind(await lab.router('vn9', { kind: 'fullcone' }), 'vh9');
    const r = await discover(home, refl);
    expect(r.mapping).toBe('endpoint-independent');
    expect(r.filtering).toBe('address-dependent');
    expect(r.warnings.join(' ')).toMatch(/needs a reflector with two IPs/);
  }, 180_000);
});
