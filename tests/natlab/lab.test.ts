// Tests of the NAT lab harness itself (tests/natlab/lab): each NAT kind behaves as documented,
// the STUN server answers RFC 5780 tests, processes run inside namespaces with Node 22, and
// teardown leaves nothing behind. Needs root; without it every test fails with the reason.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  expectedNat,
  NatLab,
  UdpPeer,
  printMatrix,
  NODE_BIN,
  REPO_ROOT,
  TSX_CLI,
  type LanHost,
  type NatKind,
  type PublicHost,
  type Router,
} from './lab';
import { pidAlive } from './lab/teardown';

const netnsList = (): string[] =>
  execFileSync('ip', ['netns', 'list'])
    .toString()
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);

test('this machine can run the NAT lab (root, ip netns, nftables, coturn)', async () => {
  expect(await NatLab.available()).toEqual({ ok: true });
});

describe('NAT kinds, seen from the public side', () => {
  let lab: NatLab;
  let s1: PublicHost;
  let s2: PublicHost;
  const routers = {} as Record<NatKind, Router>;
  const hosts = {} as Record<NatKind, LanHost>;
  let s1main: UdpPeer;
  let s2main: UdpPeer;

  beforeAll(async () => {
    lab = await NatLab.create({ name: 'axtk' });
    s1 = await lab.publicHost('s1');
    s2 = await lab.publicHost('s2');
    for (const kind of ['eim', 'edm', 'fullcone'] as const) {
      routers[kind] = await lab.router(`nat${kind}`, { kind });
      hosts[kind] = await lab.hostBehind(routers[kind], `h${kind}`);
    }
    s1main = await UdpPeer.start(lab, s1, 5000);
    s2main = await UdpPeer.start(lab, s2, 5000);
  });

  afterAll(async () => {
    await lab?.destroy();
    expect(netnsList().filter((ns) => ns.startsWith('axtk-'))).toEqual([]);
  });

  const cases: {
    kind: NatKind;
    mapping: 'independent' | 'dependent';
    filtering: 'endpoint-independent' | 'port-restricted';
  }[] = [
    { kind: 'eim', mapping: 'independent', filtering: 'port-restricted' },
    { kind: 'edm', mapping: 'dependent', filtering: 'port-restricted' },
    {
      kind: 'fullcone',
      mapping: 'independent',
      filtering: 'endpoint-independent',
    },
  ];

  describe.each(cases)('$kind router', ({ kind, mapping, filtering }) => {
    let peer: UdpPeer;
    let viaS1: string;
    let viaS2: string;

    beforeAll(async () => {
      peer = await UdpPeer.start(lab, hosts[kind], 4000);
      viaS1 = await peer.observe(s1main.local);
      viaS2 = await peer.observe(s2main.local);
    });

    test('a LAN host is seen with the router WAN address', () => {
      expect(viaS1.split(':')[0]).toBe(expectedNat(hosts[kind]).publicIp);
      expect(viaS1.split(':')[0]).toBe(routers[kind].wanIp);
      expect(viaS2.split(':')[0]).toBe(routers[kind].wanIp);
    });

    test(`one socket, two destinations: mapping is endpoint-${mapping}`, () => {
      if (mapping === 'independent') {
        expect(viaS2).toBe(viaS1);
        expect(viaS1).toBe(`${routers[kind].wanIp}:4000`); // port preserved
      } else {
        expect(viaS2.split(':')[1]).not.toBe(viaS1.split(':')[1]);
      }
    });

    test(`unsolicited inbound: filtering is ${filtering}`, async () => {
      // Same IP as a contacted endpoint but another port, and a never-contacted IP.
      const s1other = await UdpPeer.start(lab, s1, 5001);
      const s2other = await UdpPeer.start(lab, s2, 5001);
      await s1other.send(viaS1, `${kind}-same-ip-other-port`);
      await s2other.send(viaS1, `${kind}-other-ip`);
      // A port nobody behind the router ever used: dropped by every kind.
      await s2other.send(`${routers[kind].wanIp}:4999`, `${kind}-unmapped-port`);
      // The contacted endpoint itself always gets through (control).
      await s1main.send(viaS1, `${kind}-solicited`);
      expect(await peer.waitForText(`${kind}-solicited`, 3_000)).toBe(true);
      const open = filtering === 'endpoint-independent';
      expect(await peer.waitForText(`${kind}-same-ip-other-port`, open ? 3_000 : 500)).toBe(open);
      expect(await peer.waitForText(`${kind}-other-ip`, open ? 3_000 : 300)).toBe(open);
      expect(peer.received().some((t) => t.endsWith('-unmapped-port'))).toBe(false);
      await Promise.all([s1other.stop(), s2other.stop()]);
    });
  });

  test('two hosts behind one NAT reach each other over the LAN, unNATed', async () => {
    const second = await lab.hostBehind(routers.eim, 'heim2');
    const pa = await UdpPeer.start(lab, hosts.eim, 4100);
    const pb = await UdpPeer.start(lab, second, 4100);
    expect(await pa.observe(pb.local)).toBe(`${hosts.eim.ip}:4100`);
    expect(second.ip).not.toBe(hosts.eim.ip);
    // Same local port as the first host, to the same destination: the NAT must renumber one.
    expect(await pb.observe(s1main.local)).not.toBe(await pa.observe(s1main.local));
  });

  test('two homes may use the same LAN range; each is seen with its own WAN address', async () => {
    const h1 = await lab.hostBehind(await lab.router('home1', { kind: 'eim', lanPrefix: '192.168.1' }), 'home1pc');
    const h2 = await lab.hostBehind(await lab.router('home2', { kind: 'eim', lanPrefix: '192.168.1' }), 'home2pc');
    expect(h1.ip).toBe('192.168.1.2');
    expect(h2.ip).toBe('192.168.1.2');
    const p1 = await UdpPeer.start(lab, h1, 4400);
    const p2 = await UdpPeer.start(lab, h2, 4400);
    expect(await p1.observe(s1main.local)).toBe(`${expectedNat(h1).publicIp}:4400`);
    expect(await p2.observe(s1main.local)).toBe(`${expectedNat(h2).publicIp}:4400`);
  });

  test('the public side has no route into a LAN', async () => {
    const pa = await UdpPeer.start(lab, hosts.eim, 4200);
    await s2main.send(pa.local, 'direct-to-lan-address');
    expect(await pa.waitForText('direct-to-lan-address', 300)).toBe(false);
  });

  test('setOnline(false) cuts a host off, setOnline(true) brings it back', async () => {
    const pa = await UdpPeer.start(lab, hosts.fullcone, 4300);
    expect(await pa.observe(s1main.local)).toBe(`${routers.fullcone.wanIp}:4300`);
    await lab.setOnline(routers.fullcone, false);
    await expect(pa.observe(s1main.local, 2, 200)).rejects.toThrow(/no "observed" answer/);
    await lab.setOnline(routers.fullcone, true);
    expect(await pa.observe(s1main.local)).toBe(`${routers.fullcone.wanIp}:4300`);
  });

  test('processes run with the project Node 22 and see only their namespace', async () => {
    const proc = lab.spawnNode(hosts.edm, join(REPO_ROOT, 'tests/natlab/lab/fixtures/whereami.ts'));
    const info = await proc.waitForJson<{ node: string; addresses: string[] }>((o) => 'node' in o, 30_000);
    expect(info.node).toMatch(/^v22\./);
    expect(info.addresses.sort()).toEqual(['127.0.0.1', hosts.edm.ip].sort());
  });
});

