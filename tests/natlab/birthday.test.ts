// Birthday-paradox probing between an EIM home and an EDM (symmetric) home (issue 15 §2,
// src-main/core/net/birthday.ts, docs/net.md "Birthday probing"): the EDM side opens 256 sockets,
// the EIM side probes random ports of the EDM router at a bounded rate; a trial succeeds when both
// sides learn the same pair of ports and a datagram passed both NATs each way. Probes are
// authenticated: a side with the wrong key never reports a pair. Measures rate and time per trial.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatLab, REPO_ROOT, type LabHost, type LabProcess, type Router } from './lab';
import { join } from 'node:path';

const PEER = join(REPO_ROOT, 'tests/natlab/birthday-peer.ts');
const TRIALS = Number(process.env.AXON_BIRTHDAY_TRIALS ?? 10);
const DELAY_MS = Number(process.env.AXON_BIRTHDAY_DELAY_MS ?? 0);

let lab: NatLab;
let eim: Router;
let edm: Router;
let easyHost: LabHost;
let hardHost: LabHost;

interface Found {
  event: 'found' | 'failed';
  localPort?: number;
  remote?: { ip: string; port: number };
  sent: number;
  ms?: number;
  error?: string;
}

async function trial(
  i: number,
  keys: [Buffer, Buffer],
  ice?: (easy: LabProcess, hard: LabProcess) => Promise<void>,
): Promise<{ easy: Found; hard: Found }> {
  const extra = ice ? ['--ice'] : [];
  const easyPort = 30000 + i;
  const easy = lab.spawnNode(
    easyHost,
    PEER,
    [
      '--role',
      'easy',
      '--peer-ip',
      edm.wanIp,
      '--local-port',
      String(easyPort),
      '--key',
      keys[0].toString('hex'),
      ...extra,
    ],
    { label: `easy${i}` },
  );
  // MASQUERADE keeps the source port: the easy side's public port is its local one (in the product
  // it is the server-reflexive candidate's port)
  const hard = lab.spawnNode(
    hardHost,
    PEER,
    [
      '--role',
      'hard',
      '--peer-ip',
      eim.wanIp,
      '--peer-port',
      String(easyPort),
      '--key',
      keys[1].toString('hex'),
      ...extra,
    ],
    { label: `hard${i}` },
  );
  try {
    await Promise.all([easy, hard].map((p) => p.waitForJson<{ event: string }>((e) => e.event === 'ready', 30_000)));
    hard.send('go');
    await new Promise((r) => setTimeout(r, 200)); // the hard side's 256 sockets first, as the punch's order
    easy.send('go');
    const done = (e: Found): boolean => e.event === 'found' || e.event === 'failed';
    const [e, h] = await Promise.all([easy.waitForJson<Found>(done, 30_000), hard.waitForJson<Found>(done, 30_000)]);
    if (ice && e.event === 'found' && h.event === 'found') await ice(easy, hard);
    return { easy: e, hard: h };
  } finally {
    await Promise.all([easy.kill('SIGTERM', 1000), hard.kill('SIGTERM', 1000)]);
  }
}

beforeAll(async () => {
  lab = await NatLab.create({ name: 'axbday' });
  eim = await lab.router('be1', { kind: 'eim', delayMs: DELAY_MS });
  edm = await lab.router('bd1', { kind: 'edm', delayMs: DELAY_MS });
  easyHost = await lab.hostBehind(eim, 'easy');
  hardHost = await lab.hostBehind(edm, 'hard');
}, 120_000);

afterAll(async () => {
  await lab?.destroy();
});

