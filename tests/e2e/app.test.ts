// End to end, as a user: two headless Axon nodes (seller, buyer) on the real local ledger, each
// serving the real UI build; real headless Chromium clicks through it. The seller adds the
// synthetic aircraft stream in Sell; the buyer finds it in Browse, clicks Buy, sees frames in
// Purchases and the peer marked direct in Connections; History shows the payment and sums to the
// balance; a second Buy asks first; Stop and Remove ask first. A second run at 800×600 and 1440×900
// checks sources at Sell, form validation, and that primary actions are never clipped.
// Screenshots of every screen go to test-artifacts/e2e/. Any console error fails the run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
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

/** Fails unless each element, scrolled to, lies wholly inside the viewport (never clipped). */
async function inView(page: Page, locators: Locator[], where: string): Promise<void> {
  const vp = page.viewportSize()!;
  for (const l of locators) {
    await l.scrollIntoViewIfNeeded();
    const b = await l.boundingBox();
    const name = (await l.getAttribute('data-testid')) ?? 'element';
    expect(b, `${name} on ${where} is not displayed`).not.toBeNull();
    expect(b!.x, `${name} on ${where} is cut off on the left`).toBeGreaterThanOrEqual(0);
    expect(b!.y, `${name} on ${where} is cut off at the top`).toBeGreaterThanOrEqual(0);
    expect(b!.x + b!.width, `${name} on ${where} is cut off on the right`).toBeLessThanOrEqual(vp.width);
    expect(b!.y + b!.height, `${name} on ${where} is cut off at the bottom`).toBeLessThanOrEqual(vp.height);
    // and nothing covers it (a fixed bar over a button counts as clipped)
    const hit = await l.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const top = el.ownerDocument.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      // a toast passes by (it goes by itself and can be dismissed): it does not count as covering
      return !!top && (el === top || el.contains(top) || !!top.closest('.toasts'));
    });
    expect(hit, `${name} on ${where} is covered by something`).toBe(true);
  }
}

