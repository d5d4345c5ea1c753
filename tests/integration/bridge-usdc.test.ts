// USDC through the app API (as the UI calls it, over the real bridge of two real headless nodes on
// the real local ledger): the wallet shows the USDC balance, a stream is sold in USDC, Browse shows
// its asset, and the quote before Buy states the price and cap in USDC with the rent of the
// seller's token account and the fees in SOL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import type { Serving } from '../../src-main/cli/commands/serve';
import { serveWithUi } from '../helpers/serve';
import type { ApiResult, BuyQuote, ListingView, WalletView } from '../../src-shared/contract/api';

const SOL = 1_000_000_000n;

async function call<T>(s: Serving, command: string, ...args: unknown[]): Promise<T> {
  const res = await fetch(`${s.bridge!.url}api/call/${command}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ args }),
  });
  const r = (await res.json()) as ApiResult<T>;
  if (!r.ok) throw new Error(`${command}: ${r.error.code}: ${r.error.message} (${r.error.hint})`);
  return r.value;
}
async function until<T>(fn: () => Promise<T | undefined | false | null>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('USDC over the app API', () => {
  let ledger: LocalLedger;
  let seller: Serving;
  let buyer: Serving;
  const dirs: string[] = [];

  async function node(name: string): Promise<Serving> {
    const dataDir = mkdtempSync(join(tmpdir(), `axon-api-usdc-${name}-`));
    dirs.push(dataDir);
    const s = await serveWithUi(dataDir, ledger, { timing: { listingTtlSec: 30, requestTimeoutMs: 15_000 } });
    await s.host.node.airdrop(SOL);
    return s;
  }

  beforeAll(async () => {
    const d = mkdtempSync(join(tmpdir(), 'axon-api-usdc-ledger-'));
    dirs.push(d);
    ledger = await startLocalLedger({ port: 0, dataDir: d, slotMs: 100 });
    seller = await node('seller');
    buyer = await node('buyer');
  });
  afterAll(async () => {
    await buyer?.close();
    await seller?.close();
    await ledger?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('wallet shows USDC, a stream sells in USDC, the quote is in USDC with rent and fees in SOL', async () => {
    const w0 = await call<WalletView>(buyer, 'wallet');
    const usdc = w0.tokens?.[0]?.asset;
    expect(usdc).toMatchObject({ symbol: 'USDC', decimals: 6 });
    expect(w0.tokens?.[0]?.balance).toBe('0');
    const node = buyer.host.node;
    // the faucet beside the airdrop, as the Wallet screen calls it
    const minted = await call<{ signature: string; balance: string; asset: unknown }>(buyer, 'tokenFaucet', '3000000');
    expect(minted).toMatchObject({ balance: '3000000', asset: usdc });
    expect((await call<WalletView>(buyer, 'wallet')).tokens?.[0]?.balance).toBe('3000000');

    const stream = await call<{ listingId: string; asset?: { symbol: string } }>(seller, 'sell', {
      title: 'USDC weather',
      description: '',
      tags: [],
      format: 'application/x-ndjson',
      source: { kind: 'synthetic', feed: 'weather' },
      priceDirect: '60000', // 0.06 USDC per minute
      periodSec: 10,
      mint: usdc!.mint,
    });
    expect(stream.asset?.symbol).toBe('USDC');
    const listing = await until(
      async () => (await call<ListingView[]>(buyer, 'listings', { text: 'USDC' }))[0],
      'listing',
    );
    expect(listing).toMatchObject({ id: stream.listingId, priceDirect: '60000', asset: usdc });

    const q = await call<BuyQuote>(buyer, 'quote', { listingId: listing.id, tier: 'direct', maxMinutes: 2 });
    const rent = await node.ledger.tokenAccountRent();
    expect(q).toMatchObject({
      asset: usdc,
      pricePerPeriod: '10000',
      periods: 12,
      cap: '120000', // in USDC base units: prices only
      totalAtMost: '120000',
      balance: '3000000',
      tokenBalance: '3000000',
      balanceAfter: '2880000',
      tokenAccountRent: rent.toString(), // the seller has no USDC account yet
    });
    expect(BigInt(q.feePerPeriod)).toBeGreaterThan(0n);
    expect(q.problem).toBeUndefined();
  });
});
