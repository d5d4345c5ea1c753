// The connect ladder through real NATs (docs/natlab.md, docs/net.md): every scenario ends
// connected — directly or hole-punched where the NAT pair allows it, relayed otherwise — with the
// right NAT verdict on both sides, and a pair loses its relay and is back within 10 s.
// Public namespace: coturn (RFC 5780), relays r1, r2 (relay + reflector), reflector r3.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatLab, printMatrix, type LabProcess, type MatrixRow } from './lab';
import { runPair, spawnPeer, type Infra, type Ready } from './scenarios-helpers';

let lab: NatLab;
let infra: Infra;
const rows: MatrixRow[] = [];
const procs: LabProcess[] = [];

beforeAll(async () => {
  lab = await NatLab.create({ name: 'axnet' });
  const stun = await lab.startStun();
  const publics = await Promise.all(['r1', 'r2', 'r3'].map((n) => lab.publicHost(n)));
  const relayProcs = new Map<string, LabProcess>();
  const reflectors: string[] = [];
  const relays: string[] = [];
  await Promise.all(
    publics.map(async (h, i) => {
      const p = spawnPeer(lab, h, stun.primary, ['--roles', i < 2 ? 'relay,reflector' : 'reflector']);
      procs.push(p);
      const ready = await p.waitForJson<Ready>((e) => e.event === 'ready', 60_000);
      reflectors.push(...(ready.announce ?? []));
      if (i < 2) {
        relays.push(ready.addrs.find((a) => a.includes('/tcp/'))!);
        relayProcs.set(ready.peerId, p);
      }
    }),
  );
  infra = { stun: stun.primary, reflectors, relays, relayProcs };
});

afterAll(async () => {
  if (rows.length)
    printMatrix(rows, { title: 'Axon connect ladder through NATs', jsonFile: 'test-artifacts/natlab-net-matrix.json' });
  await lab?.destroy();
});

async function scenario(
  name: string,
  setup: () => Promise<[Parameters<typeof runPair>[3], Parameters<typeof runPair>[4]]>,
  expectedPath: string[],
) {
  const [ha, hb] = await setup();
  const r = await runPair(lab, infra, name, ha, hb, expectedPath);
  rows.push(r.row);
  await Promise.all([r.a.kill(), r.b.kill()]);
  return r;
}

describe('NAT lab: the connect ladder', () => {
  test('public ↔ public: direct', async () => {
    const r = await scenario('public↔public', async () => [await lab.publicHost('pa'), await lab.publicHost('pb')], [
      'direct-wan',
    ]);
    expect(r.row.path).toBe('direct-wan');
    expect(r.row.verdicts.every((v) => v.detected === v.expected)).toBe(true);
  });

  test('EIM ↔ public: direct or hole-punched', async () => {
    const r = await scenario(
      'EIM↔public',
      async () => {
        const n = await lab.router('ne1', { kind: 'eim' });
        return [await lab.hostBehind(n, 'e1a'), await lab.publicHost('pc')];
      },
      ['direct-wan', 'hole-punched'],
    );
    expect(['direct-wan', 'hole-punched']).toContain(r.row.path);
    expect(r.row.verdicts.every((v) => v.detected === v.expected)).toBe(true);
  });

  test('EIM ↔ EIM: hole-punched', async () => {
    const r = await scenario(
      'EIM↔EIM',
      async () => {
        const n2 = await lab.router('ne2', { kind: 'eim' });
        const n3 = await lab.router('ne3', { kind: 'eim' });
        return [await lab.hostBehind(n2, 'e2a'), await lab.hostBehind(n3, 'e3a')];
      },
      ['hole-punched'],
    );
    expect(r.row.path).toBe('hole-punched');
    expect(r.row.verdicts.every((v) => v.detected === v.expected)).toBe(true);
  });

  test('EIM ↔ EDM: hole-punched by birthday probing, or relayed', async () => {
    const r = await scenario(
      'EIM↔EDM',
      async () => {
        const n4 = await lab.router('ne4', { kind: 'eim' });
        const d1 = await lab.router('nd1', { kind: 'edm' });
        return [await lab.hostBehind(n4, 'e4a'), await lab.hostBehind(d1, 'd1a')];
      },
      ['relayed', 'hole-punched'],
    );
    expect(r.row.path).not.toBeNull();
    expect(r.row.verdicts.every((v) => v.detected === v.expected)).toBe(true);
  });

  test('EDM ↔ EDM: relayed', async () => {
    const r = await scenario(
      'EDM↔EDM',
      async () => {
        const d2 = await lab.router('nd2', { kind: 'edm' });
        const d3 = await lab.router('nd3', { kind: 'edm' });
        return [await lab.hostBehind(d2, 'd2a'), await lab.hostBehind(d3, 'd3a')];
      },
      ['relayed'],
    );
    expect(r.row.path).toBe('relayed');
    expect(r.row.verdicts.every((v) => v.detected === v.expected)).toBe(true);
  });

  test('two peers behind one NAT: direct over the LAN', async () => {
    const r = await scenario(
      'same NAT (EIM)',
      async () => {
        const n = await lab.router('ns1', { kind: 'eim' });
        return [await lab.hostBehind(n, 's1a'), await lab.hostBehind(n, 's1b')];
      },
      ['direct-lan'],
    );
    expect(r.row.path).toBe('direct-lan');
  });

  test('relay killed mid-connection: the pair moves to another relay or direct within 10 s', async () => {
    const d4 = await lab.router('nd4', { kind: 'edm' });
    const d5 = await lab.router('nd5', { kind: 'edm' });
    const r = await runPair(
      lab,
      infra,
      'EDM↔EDM, relay killed',
      await lab.hostBehind(d4, 'd4a'),
      await lab.hostBehind(d5, 'd5a'),
      ['relayed', 'hole-punched', 'direct-wan'],
    );
    expect(r.row.path).toBe('relayed');
    const used = r.connA.path!.relay!;
    const relayProc = infra.relayProcs.get(used)!;
    const killedAt = Date.now();
    await relayProc.kill('SIGTERM', 500); // tsx forwards SIGTERM to the node process
    const back = await r.a.waitForJson<{ event: string; to: string | null; relay: string | null; at: number }>(
      (e) => e.event === 'path' && e.to !== null && e.relay !== used && e.at > killedAt,
      15_000,
    );
    const movedMs = back.at - killedAt;
    rows.push({
      ...r.row,
      scenario: 'relay killed → moved',
      path: back.to,
      timeToConnectMs: movedMs,
      note: `moved ${movedMs} ms after the kill${back.relay ? ` to relay ${back.relay.slice(-6)}` : ''}`,
    });
    expect(movedMs).toBeLessThan(10_000);
    await Promise.all([r.a.kill(), r.b.kill()]);
  });

  test('the matrix is all green', () => {
    const m = printMatrix(rows, { print: false });
    expect(m.rows.filter((r) => !r.ok).map((r) => `${r.scenario}: ${r.note}`)).toEqual([]);
  });
});
