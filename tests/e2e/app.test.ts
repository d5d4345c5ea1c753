// End to end, as a user: two headless Axon nodes (seller, buyer) on the real local ledger, each
// serving the real UI build; real headless Chromium clicks through it. The seller adds the
// synthetic aircraft stream in Sell; the buyer finds it in Browse, clicks Buy, sees frames in
// Purchases and the peer marked direct in Connections; History shows the payment; Stop ends it.
// Screenshots of every screen go to test-artifacts/e2e/. Any console error fails the run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import { Identity } from '../../src-main/core/identity/identity';
import { startServe, type Serving } from '../../src-main/cli/commands/serve';

const ROOT = join(import.meta.dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'e2e');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SOL = 1_000_000_000n;

async function startNode(ledger: LocalLedger, name: string, dirs: string[]): Promise<Serving> {
  const dataDir = mkdtempSync(join(tmpdir(), `axon-e2e-${name}-`));
  dirs.push(dataDir);
  const serving = await startServe({
    dataDir,
    ui: true,
    port: 0,
    print: () => {},
    hostOptions: {
      ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
      identity: Identity.generate(),
      timing: { listingTtlSec: 30, requestTimeoutMs: 15_000, keepAliveMs: 1000 },
      net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
      endpoint: { wsPort: 0, tcpPort: 0 },
    },
  });
  await serving.host.node.airdrop(2n * SOL);
  return serving;
}

function watchConsole(page: Page, name: string, errors: string[]): void {
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`[${name} console] ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`[${name} pageerror] ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`[${name} request failed] ${r.url()} ${r.failure()?.errorText ?? ''}`));
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe('the app in a real browser', () => {
  let ledgerDir: string;
  let ledger: LocalLedger;
  let seller: Serving;
  let buyer: Serving;
  let browser: Browser;
  let sellerPage: Page;
  let buyerPage: Page;
  const dirs: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    // Test the UI as it is now: build it.
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    ledgerDir = mkdtempSync(join(tmpdir(), 'axon-e2e-ledger-'));
    ledger = await startLocalLedger({ port: 0, dataDir: ledgerDir, slotMs: 100 });
    seller = await startNode(ledger, 'seller', dirs);
    buyer = await startNode(ledger, 'buyer', dirs);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 860 } });
    sellerPage = await ctx.newPage();
    buyerPage = await ctx.newPage();
    watchConsole(sellerPage, 'seller', errors);
    watchConsole(buyerPage, 'buyer', errors);
  });

  afterAll(async () => {
    await browser?.close();
    await buyer?.close();
    await seller?.close();
    await ledger?.close();
    for (const d of [...dirs, ledgerDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('sell, browse, buy, watch, connections, history, stop', async () => {
    // --- Seller: add the synthetic aircraft stream in Sell.
    await sellerPage.goto(`${seller.bridge!.url}#/sell`);
    await sellerPage.getByTestId('add-stream').click();
    await sellerPage.getByTestId('source-synthetic').click();
    await sellerPage.getByTestId('sell-title').fill('E2E aircraft over FRA');
    await sellerPage.getByTestId('price-direct').fill('0.0006');
    await sellerPage.getByTestId('sell-submit').click();
    await expect.poll(() => sellerPage.getByTestId('own-stream').count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => sellerPage.getByTestId('own-stream').first().textContent()).toContain('listed');
    await shot(sellerPage, '1-seller-sell');

    // --- Buyer: find it in Browse.
    await buyerPage.goto(`${buyer.bridge!.url}#/browse`);
    const listing = buyerPage.getByTestId('listing').filter({ hasText: 'E2E aircraft over FRA' });
    await expect.poll(() => listing.count(), { timeout: 30_000 }).toBe(1);
    await buyerPage.getByTestId('search').fill('aircraft');
    await expect.poll(() => listing.count(), { timeout: 5_000 }).toBe(1);
    // One-click Buy says what it costs per period and the cap.
    const buy = listing.getByTestId('buy');
    await expect.poll(() => buy.textContent()).toMatch(/Buy · 0\.0006 SOL per 60 s/);
    expect(await listing.textContent()).toContain('cap 0.006 SOL for 10 min');
    await shot(buyerPage, '2-buyer-browse');
    await buy.click();

    // --- Purchases: frames arrive live.
    await buyerPage.waitForURL(/#\/purchases/);
    await expect
      .poll(() => buyerPage.getByTestId('purchase-state').textContent(), { timeout: 45_000 })
      .toBe('streaming');
    await expect.poll(() => buyerPage.getByTestId('frame-row').count(), { timeout: 20_000 }).toBeGreaterThan(5);
    const tableText = await buyerPage.getByTestId('frames-table').textContent();
    expect(tableText).toMatch(/hex|flight|lat/);
    await buyerPage.waitForTimeout(3000); // a few seconds of chart
    await shot(buyerPage, '3-buyer-purchases');

    // --- Connections: the seller is reached directly.
    await buyerPage.goto(`${buyer.bridge!.url}#/connections`);
    const sellerAddr = seller.host.node.identity.address;
    const peerRow = buyerPage.getByTestId('peer').filter({ hasText: sellerAddr.slice(0, 6) });
    await expect.poll(() => peerRow.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => peerRow.getByTestId('peer-path').textContent(), { timeout: 15_000 }).toMatch(/^Direct/);
    await shot(buyerPage, '4-buyer-connections');

    // --- Wallet & History: the payment for the first period.
    await buyerPage.goto(`${buyer.bridge!.url}#/wallet`);
    await expect.poll(() => buyerPage.getByTestId('payment-row').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    const payment = await buyerPage.getByTestId('payment-row').first().textContent();
    expect(payment).toContain('paid');
    expect(payment).toContain('0.0006 SOL');
    await shot(buyerPage, '5-buyer-wallet-history');

    // --- Seller sees the buyer and the payment received.
    await sellerPage.goto(`${seller.bridge!.url}#/sell`);
    await expect.poll(() => sellerPage.getByTestId('sales').textContent(), { timeout: 15_000 }).toContain('streaming');
    await shot(sellerPage, '6-seller-buyers');
    await sellerPage.goto(`${seller.bridge!.url}#/wallet`);
    await expect.poll(() => sellerPage.getByTestId('payment-row').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await sellerPage.getByTestId('payment-row').first().textContent()).toContain('received');
    await shot(sellerPage, '7-seller-wallet-history');

    // --- Stop ends the purchase.
    await buyerPage.goto(`${buyer.bridge!.url}#/purchases`);
    await buyerPage.getByTestId('stop').click();
    await expect.poll(() => buyerPage.getByTestId('purchase-state').textContent(), { timeout: 20_000 }).toBe('ended');
    await shot(buyerPage, '8-buyer-purchase-stopped');

    await buyerPage.goto(`${buyer.bridge!.url}#/settings`);
    await expect.poll(() => buyerPage.getByTestId('settings-form').count()).toBe(1);
    await shot(buyerPage, '9-buyer-settings');

    expect(errors).toEqual([]);
  });
});
