// Router port mapping on the product path (issue 15 §1, docs/net.md "Router port mapping"): a seller
// behind a home router running Debian's real miniupnpd (UPnP-IGD v2 + NAT-PMP), a buyer behind an
// endpoint-dependent (symmetric) NAT. Without the mapping this pair is EIM↔EDM (birthday probing or
// the relay, scenarios-product); with it the buyer dials the seller's mapped port: direct-wan. Both are real Axon nodes
// with DEFAULT settings, signaling over the ledger on a public lab host, one public node taking its
// relay/reflector roles by itself. Bad routers: one that refuses every mapping, one that forgets the
// mapping behind the node's back — the purchase still connects (punched or relayed) and the node
// says why.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatLab, flushMappings, type LabProcess } from './lab';
import { printProductMatrix, rowOk, runProductPair, startPublicNode, type ProductRow } from './product-helpers';

let lab: NatLab;
let rpcUrl: string;
const rows: ProductRow[] = [];

interface PortMapEvent {
  event: 'portmap';
  portMapping: {
    state: string;
    protocol?: string;
    external?: { ip: string; port: number };
    failures: { protocol: string; error: string }[];
  };
}
interface Attempt {
  method: string;
  outcome: string;
  error?: string;
  addresses?: string[];
}

/** The seller's port mapping once its first attempt is over. */
const settled = (p: LabProcess): Promise<PortMapEvent> =>
  p.waitForJson<PortMapEvent>((e) => e.event === 'portmap' && e.portMapping.state !== 'searching', 30_000);

const attemptsOf = async (buyer: LabProcess): Promise<Attempt[]> => {
  buyer.send({ cmd: 'attempts' });
  const e = await buyer.waitForJson<{ event: string; attempts?: Attempt[] }>((x) => x.event === 'attempts', 5000);
  return e.attempts ?? [];
};

beforeAll(async () => {
  lab = await NatLab.create({ name: 'axpmap' });
  rpcUrl = (await lab.startLedger()).rpcUrl;
  // one public node serving relay + reflector (default settings), as the product matrix has it
  await startPublicNode(lab, rpcUrl);
}, 400_000);

afterAll(async () => {
  if (rows.length) printProductMatrix(rows, 'test-artifacts/natlab-portmap-matrix.json');
  await lab?.destroy();
});

