// `npm run bench -- connect` (root, Linux: it builds the NAT lab). N trials per NAT pair of the
// whole accept → connected exchange between two real nodes in namespaces, with 50 ms netem-like
// delay on every router: success rate, path reached, median time from accept to connected per
// path; then relayed vs direct throughput and RTT measured in the same run.
import { NatLab, type LabHost, type LabProcess } from '../natlab/lab';
import { spawnPeer, type ConnectedEvent, type Ready } from '../natlab/scenarios-helpers';

const N = Number(process.env.AXON_BENCH_TRIALS ?? 20);
const DELAY_MS = Number(process.env.AXON_BENCH_DELAY_MS ?? 50);

interface Trial {
  ok: boolean;
  path: string | null;
  ms: number;
}

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function pair(lab: NatLab, stun: string, reflectors: string[], relays: string[], ha: LabHost, hb: LabHost) {
  const a = spawnPeer(lab, ha, stun);
  const b = spawnPeer(lab, hb, stun);
  const [ra, rb] = await Promise.all([
    a.waitForJson<Ready>((e) => e.event === 'ready', 60_000),
    b.waitForJson<Ready>((e) => e.event === 'ready', 60_000),
  ]);
  for (const p of [a, b]) p.send({ cmd: 'discover', reflectors });
  await Promise.all([a, b].map((p) => p.waitForJson((e: { event: string }) => e.event === 'nat', 30_000)));
  for (const p of [a, b]) p.send({ cmd: 'relays', relays });
  await Promise.all([a, b].map((p) => p.waitForJson((e: { event: string }) => e.event === 'relays', 30_000)));
  return { a, b, ra, rb };
}

/** Counts JSON events of one kind seen so far, to wait for the next one. */
const count = (p: LabProcess, ev: string): number =>
  p.jsonSoFar<{ event: string }>().filter((e) => e.event === ev).length;
