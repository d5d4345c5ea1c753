// `npm run bench -- connect` (root, Linux: it builds the NAT lab). Two parts, each N trials per
// NAT pair with 50 ms netem-like delay on every router:
//  - the raw ladder: the whole accept → connected exchange between two net nodes in namespaces
//    (ConnectInfo carried by the test): success rate, path, median time per path; then relayed vs
//    direct throughput and RTT measured in the same run;
//  - the product path: a seller and a buyer that are real Axon nodes (tests/natlab/product-peer.ts)
//    with default settings, the local ledger on a public lab host carrying every signal; the buyer
//    clicks Buy: success, path, paid, median and p95 of Buy → first frame, and each failed
//    trial's reason (the purchase's, with its connect attempts). The nine NAT pairs of the NAT-lab
//    matrix (tests/natlab/product-helpers.ts PRODUCT_SCENARIOS) plus public↔public. Between trials
//    the purchase is stopped and both hang up, so every trial connects from nothing.
// AXON_BENCH_CONNECT=ladder|product|both (default both); AXON_BENCH_TRIALS (20);
// AXON_BENCH_DELAY_MS (50); AXON_BENCH_SCENARIOS (a filter by name); AXON_BENCH_TRIAL_MS (90000);
// AXON_BENCH_PUBLIC_ROLES: roles of the lab's public Axon node configured by hand (default none:
// default settings, the node takes its roles by itself).
// AXON_BENCH_LAB: the lab's name (default axbench; another one lets two benches run side by side).
import { NatLab, type LabHost, type LabProcess } from '../natlab/lab';
import { spawnPeer, type ConnectedEvent, type Ready } from '../natlab/scenarios-helpers';
import { PRODUCT_SCENARIOS, spawnProduct, startPublicNode } from '../natlab/product-helpers';

const N = Number(process.env.AXON_BENCH_TRIALS ?? 20);
const DELAY_MS = Number(process.env.AXON_BENCH_DELAY_MS ?? 50);

interface Trial {
  ok: boolean;
  path: string | null;
  ms: number;
}

const MODE = process.env.AXON_BENCH_CONNECT ?? 'both';
const PUBLIC_ROLES = process.env.AXON_BENCH_PUBLIC_ROLES ?? '';
/** AXON_BENCH_SCENARIOS=EIM↔EIM,TCP: only the product scenarios whose name contains one of these. */
const ONLY = process.env.AXON_BENCH_SCENARIOS?.split(',').filter(Boolean);
/** A trial without a first frame this long after Buy counts as failed (its reason recorded). */
const TRIAL_MS = Number(process.env.AXON_BENCH_TRIAL_MS ?? 90_000);

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const p95 = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]!;
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

interface Ev {
  event: string;
  [k: string]: unknown;
}
const isFinalPurchase = (e: Ev): boolean =>
  e.event === 'purchase' && ['failed', 'ended', 'rejected'].includes(String(e.state));

/** N purchases between one seller and one buyer process, each from an unconnected start; a
 *  failed trial keeps its reason (the purchase's, with every connect attempt). */
