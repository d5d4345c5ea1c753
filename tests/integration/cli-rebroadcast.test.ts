// `axon rebroadcast` (docs/mesh.md) as a user runs it: the real `axon` command in child processes
// against a real local ledger — a seller process, a rebroadcaster process that buys its stream
// once and lists a rebroadcast naming it, and a third data dir whose `axon listings` shows both
// tiers side by side. Ctrl+C delists the rebroadcast and stops paying upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { AXON, NODE, axonAsync as run, settingsDir, tempDir } from '../helpers/cli';
import { ledgerOnPortPair } from '../helpers/cli-ledger';

const dataDir = (ledgerPort: number): string => settingsDir({ localLedgerPort: ledgerPort }, 'axon-cli-rb-');

/** Start `axon ARGS`; resolves once `pattern` shows on stdout. */
async function started(
  args: string[],
  pattern: RegExp,
): Promise<{ proc: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }> {
  const proc = spawn(NODE, [AXON, ...args], { env: { ...process.env, AXON_KEYSTORE: 'file' } });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
  const end = Date.now() + 90_000;
  while (!pattern.test(out)) {
    if (Date.now() > end || proc.exitCode !== null)
      throw new Error(`axon ${args[2]} did not get going:\n${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, out: () => out, err: () => err, exited };
}

describe('axon rebroadcast', () => {
  let ledger: LocalLedger;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    ledger = await ledgerOnPortPair(tempDir('axon-cli-rb-ledger-'));
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await ledger?.close();
  });

  it('buys a stream once and lists a rebroadcast naming its origin; listings shows the tiers; Ctrl+C stops it', async () => {
    const sellerDir = dataDir(ledger.port);
    const rbDir = dataDir(ledger.port);
    const viewerDir = dataDir(ledger.port);
    const seller = await started(
      [
        '--data-dir',
        sellerDir,
        'sell',
        '--source',
        'weather',
        '--title',
        'Mesh weather',
        '--price-direct',
        '120000',
        '--price-relay',
        '60000',
        '--period',
        '5',
      ],
      /^listing\s+(\S+)/m,
    );
    procs.push(seller.proc);
    const id = /^listing\s+(\S+)/m.exec(seller.out())![1]!;

    const unknown = await run(['--data-dir', rbDir, 'rebroadcast', 'no-such-stream', '--price', '1000']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/axon: no live listing 'no-such-stream'/);

    const drop = await run(['--data-dir', rbDir, 'wallet', 'airdrop', '1000000000']);
    expect(drop.status, drop.stderr).toBe(0);
    const rb = await started(
      ['--data-dir', rbDir, 'rebroadcast', id, '--price', '90000', '--minutes', '2'],
      /^waiting for buyers/m,
    );
    procs.push(rb.proc);
    const rid = /^listing\s+(\S+)/m.exec(rb.out())![1]!;
    expect(rid).toMatch(/:rb-/);
    expect(rb.out()).toMatch(/^hop\s+1 of at most 3 rebroadcasters from the origin /m);
    expect(rb.out()).toMatch(/^price\s+90000 lamports .* per minute to your buyers/m);

    // honest status: `axon status` on the rebroadcaster's data dir shows the path of the stream it
    // buys — origin → you — with the latency its data takes, as the running node measured it
    type Hop = { node: string; role: string; addsMs: number | null };
    let path: Hop[] = [];
    for (let end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
      const st = await run(['--data-dir', rbDir, 'status', '--json']);
      expect(st.status, st.stderr).toBe(0);
      const ps = (JSON.parse(st.stdout) as { purchases: { listingId: string; path: Hop[] }[] }).purchases;
      path = ps.find((p) => p.listingId === id)?.path ?? [];
      if (path.at(-1)?.addsMs != null) break;
    }
    expect(path.map((h) => h.role)).toEqual(['origin', 'you']);
    expect(path[0]!.node).toBe(id.split(':')[0]);
    expect(path[1]!.addsMs).toBeGreaterThanOrEqual(0);
    const text = await run(['--data-dir', rbDir, 'status']);
    expect(text.stdout).toMatch(/ path: origin \S+ → you \+\d+ ms/);

    const listed = await run(['--data-dir', viewerDir, 'listings', '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    const rows = JSON.parse(listed.stdout) as { id: string; origin: string | null; hops: number; priceRelay: string }[];
    expect(rows.find((r) => r.id === rid)).toMatchObject({ origin: id, hops: 1, priceRelay: '90000' });
    const table = await run(['--data-dir', viewerDir, 'listings']);
    expect(table.stdout).toMatch(/↳ Mesh weather \(rebroadcast of .*\)\s+hop 1/);

    rb.proc.kill('SIGINT');
    expect(await rb.exited, rb.err()).toBe(0);
    expect(rb.out()).toMatch(/stopped: 0 sale\(s\), earned 0 lamports, paid upstream \d+ lamports/);
    const after = await run(['--data-dir', viewerDir, 'listings', '--json']);
    expect((JSON.parse(after.stdout) as { id: string }[]).map((r) => r.id)).toEqual([id]);
    seller.proc.kill('SIGINT');
    expect(await seller.exited).toBe(0);
  }, 240_000);
});