test.each([0, 50])(
  'a standard ICE agent (node-datachannel) hole-punches between two EIM routers, delay %i ms',
  async (delayMs) => {
    const lab = await NatLab.create({ name: 'axti' });
    try {
      const stun = await lab.startStun();
      const a = await lab.hostBehind(await lab.router('nata', { kind: 'eim', delayMs }), 'a');
      const b = await lab.hostBehind(await lab.router('natb', { kind: 'eim', delayMs }), 'b');
      const script = join(REPO_ROOT, 'tests/natlab/lab/fixtures/ice-peer.mjs');
      const pa = lab.spawnNode(a, script, ['offer', stun.url]);
      const pb = lab.spawnNode(b, script, ['answer', stun.url]);
      // Signalling out of band: every description and candidate of one side goes to the other.
      const relay = async (from: typeof pa, to: typeof pb): Promise<void> => {
        for await (const ev of from.jsonLines<{
          event: string;
          sdp?: string;
          type?: string;
          candidate?: string;
          mid?: string;
        }>()) {
          if (ev.event === 'description') to.send({ description: { sdp: ev.sdp, type: ev.type } });
          if (ev.event === 'candidate') to.send({ candidate: { candidate: ev.candidate, mid: ev.mid } });
        }
      };
      void relay(pa, pb);
      void relay(pb, pa);
      type Open = {
        event: 'open';
        local: { type: string; address: string };
        remote: { type: string; address: string };
      };
      const open = await pa.waitForJson<Open>((e) => e.event === 'open', 20_000);
      expect(open.local.type).toBe('srflx');
      expect(open.remote.type).toBe('srflx');
      expect(open.remote.address).toBe(expectedNat(b).publicIp);
      await pb.waitForJson((e) => e.event === 'message' && e.text === 'hello from offer', 10_000);
    } finally {
      await lab.destroy();
    }
  },
);