async function productPair(lab: NatLab, rpcUrl: string, hs: LabHost, hb: LabHost) {
  const seller = spawnProduct(lab, hs, rpcUrl, 'seller');
  const buyer = spawnProduct(lab, hb, rpcUrl, 'buyer');
  const trials: { ok: boolean; path: string | null; ms: number; direct10: boolean; paid: boolean; reason?: string }[] =
    [];
  try {
    const [rs, rbuy] = await Promise.all([
      seller.waitForJson<Ev>((e) => e.event === 'ready', 120_000),
      buyer.waitForJson<Ev>((e) => e.event === 'ready', 120_000),
    ]);
    const listed = await seller.waitForJson<Ev>((e) => e.event === 'listed', 120_000);
    await buyer.waitForJson<Ev>((e) => e.event === 'funded', 120_000);
    // a user clicks Buy once the app is up and knows its NAT
    await Promise.all(
      [seller, buyer].map((p) =>
        p
          .waitForJson<Ev>((e) => e.event === 'nat' && (e.nat as { mapping?: string }).mapping !== 'unknown', 30_000)
          .catch(() => 0),
      ),
    );
    let lastBuy = 0;
    for (let i = 0; i < N; i++) {
      // a seller answers 6 requests per buyer key a minute (SELLER_LIMITS.requestsPerMinute; more are
      // ignored unanswered): trials start at least 10.5 s apart, or a fast pair's trials run into it
      if (lastBuy) await new Promise((res) => setTimeout(res, Math.max(0, lastBuy + 10_500 - Date.now())));
      const before = {
        ff: count(buyer, 'first-frame'),
        stopped: count(buyer, 'stopped'),
        attempts: count(buyer, 'attempts'),
        errors: count(buyer, 'error'),
      };
      const finals = buyer.jsonSoFar<Ev>().filter(isFinalPurchase).length;
      const nBought = count(buyer, 'bought');
      buyer.send({ cmd: 'buy', listingId: listed.listingId });
      const buyStart = Date.now();
      lastBuy = buyStart;
      const end = Date.now() + TRIAL_MS;
      let r: Ev | undefined;
      while (!r && Date.now() < end) {
        const ff = buyer.jsonSoFar<Ev>().filter((e) => e.event === 'first-frame');
        const fin = buyer.jsonSoFar<Ev>().filter(isFinalPurchase);
        const err = buyer.jsonSoFar<Ev>().filter((e) => e.event === 'error');
        r =
          ff.length > before.ff
            ? ff[before.ff]
            : fin.length > finals
              ? fin[finals]
              : err.length > before.errors
                ? err[before.errors]
                : undefined;
        if (!r) await new Promise((res) => setTimeout(res, 20));
      }
      const ok = r?.event === 'first-frame';
      let reason: string | undefined;
      if (!ok) {
        // why: the purchase's own reason and its connect attempts, as the buyer's history has them
        buyer.send({ cmd: 'attempts' });
        const at = await next<Ev>(buyer, 'attempts', before.attempts, 5000).catch(() => undefined);
        const list = (at?.attempts as { method: string; outcome: string; error?: string }[] | undefined) ?? [];
        reason = `${r ? String(r.reason ?? r.error ?? r.state) : `no first frame within ${TRIAL_MS} ms (purchase ${lastPurchase(buyer)})`}${
          list.length
            ? ` [${list.map((a) => `${a.method}:${a.outcome}${a.error ? ` (${a.error})` : ''}`).join(', ')}]`
            : ''
        }`;
      }
      // issue 15's measure: the path 10 s after Buy (a relayed first frame may be upgraded by a
      // punch or birthday round that is still running)
      const path10 = ok ? await pathWithin(buyer, buyStart + 10_000) : null;
      // wait for the first payment before stopping: a buyer that stops inside the first period's
      // grace without paying is refused by that seller for 10 minutes (the seller's rule against
      // streaming through grace windows) — under load a payment took over 20 s
      // this trial's own payment: the last purchase's settlement may land while this one runs
      const id = ok ? (await next<Ev>(buyer, 'bought', nBought, 5000).catch(() => undefined))?.requestId : undefined;
      const pay = id ? await paymentOf(buyer, String(id), 60_000) : undefined;
      // a payment event is also emitted when it failed: only an accepted one is paid
      const paid = pay !== undefined && ['vouched', 'confirmed'].includes(String(pay.state));
      if (ok && !paid)
        reason = `first frame, then the first payment ${pay ? `${String(pay.state)}: ${String(pay.reason ?? '')}` : 'did not come within 60 s'}`;
      trials.push({
        ok,
        path: ok ? String(r!.path ?? '?') : null,
        ms: ok ? Number(r!.ms) : -1,
        direct10: path10 !== null && path10 !== 'relayed',
        paid,
        ...(reason ? { reason } : {}),
      });
      if (reason) console.log(`  trial ${i + 1} failed: ${reason}`);
      buyer.send({ cmd: 'stop-purchase' });
      await next(buyer, 'stopped', before.stopped, 20_000).catch(() => undefined);
      await new Promise((res) => setTimeout(res, 1500)); // the seller reads the ServiceStop
      const nh = [count(buyer, 'hung-up'), count(seller, 'hung-up')];
      buyer.send({ cmd: 'hangup', address: rs.address });
      seller.send({ cmd: 'hangup', address: rbuy.address });
      await Promise.all([next(buyer, 'hung-up', nh[0]!, 10_000), next(seller, 'hung-up', nh[1]!, 10_000)]).catch(
        () => undefined,
      );
      await new Promise((res) => setTimeout(res, 500));
    }
  } finally {
    await Promise.all([seller.kill('SIGTERM', 3000), buyer.kill('SIGTERM', 3000)]);
  }
  return trials;
}

/** The first payment event of purchase `id` (the product peer tags each with its purchase). */
async function paymentOf(buyer: LabProcess, id: string, ms: number): Promise<Ev | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const e = buyer.jsonSoFar<Ev>().find((x) => x.event === 'paid' && x.requestId === id);
    if (e || Date.now() > end) return e;
    await new Promise((r) => setTimeout(r, 20));
  }
}