describe('NAT lab: birthday probing EIM↔EDM', () => {
  test(`${TRIALS} trials: a pair of ports through both NATs, found by both sides`, async () => {
    const results: { ok: boolean; ms: number | null; probes: number }[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const key = randomBytes(32);
      const { easy, hard } = await trial(i, [key, key]);
      // both name the same pair: the easy side's remote is the hard socket's public port
      const ok =
        easy.event === 'found' &&
        hard.event === 'found' &&
        easy.remote?.ip === edm.wanIp &&
        hard.remote?.ip === eim.wanIp &&
        hard.remote?.port === 30000 + i;
      results.push({ ok, ms: ok ? Math.max(easy.ms!, hard.ms!) : null, probes: easy.sent });
    }
    const okMs = results.flatMap((r) => (r.ok && r.ms !== null ? [r.ms] : [])).sort((a, b) => a - b);
    const summary = {
      trials: TRIALS,
      delayMsPerRouter: DELAY_MS,
      success: `${okMs.length}/${TRIALS}`,
      medianMs: okMs[Math.floor(okMs.length / 2)] ?? null,
      maxMs: okMs[okMs.length - 1] ?? null,
      medianProbes: results.map((r) => r.probes).sort((a, b) => a - b)[Math.floor(TRIALS / 2)],
    };
    console.log(`BIRTHDAY_JSON ${JSON.stringify(summary)}`);
    // the goal is ≥ 90 % within 10 s; the probe budget (1 000 at 100/s) gives ~98 %
    expect(okMs.length / TRIALS).toBeGreaterThanOrEqual(0.8);
  }, 600_000);

  // Skipped in session 4 as "stays 'connecting' since the punch merge". Nothing it runs changed
  // with that merge (it drives node-datachannel directly, not ice-punch.ts); what made it fail is
  // that it asserted every probing round finds a pair — each does with ~98 % (1 000 probes), so 5
  // of 5 fail together in ~1 run of 10, more on a loaded machine (seen here: one round of five
  // found nothing in 10 s, 50 ms per router, load ~15). The probing's rate is the first test's
  // measure; this one measures ICE over the pairs that were found: every found pair must carry
  // ICE, with enough pairs to mean something. The product's own hand-off (the ladder's 'birthday'
  // round, ice-punch.ts) is tested in birthday-product.test.ts.
  test('the pair found carries an ICE connection (libjuice bound to the pair’s ports) through both NATs', async () => {
    const opened: number[] = [];
    const n = Math.min(5, TRIALS);
    let found = 0;
    // up to n + 3 rounds until n pairs were found (a round that finds none is the first test's matter)
    for (let i = 0; i < n + 3 && found < n; i++) {
      const key = randomBytes(32);
      const r = await trial(200 + i, [key, key], async (easy, hard) => {
        // the offer from the easy side to the hard one, the answer back (the ledger's job in the product)
        const offer = await easy.waitForJson<{ event: string; sdp: string; type: string }>(
          (e) => e.event === 'sdp',
          10_000,
        );
        hard.send({ cmd: 'sdp', sdp: offer.sdp, type: offer.type });
        const answer = await hard.waitForJson<{ event: string; sdp: string; type: string }>(
          (e) => e.event === 'sdp',
          10_000,
        );
        easy.send({ cmd: 'sdp', sdp: answer.sdp, type: answer.type });
        const both = await Promise.all(
          [easy, hard].map((p) =>
            p
              .waitForJson<{ event: string; ms: number }>((e) => e.event === 'ice-open', 15_000)
              .then(
                (e) => e.ms,
                () => null,
              ),
          ),
        );
        const [a, b] = both;
        if (typeof a === 'number' && typeof b === 'number') opened.push(Math.max(a, b));
      });
      if (r.easy.event === 'found' && r.hard.event === 'found') found++;
    }
    console.log(`BIRTHDAY_ICE_JSON ${JSON.stringify({ pairs: found, opened: opened.length, ms: opened })}`);
    expect(found).toBeGreaterThanOrEqual(Math.min(3, n));
    expect(opened.length).toBe(found);
  }, 600_000);

  test('a peer probing with the wrong key is never taken for the peer', async () => {
    const { easy, hard } = await trial(99, [randomBytes(32), randomBytes(32)]);
    expect(easy.event).toBe('failed');
    expect(hard.event).toBe('failed');
  }, 120_000);
});