test('a router with delayMs holds its outgoing packets that long', async () => {
  const lab = await NatLab.create({ name: 'axtw' });
  try {
    const server = await lab.publicHost('srv');
    const slow = await lab.router('slow', { kind: 'eim', delayMs: 80 });
    const host = await lab.hostBehind(slow, 'h');
    const echo = await UdpPeer.start(lab, server, 5000);
    const peer = await UdpPeer.start(lab, host, 4000);
    expect(await peer.observe(echo.local)).toBe(`${slow.wanIp}:4000`);
    const t0 = performance.now();
    await peer.observe(echo.local);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(80);
  } finally {
    await lab.destroy();
  }
});

describe('STUN server (coturn) answers RFC 5780 behaviour discovery', () => {
  let lab: NatLab;
  beforeAll(async () => {
    lab = await NatLab.create({ name: 'axts' });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  test('classifies EIM, EDM and full-cone routers', async () => {
    const stun = await lab.startStun();
    expect(stun.primary).toBe(`${stun.ip}:3478`);
    expect(stun.alternate).toBe(`${stun.altIp}:3479`);
    const discover = async (kind: NatKind, flags: string[]): Promise<string> => {
      const r = await lab.router(`r${kind}`, { kind });
      const h = await lab.hostBehind(r, `s${kind}`);
      return lab.exec(h, 'turnutils_natdiscovery', [...flags, stun.ip]);
    };
    const eim = await discover('eim', ['-m']);
    expect(eim).toContain('NAT with Endpoint Independent Mapping');
    expect(eim).toContain(`UDP reflexive addr: ${lab.host('reim').ip}:`);
    expect(await discover('edm', ['-m'])).toContain('NAT with Address and Port Dependent Mapping');
    expect(await discover('fullcone', ['-f'])).toContain('NAT with Endpoint Independent Filtering');
  });
});

test('the local ledger runs on a public host and answers RPC from behind a NAT (TCP through the NAT)', async () => {
  const lab = await NatLab.create({ name: 'axtg' });
  try {
    const ledger = await lab.startLedger();
    expect(ledger.rpcUrl).toBe(`http://${ledger.host.ip}:8899`);
    const nat = await lab.router('nat', { kind: 'edm' });
    const h = await lab.hostBehind(nat, 'h');
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getHealth' });
    const proc = lab.spawnNode(h, '-e', [
      `fetch(${JSON.stringify(ledger.rpcUrl)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(body)} }).then(r => r.json()).then(j => console.log(JSON.stringify(j)))`,
    ]);
    expect(await proc.waitForJson((o) => 'result' in o, 20_000)).toMatchObject({ result: 'ok' });
  } finally {
    await lab.destroy();
  }
});

describe('teardown', () => {
  test('destroy kills processes and removes every namespace; it is idempotent', async () => {
    const lab = await NatLab.create({ name: 'axtd' });
    const r = await lab.router('r', { kind: 'eim' });
    const h = await lab.hostBehind(r, 'h');
    await lab.publicHost('p');
    const proc = lab.spawn(h, 'sleep', ['600']);
    expect(
      netnsList()
        .filter((ns) => ns.startsWith('axtd-'))
        .sort(),
    ).toEqual(['axtd-h', 'axtd-inet', 'axtd-p', 'axtd-r']);
    await lab.destroy();
    await lab.destroy();
    expect(netnsList().filter((ns) => ns.startsWith('axtd-'))).toEqual([]);
    expect(proc.exit).not.toBeNull();
    expect(existsSync(lab.tmpDir)).toBe(false);
    expect(() => lab.spawn(h, 'true')).toThrow(/destroyed/);
  });

  test('create removes leftovers of a crashed run with the same name', async () => {
    // What a run killed mid-way leaves: its lock (owner gone), a namespace, a process inside.
    // An interrupted earlier run of this very test may have left them already: that is fine.
    const dead = spawnSync('true').pid!;
    mkdirSync('/run/axon-natlab', { recursive: true });
    writeFileSync('/run/axon-natlab/axtl.pid', String(dead));
    if (!netnsList().includes('axtl-old')) execFileSync('ip', ['netns', 'add', 'axtl-old']);
    const orphan = spawn('ip', ['netns', 'exec', 'axtl-old', 'sleep', '600'], {
      stdio: 'ignore',
      detached: true,
    });
    orphan.unref();
    await new Promise((r) => setTimeout(r, 200));
    expect(pidAlive(orphan.pid!)).toBe(true);
    const lab = await NatLab.create({ name: 'axtl' });
    try {
      expect(netnsList()).not.toContain('axtl-old');
      await new Promise((r) => setTimeout(r, 100));
      expect(pidAlive(orphan.pid!)).toBe(false);
    } finally {
      await lab.destroy();
    }
  });

  test('after a SIGKILLed run, the next lab (any name) removes its namespaces, processes and files', async () => {
    const crashed = spawn(NODE_BIN, [TSX_CLI, join(REPO_ROOT, 'tests/natlab/lab/fixtures/crash-lab.ts'), 'axtz'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const info = await new Promise<{ pid: number; sleeper: number; tmpDir: string }>((resolve, reject) => {
      crashed.stdout!.on('data', (d: Buffer) => resolve(JSON.parse(d.toString())));
      crashed.once('exit', (code) => reject(new Error(`crash-lab exited ${code}`)));
    });
    expect(netnsList().filter((ns) => ns.startsWith('axtz-')).length).toBe(3);
    process.kill(info.pid, 'SIGKILL'); // the lab's own process: no exit hook runs
    crashed.kill('SIGKILL'); // tsx's launcher, if it is a separate process
    await new Promise((r) => setTimeout(r, 200));
    expect(netnsList().filter((ns) => ns.startsWith('axtz-')).length).toBe(3);
    const lab = await NatLab.create({ name: 'axtq' });
    await lab.destroy();
    expect(netnsList().filter((ns) => ns.startsWith('axtz-'))).toEqual([]);
    expect(pidAlive(info.sleeper)).toBe(false);
    expect(existsSync(info.tmpDir)).toBe(false);
  });

  test('a lock whose pid now belongs to another process does not hold the name', async () => {
    // After a crash the dead owner's pid can be given to an unrelated process (here: our parent).
    mkdirSync('/run/axon-natlab', { recursive: true });
    writeFileSync('/run/axon-natlab/axtp.pid', `${process.ppid} 1`);
    const lab = await NatLab.create({ name: 'axtp' });
    await lab.destroy();
  });

  test('the next lab removes stray scratch directories and probe namespaces of dead runs', async () => {
    const dead = spawnSync('true').pid!;
    const stray = join(tmpdir(), 'axon-natlab-axtx');
    mkdirSync(stray, { recursive: true });
    writeFileSync(join(stray, 'ledger.db'), 'x');
    if (!netnsList().includes(`natlab-probe-${dead}`)) execFileSync('ip', ['netns', 'add', `natlab-probe-${dead}`]);
    const lab = await NatLab.create({ name: 'axty' });
    await lab.destroy();
    expect(existsSync(stray)).toBe(false);
    expect(netnsList()).not.toContain(`natlab-probe-${dead}`);
  });

  test('a name in use by a live lab is refused', async () => {
    const lab = await NatLab.create({ name: 'axtu' });
    try {
      await expect(NatLab.create({ name: 'axtu' })).rejects.toThrow(/in use/);
    } finally {
      await lab.destroy();
    }
    const again = await NatLab.create({ name: 'axtu' });
    await again.destroy();
  });
});

test('printMatrix renders a table and JSON and flags wrong verdicts and missing connections', () => {
  const res = printMatrix(
    [
      {
        scenario: 'EIM↔EIM',
        verdicts: [{ peer: 'a', expected: 'eim', detected: 'eim' }],
        path: 'hole-punched',
        expectedPath: 'hole-punched',
        attempts: 2,
        timeToConnectMs: 812.4,
      },
      {
        scenario: 'EDM↔EDM',
        verdicts: [{ peer: 'a', expected: 'edm', detected: 'eim' }],
        path: 'relayed',
        attempts: 3,
        timeToConnectMs: 2100,
      },
      {
        scenario: 'EIM↔EDM',
        verdicts: [],
        path: null,
        attempts: 4,
        timeToConnectMs: null,
        note: 'timeout',
      },
    ],
    { title: 'test matrix', print: false },
  );
  expect(res.table).toContain('| EIM↔EIM');
  expect(res.table).toContain('812 ms');
  expect(res.table).toContain('NOT CONNECTED');
  expect(res.rows.map((r) => r.ok)).toEqual([true, false, false]);
  expect(res.allOk).toBe(false);
  expect(JSON.parse(res.json).rows).toHaveLength(3);
});