async function next<T extends { event: string }>(p: LabProcess, ev: string, after: number, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const all = p.jsonSoFar<T>().filter((e) => e.event === ev);
    if (all.length > after) return all[after]!;
    if (Date.now() > end) throw new Error(`${p.label}: no ${ev} #${after + 1} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function trial(a: LabProcess, b: LabProcess, ra: Ready, rb: Ready): Promise<Trial> {
  const nInfoA = count(a, 'info');
  const nInfoB = count(b, 'info');
  a.send({ cmd: 'prepare', peer: rb.peerId, role: 'initiator' });
  const ia = await next<{ event: string; info: string }>(a, 'info', nInfoA, 30_000);
  b.send({ cmd: 'prepare', peer: ra.peerId, role: 'responder', remote: ia.info });
  const ib = await next<{ event: string; info: string }>(b, 'info', nInfoB, 30_000);
  const nConn = count(a, 'connected') + count(a, 'failed');
  const start = Date.now();
  b.send({ cmd: 'connect', remote: ia.info, punchAt: start + 100 });
  a.send({ cmd: 'connect', remote: ib.info, punchAt: start + 100 });
  const end = Date.now() + 45_000;
  let r: ConnectedEvent | undefined;
  while (!r && Date.now() < end) {
    const evs = a
      .jsonSoFar<ConnectedEvent & { cmd?: string }>()
      .filter((e) => e.event === 'connected' || (e.event === 'failed' && e.cmd === 'connect'));
    if (evs.length > nConn) r = evs[nConn];
    else await new Promise((res) => setTimeout(res, 10));
  }
  const ms = Date.now() - start;
  const nReset = count(a, 'reset');
  a.send({ cmd: 'reset', peer: rb.peerId });
  b.send({ cmd: 'reset', peer: ra.peerId });
  await next(a, 'reset', nReset, 10_000).catch(() => undefined);
  await new Promise((res) => setTimeout(res, 300));
  return { ok: r?.event === 'connected', path: r?.path?.kind ?? null, ms };
}

async function measure(a: LabProcess, b: LabProcess, ra: Ready, rb: Ready, bytes: number) {
  await trial(a, b, ra, rb).catch(() => undefined); // leaves nothing connected; connect again and keep it
  const nInfoA = count(a, 'info');
  const nInfoB = count(b, 'info');
  a.send({ cmd: 'prepare', peer: rb.peerId, role: 'initiator' });
  const ia = await next<{ info: string; event: string }>(a, 'info', nInfoA, 30_000);
  b.send({ cmd: 'prepare', peer: ra.peerId, role: 'responder', remote: ia.info });
  const ib = await next<{ info: string; event: string }>(b, 'info', nInfoB, 30_000);
  const nConn = count(a, 'connected');
  b.send({ cmd: 'connect', remote: ia.info });
  a.send({ cmd: 'connect', remote: ib.info });
  const c = await next<ConnectedEvent>(a, 'connected', nConn, 45_000);
  await new Promise((res) => setTimeout(res, 2500)); // a ping round
  const nPing = count(a, 'ping');
  a.send({ cmd: 'ping', peer: rb.peerId });
  const ping = await next<{ event: string; rttMs: number | null }>(a, 'ping', nPing, 20_000);
  const nEcho = count(a, 'echo');
  a.send({ cmd: 'echo', peer: rb.peerId, bytes });
  const echo = await next<{ event: string; bytes: number; ms: number }>(a, 'echo', nEcho, 120_000);
  return { path: c.path?.kind, rttMs: ping.rttMs, mbps: (echo.bytes * 8) / 1e6 / (echo.ms / 1000) };
}

export default async function run(): Promise<void> {
  const lab = await NatLab.create({ name: 'axbench' });
  try {
    const stun = await lab.startStun();
    const reflectors: string[] = [];
    const relays: string[] = [];
    for (const [i, n] of ['r1', 'r2', 'r3'].entries()) {
      const p = spawnPeer(lab, await lab.publicHost(n), stun.primary, [
        '--roles',
        i < 2 ? 'relay,reflector' : 'reflector',
      ]);
      const ready = await p.waitForJson<Ready>((e) => e.event === 'ready', 60_000);
      reflectors.push(...(ready.announce ?? []));
      if (i < 2) relays.push(ready.addrs.find((a) => a.includes('/tcp/'))!);
    }
    const setups: [string, () => Promise<[LabHost, LabHost]>][] = [
      [
        'public↔public',
        async () => [
          await lab.publicHost('pa', { delayMs: DELAY_MS }),
          await lab.publicHost('pb', { delayMs: DELAY_MS }),
        ],
      ],
      [
        'EIM↔EIM',
        async () => [
          await lab.hostBehind(await lab.router('ne1', { kind: 'eim', delayMs: DELAY_MS }), 'e1'),
          await lab.hostBehind(await lab.router('ne2', { kind: 'eim', delayMs: DELAY_MS }), 'e2'),
        ],
      ],
      [
        'EIM↔public',
        async () => [
          await lab.hostBehind(await lab.router('ne3', { kind: 'eim', delayMs: DELAY_MS }), 'e3'),
          await lab.publicHost('pc', { delayMs: DELAY_MS }),
        ],
      ],
      [
        'EDM↔EDM',
        async () => [
          await lab.hostBehind(await lab.router('nd1', { kind: 'edm', delayMs: DELAY_MS }), 'd1'),
          await lab.hostBehind(await lab.router('nd2', { kind: 'edm', delayMs: DELAY_MS }), 'd2'),
        ],
      ],
    ];
    const summary: Record<string, unknown>[] = [];
    const perf: Record<string, { path?: string; rttMs: number | null; mbps: number }> = {};
    for (const [name, setup] of setups) {
      const [ha, hb] = await setup();
      const { a, b, ra, rb } = await pair(lab, stun.primary, reflectors, relays, ha, hb);
      const trials: Trial[] = [];
      for (let i = 0; i < N; i++)
        trials.push(await trial(a, b, ra, rb).catch(() => ({ ok: false, path: null, ms: -1 })));
      const byPath = new Map<string, number[]>();
      for (const t of trials) if (t.ok && t.path) byPath.set(t.path, [...(byPath.get(t.path) ?? []), t.ms]);
      summary.push({
        pair: name,
        trials: N,
        success: `${trials.filter((t) => t.ok).length}/${N}`,
        paths: Object.fromEntries([...byPath].map(([p, ms]) => [p, `${ms.length}× median ${median(ms)} ms`])),
      });
      if (name === 'public↔public' || name === 'EDM↔EDM' || name === 'EIM↔EIM')
        perf[name] = await measure(a, b, ra, rb, 8 * 1024 * 1024);
      await Promise.all([a.kill(), b.kill()]);
    }
    console.log(
      `\nconnect ladder, ${N} trials per pair, ${DELAY_MS} ms delay per router/public host (accept → connected):`,
    );
    console.table(summary.map((s) => ({ ...s, paths: JSON.stringify(s.paths) })));
    const direct = perf['public↔public'];
    const relayed = perf['EDM↔EDM'];
    console.log('\nthroughput and RTT, same run (8 MiB echo):');
    console.table(
      Object.entries(perf).map(([k, v]) => ({
        pair: k,
        path: v.path,
        rttMs: v.rttMs?.toFixed(1),
        mbitPerS: v.mbps.toFixed(1),
      })),
    );
    if (direct && relayed) {
      console.log(
        `relayed/direct throughput ratio: ${(relayed.mbps / direct.mbps).toFixed(2)}; RTT ratio: ${relayed.rttMs && direct.rttMs ? (relayed.rttMs / direct.rttMs).toFixed(2) : 'n/a'}`,
      );
    }
    console.log(`CONNECT_BENCH_JSON ${JSON.stringify({ N, DELAY_MS, summary, perf })}`);
  } finally {
    await lab.destroy();
  }
}