describe('NAT lab: router port mapping (miniupnpd) on the product path', () => {
  // The two no-mapping cases run first. In the other order (the mapped cases first) the 'forgot'
  // case failed twice on 2026-12-06 (a clean-clone CI run and a local run): its `nft flush chain inet
  // miniupnpd prerouting_miniupnpd` in the router's namespace hung until the 30 s exec timeout,
  // right after that router's miniupnpd was SIGKILLed; in this order it passed in every CI run. The
  // cause is not found (the product is not involved: it is the lab's way of making the router forget).
  test('a router that refuses: the node says so per protocol, the purchase connects without a mapping', async () => {
    const home = await lab.router('pu2', { kind: 'eim', portMapping: { refuse: true } });
    const edm = await lab.router('pd2', { kind: 'edm' });
    let none: PortMapEvent | undefined;
    const row = await runProductPair(
      lab,
      rpcUrl,
      'refusing router↔EDM',
      await lab.hostBehind(home, 's2'),
      await lab.hostBehind(edm, 'b2'),
      // without a mapping the pair is EIM↔EDM: birthday probing or the relay (docs/net.md)
      ['relayed', 'hole-punched'],
      undefined,
      {
        beforeBuy: async (seller) => {
          none = await settled(seller);
        },
      },
    );
    rows.push(row);
    // the refusing miniupnpd goes on busy-looping over every port for the NAT-PMP request (about a
    // fifth of a core, for minutes): it is done with, so it goes — while it lived, the next case's
    // `ip link add … netns` hung past the lab's 30 s budget in a clean-clone CI run
    await home.miniupnpd?.kill('SIGTERM', 1000);
    expect(none?.portMapping.state).toBe('none');
    console.log(`refusing router, the seller's reasons: ${JSON.stringify(none?.portMapping.failures)}`);
    // both protocols tried, each with its reason. miniupnpd 2.3.1 with a deny-all rule busy-loops
    // over every port for the NAT-PMP request (its log: "permission rule 0 matched : port mapping
    // rejected" once per port) and answers nothing meanwhile, SSDP included: a router that stalls.
    // The budgets end both (2 s NAT-PMP, 5 s UPnP) while the node goes on without a mapping. Asked
    // over UPnP alone it refuses at once: "Code 728 - NoPortMapsAvailable".
    expect(none?.portMapping.failures.map((f) => f.protocol)).toEqual(['nat-pmp', 'upnp-igd']);
    for (const f of none?.portMapping.failures ?? []) expect(f.error).not.toBe('');
    expect(rowOk(row), `${row.path ?? 'not connected'}: ${row.note}`).toBe(true);
  }, 300_000);

  test('a mapping the router forgot: the dial to it fails, the ladder moves on and records why', async () => {
    const home = await lab.router('pu3', { kind: 'eim', portMapping: true });
    const edm = await lab.router('pd3', { kind: 'edm' });
    let attempts: Attempt[] = [];
    let mapped: PortMapEvent | undefined;
    const row = await runProductPair(
      lab,
      rpcUrl,
      'mapping lost↔EDM',
      await lab.hostBehind(home, 's3'),
      await lab.hostBehind(edm, 'b3'),
      ['relayed', 'hole-punched'],
      undefined,
      {
        beforeBuy: async (seller, buyer) => {
          mapped = await settled(seller);
          // the router loses every mapping and stops answering (as after a reboot) — the node still
          // believes its lease, and announces the dead address
          await home.miniupnpd?.kill('SIGKILL');
          await flushMappings(home);
          // a reboot also ends the connections through it: the buyer may already hold one to the
          // seller, made through the mapping while it lived (the seller, reachable, took the relay
          // role by itself and the buyer's directory checked it)
          const { address } = await seller.waitForJson<{ event: string; address: string }>((e) => e.event === 'ready');
          const n = buyer.jsonSoFar<{ event: string }>().filter((e) => e.event === 'hung-up').length;
          buyer.send({ cmd: 'hangup', address });
          await buyer.waitForJson<{ event: string }>(
            (e) =>
              e.event === 'hung-up' &&
              buyer.jsonSoFar<{ event: string }>().filter((x) => x.event === 'hung-up').length > n,
            10_000,
          );
        },
        after: async (_seller, buyer) => {
          attempts = await attemptsOf(buyer);
        },
      },
    );
    rows.push(row);
    expect(mapped?.portMapping.state).toBe('mapped');
    console.log(`mapping lost: the buyer's attempts ${JSON.stringify(attempts)}`);
    const dead = `/ip4/${mapped!.portMapping.external!.ip}/tcp/${mapped!.portMapping.external!.port}`;
    const direct = attempts.find((a) => a.method === 'direct' && (a.addresses ?? []).some((x) => x.startsWith(dead)));
    expect(direct, JSON.stringify(attempts)).toBeDefined();
    expect(direct?.outcome).not.toBe('success');
    expect(rowOk(row), `${row.path ?? 'not connected'}: ${row.note}`).toBe(true);
  }, 300_000);
  test('a seller behind a UPnP/NAT-PMP router is reached direct-wan by a buyer behind a symmetric NAT', async () => {
    const home = await lab.router('pu1', { kind: 'eim', portMapping: true });
    const edm = await lab.router('pd1', { kind: 'edm' });
    let mapped: PortMapEvent | undefined;
    const row = await runProductPair(
      lab,
      rpcUrl,
      'UPnP/NAT-PMP router↔EDM',
      await lab.hostBehind(home, 's1'),
      await lab.hostBehind(edm, 'b1'),
      ['direct-wan'],
      undefined,
      {
        beforeBuy: async (seller) => {
          mapped = await settled(seller);
        },
      },
    );
    rows.push(row);
    expect(mapped?.portMapping.state).toBe('mapped');
    expect(mapped?.portMapping.protocol).toBe('nat-pmp');
    expect(mapped?.portMapping.external?.ip).toBe(home.wanIp);
    expect(rowOk(row), `${row.path ?? 'not connected'}: ${row.note}`).toBe(true);
  }, 300_000);

  test('a router with UPnP-IGD only: mapped over UPnP, reached direct-wan', async () => {
    const home = await lab.router('pu4', { kind: 'eim', portMapping: { natpmp: false } });
    const edm = await lab.router('pd4', { kind: 'edm' });
    let mapped: PortMapEvent | undefined;
    const row = await runProductPair(
      lab,
      rpcUrl,
      'UPnP-only router↔EDM',
      await lab.hostBehind(home, 's4'),
      await lab.hostBehind(edm, 'b4'),
      ['direct-wan'],
      undefined,
      {
        beforeBuy: async (seller) => {
          mapped = await settled(seller);
        },
      },
    );
    rows.push(row);
    expect(mapped?.portMapping.state, JSON.stringify(mapped)).toBe('mapped');
    expect(mapped?.portMapping.protocol).toBe('upnp-igd');
    expect(mapped?.portMapping.failures.map((f) => f.protocol)).toEqual(['nat-pmp']);
    expect(mapped?.portMapping.external?.ip).toBe(home.wanIp);
    expect(rowOk(row), `${row.path ?? 'not connected'}: ${row.note}`).toBe(true);
  }, 300_000);
});
