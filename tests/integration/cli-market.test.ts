// The real `axon` command (child processes of bin/axon.mjs) against a real local ledger started
// by this test: help, wallet airdrop + balance, a seller process whose listing another data dir
// sees with `listings --json`, and a clear failure for buying an unknown listing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { AXON, NODE, axon, axonAsync as run, freePort, settingsDir, tempDir } from '../helpers/cli';
import { ledgerOnPortPair } from '../helpers/cli-ledger';

const dataDir = (ledgerPort: number): string => settingsDir({ localLedgerPort: ledgerPort }, 'axon-cli-');

describe('axon --help', () => {
  it('lists every command', () => {
    const r = axon(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['id', 'ledger', 'serve', 'sell', 'listings', 'preview', 'buy', 'status', 'wallet', 'demo']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    }
  });
});

describe('axon against a local ledger', () => {
  let ledger: LocalLedger;
  let seller: ChildProcess | null = null;

  beforeAll(async () => {
    ledger = await ledgerOnPortPair(tempDir('axon-cli-ledger-'));
  });
  afterAll(async () => {
    seller?.kill('SIGKILL');
    await ledger?.close();
  });

  it('says clearly when no ledger answers', async () => {
    const r = await run(['--data-dir', dataDir(await freePort()), 'wallet', 'balance']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /no ledger at http:\/\/127\.0\.0\.1:\d+: start one with `axon ledger` or run `axon serve`/,
    );
  });

  let funded = '';

  it('wallet airdrop, then balance shows it exactly, in lamports and SOL', async () => {
    const dir = dataDir(ledger.port);
    funded = dir;
    // enough for a voucher purchase: the nonce account's rent (1 447 680, returned at the end) and
    // the wallet's own rent-exempt minimum (890 880) on top of the first period and the fees
    const drop = await run(['--data-dir', dir, 'wallet', 'airdrop', '3000000']);
    expect(drop.status, drop.stderr).toBe(0);
    expect(drop.stdout).toMatch(/airdropped 3000000 lamports \(0\.003 SOL\)/);
    const bal = await run(['--data-dir', dir, 'wallet', 'balance', '--json']);
    expect(bal.status, bal.stderr).toBe(0);
    const j = JSON.parse(bal.stdout);
    expect(j.balance).toBe('3000000');
    expect(j.sol).toBe('0.003');
  });

  it('a seller process publishes; listings --json in another data dir sees it; buying an unknown listing fails clearly; a real purchase streams to a file and stops at Ctrl+C', async () => {
    const sellerDir = dataDir(ledger.port);
    const buyerDir = dataDir(ledger.port);
    seller = spawn(
      NODE,
      [
        AXON,
        '--data-dir',
        sellerDir,
        'sell',
        '--source',
        'weather',
        '--title',
        'CLI weather',
        '--tag',
        'wx',
        '--price-direct',
        '120000',
        '--period',
        '5',
        '--schema',
        'temp_c °C, wind_kt kt',
      ],
      {
        env: { ...process.env, AXON_KEYSTORE: 'file' },
      },
    );
    let out = '';
    let err = '';
    seller.stdout!.on('data', (d) => (out += d));
    seller.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => seller!.on('close', (code) => r(code)));
    const end = Date.now() + 60_000;
    while (!/^listing\s+(\S+)/m.test(out)) {
      if (Date.now() > end || seller.exitCode !== null) throw new Error(`seller did not publish:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const id = /^listing\s+(\S+)/m.exec(out)![1]!;

    const listed = await run(['--data-dir', buyerDir, 'listings', '--json', '--tag', 'wx']);
    expect(listed.status, listed.stderr).toBe(0);
    const rows = JSON.parse(listed.stdout) as { id: string; title: string; priceDirect: string; periodSec: number }[];
    expect(rows.map((r) => r.id)).toEqual([id]);
    expect(rows[0]).toMatchObject({ title: 'CLI weather', priceDirect: '120000', periodSec: 5 });
    expect(out).toMatch(/^schema\s+json: temp_c °C, wind_kt kt$/m);

    // a free preview before buying: recent frames from the seller, peer to peer, nothing paid
    const preview = await run(['--data-dir', buyerDir, 'preview', id, '--frames', '2']);
    expect(preview.status, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(new RegExp(`^preview\\s+${id}: 2 recent frames, free$`, 'm'));
    expect(preview.stdout).toMatch(/^schema\s+json: temp_c °C, wind_kt kt$/m);
    expect(preview.stdout.match(/^#\d+ \S+Z {2}\{"station":/gm)?.length).toBe(2);

    const unknown = await run(['--data-dir', buyerDir, 'buy', 'no-such-stream']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/axon: no live listing 'no-such-stream' on the market 'main'/);

    // one node per data dir: `axon serve` on the seller's data dir names the running seller
    const clash = await run(['--data-dir', sellerDir, 'serve']);
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(
      new RegExp(`another axon node \\(process ${seller.pid}\\) is running on the data dir`),
    );

    // a wallet that cannot cover the first period, the fees and the rents is refused before anything is sent
    const poor = await run(['--data-dir', buyerDir, 'buy', id, '--minutes', '1']);
    expect(poor.status).toBe(1);
    expect(poor.stderr).toMatch(
      /axon: balance 0 lamports is below the \d+ lamports needed to start \(.*nonce account rent \d+, kept for later purchases and returned at its close.*\); nothing was sent/,
    );

    // a buyer (the funded data dir) buys into a file; Ctrl+C ends the purchase cleanly
    const file = join(funded, 'frames.ndjson');
    const buyer = spawn(NODE, [AXON, '--data-dir', funded, 'buy', id, '--minutes', '1', '--out', file], {
      env: { ...process.env, AXON_KEYSTORE: 'file' },
    });
    let bErr = '';
    buyer.stderr.on('data', (d) => (bErr += d));
    const buyerExited = new Promise<number | null>((r) => buyer.on('close', (code) => r(code)));
    const until = Date.now() + 60_000;
    // the first frame and the first payment happen together once the stream is up: wait for both
    while (!/first frame #\d+ arrived/.test(bErr) || !/payment\s+period 0:/.test(bErr)) {
      if (Date.now() > until || buyer.exitCode !== null) throw new Error(`buyer did not stream:\n${bErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(bErr).toMatch(/path\s+direct \(LAN\) to seller/);
    expect(bErr).toMatch(/payment\s+period 0: paid 10000 lamports \(0\.00001 SOL\)/);
    buyer.kill('SIGINT');
    expect(await buyerExited, bErr).toBe(0);
    expect(bErr).toMatch(/ended: stopped by the buyer — [1-9]\d* frames/);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.parse(lines[0]!)).toBeTypeOf('object');
    const verified = /payment\s+period 0: received 10000 lamports \(0\.00001 SOL\) tx \S+, verified on the ledger/;
    for (const end2 = Date.now() + 20_000; !verified.test(out) && Date.now() < end2;)
      await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(verified);

    // Ctrl+C: the seller delists and exits cleanly
    seller.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopped: 1 sale of this stream, earned \d+ lamports/);
    seller = null;
    const after = await run(['--data-dir', buyerDir, 'listings', '--json']);
    expect(JSON.parse(after.stdout)).toEqual([]);
  });
});