/** Notifications the page showed (recorded by the init script around the browser's Notification). */
function buyerNotes(page: Page): Promise<string[]> {
  return page.evaluate('window.__axonNotes ?? []') as Promise<string[]>;
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
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    // in-browser notifications (headless mode): allowed, and each one recorded for the test
    await ctx.grantPermissions(['notifications']);
    await ctx.addInitScript(`
      const Real = window.Notification;
      const notes = (window.__axonNotes = []);
      class Recorded extends Real {
        constructor(title, o) {
          super(title, o);
          notes.push(title);
        }
      }
      Object.defineProperty(window, 'Notification', { value: Recorded, configurable: true });
    `);
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

  it('sell, browse, confirm and buy, double-buy guard, watch, connections, history = balance, stop, remove', async () => {
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
    // Buy says what it costs per period; the cap line says fees come on top.
    const buy = listing.getByTestId('buy');
    await expect.poll(() => buy.textContent()).toMatch(/Buy · 0\.0006 SOL per 60 s/);
    expect(await listing.textContent()).toContain('0.006 SOL + network fees for 10 min');
    // what the frames hold, from the listing (inferred by the seller's node): fields with units
    await expect
      .poll(() => listing.getByTestId('schema-fields').textContent(), { timeout: 10_000 })
      .toMatch(/alt_baro ft/);
    // a free preview before buying: recent aircraft from the seller, columns with units, nothing bought
    await listing.getByTestId('preview').click();
    await expect.poll(() => listing.getByTestId('preview-row').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await listing.getByTestId('preview-col').allTextContents()).toContain('alt_baro (ft)');
    expect(buyer.host.node.purchases()).toHaveLength(0);
    await shot(buyerPage, '2-buyer-browse');

    // --- Confirm before spend: what, price per period, fees per hour, cap, total at most, balance after.
    await buy.click();
    const confirm = buyerPage.getByTestId('confirm-dialog');
    await expect.poll(() => confirm.count(), { timeout: 10_000 }).toBe(1);
    expect(await confirm.getByTestId('q-price').textContent()).toContain('0.0006 SOL per 60 s');
    expect(await confirm.getByTestId('q-fees').textContent()).toMatch(/SOL per payment · [\d.]+ SOL per hour/);
    expect(await confirm.getByTestId('q-total').textContent()).toMatch(/^[\d.]+ SOL$/);
    expect(await confirm.getByTestId('q-after').textContent()).toMatch(/^2 SOL → [\d.]+ SOL/);
    await shot(buyerPage, '2b-buyer-confirm');
    // nothing is spent before the confirmation
    expect(buyer.host.node.purchases()).toHaveLength(0);
    await confirm.getByTestId('confirm-buy').click();

    // --- Purchases: frames arrive live.
    await buyerPage.waitForURL(/#\/purchases/);
    await expect
      .poll(() => buyerPage.getByTestId('purchase-state').textContent(), { timeout: 45_000 })
      .toBe('streaming');
    await expect.poll(() => buyerPage.getByTestId('frame-row').count(), { timeout: 20_000 }).toBeGreaterThan(5);
    const tableText = await buyerPage.getByTestId('frames-table').textContent();
    expect(tableText).toMatch(/hex|flight|lat/);
    expect(tableText).toContain('alt_baro (ft)'); // units on the table's columns
    // a numeric field charted per aircraft: the altitude (the first field with a unit that is not a
    // position), one line per hex, the unit on the axis
    const chart = buyerPage.getByTestId('entity-chart');
    await expect.poll(() => chart.getAttribute('data-entities'), { timeout: 10_000 }).not.toBe('0');
    expect(Number(await chart.getAttribute('data-entities'))).toBeGreaterThan(1);
    expect(await chart.getAttribute('data-unit')).toBe('ft');
    expect(await chart.locator('.u-legend').textContent()).toMatch(/[0-9a-f]{6}/);
    expect(await buyerPage.getByTestId('entity-chart-label').textContent()).toMatch(
      /alt_baro \(ft\) over time, one line per hex/,
    );
    await buyerPage.waitForTimeout(3000); // a few seconds of chart
    await shot(buyerPage, '3-buyer-purchases');
    const purchaseId = buyer.host.node.purchases()[0]!.id;

    // --- Double Buy guard: Browse says "Receiving"; a second Buy asks, and Enter opens the purchase.
    await buyerPage.goto(`${buyer.bridge!.url}#/browse`);
    await expect.poll(() => listing.getByTestId('receiving').count(), { timeout: 10_000 }).toBe(1);
    expect(await listing.getByTestId('receiving').getAttribute('href')).toContain(encodeURIComponent(purchaseId));
    await listing.getByTestId('buy').click();
    const dup = buyerPage.getByTestId('duplicate-dialog');
    await expect.poll(() => dup.count(), { timeout: 10_000 }).toBe(1);
    await shot(buyerPage, '3b-buyer-second-buy');
    await buyerPage.keyboard.press('Enter'); // the default: open the existing purchase
    await buyerPage.waitForURL(new RegExp(`#/purchases\\?id=${encodeURIComponent(purchaseId)}`));
    expect(buyer.host.node.purchases()).toHaveLength(1);

    // --- Stop asks first: "Keep receiving" keeps it streaming.
    await buyerPage.getByTestId('stop').click();
    await expect.poll(() => buyerPage.getByTestId('stop-dialog').count()).toBe(1);
    await buyerPage.getByTestId('stop-cancel').click();
    expect(await buyerPage.getByTestId('purchase-state').textContent()).toBe('streaming');

    // --- Connections: the seller is reached directly (shown by its address, like everywhere).
    await buyerPage.goto(`${buyer.bridge!.url}#/connections`);
    const sellerAddr = seller.host.node.identity.address;
    const peerRow = buyerPage.getByTestId('peer').filter({ hasText: sellerAddr.slice(0, 6) });
    await expect.poll(() => peerRow.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => peerRow.getByTestId('peer-path').textContent(), { timeout: 15_000 }).toMatch(/^Direct/);
    expect(await peerRow.getByTestId('identity').getAttribute('data-peer-id')).toBe(
      seller.host.node.identity.peerId.toString(),
    );
    // the stream bought, with the path its data takes (origin → you) and the latency it adds
    const streamPath = buyerPage.getByTestId('stream-path');
    await expect.poll(() => streamPath.count(), { timeout: 15_000 }).toBe(1);
    await expect
      .poll(() => streamPath.getByTestId('purchase-path').textContent(), { timeout: 15_000 })
      .toMatch(/origin[\s\S]*you[\s\S]*\+\d+ ms/);
    await shot(buyerPage, '4-buyer-connections');
    // the status bar totals the transfer rates
    await expect.poll(() => buyerPage.getByTestId('rate-down').textContent(), { timeout: 10_000 }).not.toBe('↓ 0 B/s');

    // --- Wallet & History: the payment for the first period.
    await buyerPage.goto(`${buyer.bridge!.url}#/wallet`);
    await expect.poll(() => buyerPage.getByTestId('payment-row').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    const payment = await buyerPage.getByTestId('payment-row').first().textContent();
    expect(payment).toContain('paid');
    expect(payment).toContain('0.0006 SOL');
    await buyerPage.getByTestId('receive').click();
    expect(await buyerPage.getByTestId('address-qr').getAttribute('data-text')).toBe(buyer.host.node.identity.address);
    await shot(buyerPage, '5-buyer-wallet-history');

    // --- Seller sees the buyer and the payment received.
    await sellerPage.goto(`${seller.bridge!.url}#/sell`);
    await expect.poll(() => sellerPage.getByTestId('sales').textContent(), { timeout: 15_000 }).toContain('streaming');
    await shot(sellerPage, '6-seller-buyers');
    await sellerPage.goto(`${seller.bridge!.url}#/wallet`);
    await expect.poll(() => sellerPage.getByTestId('payment-row').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await sellerPage.getByTestId('payment-row').first().textContent()).toContain('received');
    await shot(sellerPage, '7-seller-wallet-history');

    // --- The seller removes the stream (asks first); the buyer is told the seller stopped sending.
    await sellerPage.goto(`${seller.bridge!.url}#/sell`);
    await sellerPage.getByTestId('remove').click();
    await expect.poll(() => sellerPage.getByTestId('remove-dialog').count()).toBe(1);
    await shot(sellerPage, '7b-seller-remove-confirm');
    await sellerPage.getByTestId('remove-confirm').click();
    await expect.poll(() => sellerPage.getByTestId('own-stream').count(), { timeout: 20_000 }).toBe(0);
    await expect.poll(() => buyerNotes(buyerPage), { timeout: 30_000 }).toContain('The seller stopped sending');
    await buyerPage.goto(`${buyer.bridge!.url}#/purchases`);
    await expect.poll(() => buyerPage.getByTestId('purchase-state').textContent(), { timeout: 20_000 }).toBe('ended');
    await shot(buyerPage, '8-buyer-purchase-ended');

    // --- Every lamport: each wallet's History sums to its balance, fees of every message included.
    for (const [page, srv, kinds] of [
      [buyerPage, buyer, ['airdrop', 'request', 'payment-out']],
      [sellerPage, seller, ['airdrop', 'listing', 'payment-in', 'delist']],
    ] as const) {
      await page.goto(`${srv.bridge!.url}#/wallet`);
      // settled when the sum equals the balance and every expected kind is in (a voucher purchase's
      // settlement lands when the sale ends)
      let seen: string[] = [];
      await expect
        .poll(
          async () => {
            await page.getByRole('button', { name: 'Refresh' }).click();
            await page.getByTestId('history-total').waitFor();
            const total = (await page.getByTestId('history-total').textContent())!.replace(/^\+/, '');
            seen = (await page
              .getByTestId('history-row')
              .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind') ?? ''))) as string[];
            return (
              total === (await page.getByTestId('history-balance').textContent()) &&
              kinds.every((k) => seen.includes(k))
            );
          },
          { timeout: 45_000, interval: 1000 },
        )
        .toBe(true);
      for (const k of kinds) expect(seen).toContain(k);
    }
    await shot(buyerPage, '9-buyer-history');
    await shot(sellerPage, '9-seller-history');

    await buyerPage.goto(`${buyer.bridge!.url}#/settings`);
    await expect.poll(() => buyerPage.getByTestId('settings-form').count()).toBe(1);
    await shot(buyerPage, '10-buyer-settings');

    expect(errors).toEqual([]);
  });

  it('at 800×600 and 1440×900: sources checked, forms validated, primary actions in view', async () => {
    const sizes = [
      { name: '800x600', width: 800, height: 600 },
      { name: '1440x900', width: 1440, height: 900 },
    ];
    // --- Sell in a small window: a broken source is refused in plain words, nothing listed.
    const streamsBefore = seller.host.node.ownStreams().length;
    await sellerPage.setViewportSize({ width: 800, height: 600 });
    await sellerPage.goto(`${seller.bridge!.url}#/sell`);
    await sellerPage.getByTestId('add-stream').click();
    await sellerPage.getByTestId('source-file').click();
    await sellerPage.locator('#path').fill('/nonexistent/axon-e2e.ndjson');
    await sellerPage.getByTestId('sell-title').fill('Broken file feed');
    await sellerPage.getByTestId('price-direct').fill('0.0001');
    await sellerPage.getByTestId('sell-submit').click();
    const err = sellerPage.getByTestId('sell-form').getByTestId('error');
    await expect
      .poll(() => err.textContent(), { timeout: 20_000 })
      .toContain("the file '/nonexistent/axon-e2e.ndjson' does not exist");
    expect(await err.textContent()).not.toContain('ENOENT');
    expect(seller.host.node.ownStreams()).toHaveLength(streamsBefore);
    // a seller's words, the field highlighted: a price of -5, a period of 2 s
    await sellerPage.getByTestId('source-synthetic').click();
    await sellerPage.getByTestId('price-direct').fill('-5');
    await sellerPage.locator('#period').fill('2');
    await sellerPage.getByTestId('sell-submit').click();
    const problems = await sellerPage.getByTestId('form-problems').textContent();
    expect(problems).toContain('Price: a number of SOL per minute');
    expect(problems).toContain('Period: whole seconds from 5 to 3600');
    expect(await sellerPage.getByTestId('price-direct').getAttribute('aria-invalid')).toBe('true');
    expect(await sellerPage.locator('#period').getAttribute('aria-invalid')).toBe('true');
    // a price of 0 is allowed only after a warning is acknowledged
    await sellerPage.getByTestId('price-direct').fill('0');
    await sellerPage.locator('#period').fill('60');
    await sellerPage.getByTestId('sell-title').fill('Weather, small window');
    await sellerPage.getByTestId('feed').selectOption('weather');
    await sellerPage.getByTestId('sell-title').fill('Weather, small window');
    await sellerPage.getByTestId('price-direct').fill('0');
    await sellerPage.getByTestId('sell-submit').click();
    await expect.poll(() => sellerPage.getByTestId('price-zero-warning').count()).toBe(1);
    expect(seller.host.node.ownStreams()).toHaveLength(streamsBefore);
    await shot(sellerPage, '11-seller-sell-validation-800x600');
    await sellerPage.getByTestId('price-direct').fill('0.0003');
    await sellerPage.getByTestId('sell-submit').click();
    await expect.poll(() => sellerPage.getByTestId('own-stream').count(), { timeout: 20_000 }).toBe(streamsBefore + 1);

    // --- The buyer buys it in a small window: minutes validated, Buy and the dialog in view.
    await buyerPage.setViewportSize({ width: 800, height: 600 });
    await buyerPage.goto(`${buyer.bridge!.url}#/browse`);
    const listing = buyerPage.getByTestId('listing').filter({ hasText: 'Weather, small window' });
    await expect.poll(() => listing.count(), { timeout: 30_000 }).toBe(1);
    await buyerPage.getByTestId('buy-minutes').fill('-5');
    expect(await buyerPage.getByTestId('minutes-problem').textContent()).toContain('from 1 to 43200');
    expect(await listing.getByTestId('buy').isDisabled()).toBe(true);
    await buyerPage.getByTestId('buy-minutes').fill('5');
    await listing.getByTestId('buy').click();
    await expect.poll(() => buyerPage.getByTestId('confirm-dialog').count(), { timeout: 10_000 }).toBe(1);
    await inView(buyerPage, [buyerPage.getByTestId('confirm-buy')], 'confirm dialog');
    await buyerPage.getByTestId('cancel-buy').click();
    expect(buyer.host.node.purchases().filter((p) => p.listingId.endsWith(':weather-small-window'))).toHaveLength(0);
    // "don't ask again under 0.01 SOL" in Settings: this purchase (well below) starts with one click
    await buyerPage.goto(`${buyer.bridge!.url}#/settings`);
    await buyerPage.getByTestId('one-click-max').fill('0.01');
    await buyerPage.getByTestId('save-buying').click();
    await expect.poll(() => buyerPage.getByTestId('save-buying').textContent()).toBe('Saved');
    await buyerPage.goto(`${buyer.bridge!.url}#/browse`);
    await expect.poll(() => listing.count(), { timeout: 10_000 }).toBe(1);
    await buyerPage.getByTestId('buy-minutes').fill('5');
    await listing.getByTestId('buy').click();
    await buyerPage.waitForURL(/#\/purchases/);
    expect(await buyerPage.getByTestId('confirm-dialog').count()).toBe(0);
    await expect
      .poll(() => buyerPage.getByTestId('purchase-state').textContent(), { timeout: 45_000 })
      .toBe('streaming');

    // --- Every screen at both sizes: a screenshot, no sideways scrolling, primary actions in view.
    const screens: { page: Page; srv: Serving; hash: string; primary: string[] }[] = [
      { page: buyerPage, srv: buyer, hash: 'browse', primary: ['buy'] },
      { page: buyerPage, srv: buyer, hash: 'purchases', primary: ['stop', 'renew'] },
      { page: buyerPage, srv: buyer, hash: 'connections', primary: [] },
      { page: buyerPage, srv: buyer, hash: 'wallet', primary: ['receive'] },
      { page: buyerPage, srv: buyer, hash: 'settings', primary: ['save-buying'] },
      { page: sellerPage, srv: seller, hash: 'sell', primary: ['add-stream', 'pause', 'remove'] },
    ];
    for (const size of sizes) {
      for (const s of screens) {
        await s.page.setViewportSize({ width: size.width, height: size.height });
        await s.page.goto(`${s.srv.bridge!.url}#/${s.hash}`);
        for (const id of s.primary) await s.page.getByTestId(id).first().waitFor({ timeout: 20_000 });
        await s.page.waitForTimeout(300);
        await shot(s.page, `size-${size.name}-${s.hash}`);
        const sideways = (await s.page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        )) as number;
        expect(sideways, `${s.hash} at ${size.name} scrolls sideways`).toBeLessThanOrEqual(0);
        await inView(
          s.page,
          s.primary.map((id) => s.page.getByTestId(id).first()),
          `${s.hash} at ${size.name}`,
        );
        await inView(s.page, [s.page.getByTestId('statusbar')], `${s.hash} at ${size.name}`);
      }
    }
    expect(errors).toEqual([]);
  });
});