let pathQuery = 0;
/** The buyer's path to the seller once it is direct (not relayed), or the last one seen at `until`. */
async function pathWithin(buyer: LabProcess, until: number): Promise<string | null> {
  let path: string | null;
  do {
    const id = ++pathQuery;
    buyer.send({ cmd: 'path', id });
    path = await buyer
      .waitForJson<{ event: string; id?: number; path: string | null }>((e) => e.event === 'path' && e.id === id, 5000)
      .then((e) => e.path)
      .catch(() => null);
    if (path && path !== 'relayed') return path;
    await new Promise((res) => setTimeout(res, 250));
  } while (Date.now() < until);
  return path;
}

/** The buyer's last purchase state, for a trial that saw neither a first frame nor an end. */
function lastPurchase(buyer: LabProcess): string {
  const p = buyer.jsonSoFar<Ev>().filter((e) => e.event === 'purchase');
  const last = p[p.length - 1];
  return last ? `${String(last.state)}${last.reason ? `: ${String(last.reason)}` : ''}` : 'never reported';
}

async function productPath(lab: NatLab): Promise<Record<string, unknown>[]> {
  const ledger = await lab.startLedger();
  const { node: pub, servingAfterMs } = await startPublicNode(lab, ledger.rpcUrl, PUBLIC_ROLES || undefined);
  console.log(`public node serving relay + reflector ${servingAfterMs} ms after it was funded`);
  const setups: [string, () => Promise<[LabHost, LabHost]>][] = [
    [
      'public↔public',
      async () => [
        await lab.publicHost('xpa', { delayMs: DELAY_MS }),
        await lab.publicHost('xpb', { delayMs: DELAY_MS }),
      ],
    ],
    ...PRODUCT_SCENARIOS.filter((sc) => !ONLY || ONLY.some((o) => sc.name.includes(o))).map(
      (sc): [string, () => Promise<[LabHost, LabHost]>] => [
        sc.name,
        async () => {
          const { seller, buyer } = await sc.build(lab, DELAY_MS);
          return [seller, buyer];
        },
      ],
    ),
  ];
  const rows: Record<string, unknown>[] = [];
  for (const [name, setup] of setups) {
    const t0 = Date.now();
    const [hs, hb] = await setup();
    const trials = await productPair(lab, ledger.rpcUrl, hs, hb).catch((e: Error) => {
      console.log(`${name}: ${e.message}`);
      return [];
    });
    const ms = trials.filter((t) => t.ok).map((t) => t.ms);
    const paths = new Map<string, number>();
    for (const t of trials) if (t.path) paths.set(t.path, (paths.get(t.path) ?? 0) + 1);
    const failures = trials.filter((t) => t.reason).map((t) => t.reason!);
    rows.push({
      pair: name,
      success: `${ms.length}/${trials.length}`,
      paid: `${trials.filter((t) => t.paid).length}/${trials.length}`,
      paths: JSON.stringify(Object.fromEntries(paths)),
      'direct ≤ 10 s': `${trials.filter((t) => t.direct10).length}/${trials.length}`,
      'median Buy→first frame': median(ms),
      'p95 Buy→first frame': p95(ms),
      ...(failures.length ? { failures } : {}),
    });
    console.log(`${name}: ${ms.length}/${trials.length} in ${Math.round((Date.now() - t0) / 1000)} s`);
  }
  await pub.kill();
  return rows;
}

export default async function run(): Promise<void> {
  // AXON_BENCH_LAB: another lab name, so two benches can run side by side on one machine
  const lab = await NatLab.create({ name: process.env.AXON_BENCH_LAB ?? 'axbench' });
  try {
    if (MODE !== 'ladder') {
      const rows = await productPath(lab);
      console.log(
        `\nproduct path, ${N} purchases per pair, ${DELAY_MS} ms delay per router/public host, public node roles: ${PUBLIC_ROLES || 'default (auto)'} (Buy → first frame, ms):`,
      );
      console.table(rows);
      console.log(`CONNECT_PRODUCT_BENCH_JSON ${JSON.stringify({ N, DELAY_MS, rows })}`);
    }
    if (MODE !== 'product') await ladderBench(lab);
  } finally {
    await lab.destroy();
  }
}

async function ladderBench(lab: NatLab): Promise<void> {
  {
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
        // birthday probing (docs/net.md): punched once a pair of ports is found, else relayed
        'EIM↔EDM',
        async () => [
          await lab.hostBehind(await lab.router('ne4', { kind: 'eim', delayMs: DELAY_MS }), 'e4'),
          await lab.hostBehind(await lab.router('nd3', { kind: 'edm', delayMs: DELAY_MS }), 'd3'),
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
  }
}
