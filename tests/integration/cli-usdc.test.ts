// USDC through the real `axon` command (child processes of bin/axon.mjs): the wallet's USDC
// faucet and balances on a real local ledger, and `axon demo --asset usdc` selling in USDC with
// every amount shown exactly in USDC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { axonAsync as run, settingsDir, tempDir } from '../helpers/cli';
import { ledgerOnPortPair } from '../helpers/cli-ledger';
import { LOCAL_USDC_MINT } from '../../src-main/core/ledger/assets';

describe('axon wallet with USDC', () => {
  let ledger: LocalLedger;
  beforeAll(async () => {
    ledger = await ledgerOnPortPair(tempDir('axon-cli-usdc-ledger-'));
  });
  afterAll(async () => {
    await ledger?.close();
  });

  it('faucet mints USDC; balance shows SOL and USDC exactly; a bad amount is refused', async () => {
    const dir = settingsDir({ localLedgerPort: ledger.port }, 'axon-cli-usdc-');
    const before = await run(['--data-dir', dir, 'wallet', '--json']);
    expect(before.status, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout).usdc).toEqual({ mint: LOCAL_USDC_MINT, decimals: 6, balance: '0' });

    const f = await run(['--data-dir', dir, 'wallet', 'faucet', '12.5']);
    expect(f.status, f.stderr).toBe(0);
    expect(f.stdout).toMatch(/minted\s+12\.5 USDC to \S+\nbalance\s+12\.5 USDC/);

    const bal = await run(['--data-dir', dir, 'wallet']);
    expect(bal.status, bal.stderr).toBe(0);
    expect(bal.stdout).toMatch(/^balance\s+0 lamports \(0 SOL\)$/m);
    expect(bal.stdout).toContain(`usdc     12.5 USDC (mint ${LOCAL_USDC_MINT})`);

    const bad = await run(['--data-dir', dir, 'wallet', 'faucet', '0.0000001']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/more than 6 decimals/);
  });
});

describe('axon demo --asset usdc', () => {
  it('sells in USDC: the price, the payments and the summary in USDC, exit 0', async () => {
    const dir = tempDir('axon-cli-demo-usdc-');
    const r = await run(['--data-dir', dir, 'demo', '--seconds', '3', '--asset', 'usdc'], 100_000);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/buyer\s+10 USDC \(10000000 base units\) from the local ledger's USDC faucet/);
    expect(r.stdout).toMatch(/\[seller\] listing\s+\S+: .* at 0\.01 USDC \(10000 base units\) per minute, period 10 s/);
    // 10 s of 0.01 USDC per minute: 1667 base units (rounded up: the seller is never underpaid)
    expect(r.stdout).toMatch(/\[buyer\]\s+payment\s+period 0: paid 0\.001667 USDC \(1667 base units\)/);
    expect(r.stdout).toMatch(/summary .*buyer spent 0\.001667 USDC \(1667 base units\)/);
  });
});
