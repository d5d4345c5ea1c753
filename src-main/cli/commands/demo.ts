// Runs in: Node. `axon demo [--seconds N] [--source SPEC] [--asset sol|usdc]`: the whole market in one process — an
// embedded local ledger, a seller and a buyer (each with its own data dir and identity under
// <data dir>/demo/) — printing the live stream, the connection path and every payment.
// With --seconds N it stops by itself N seconds after the first frame; otherwise at Ctrl+C.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { CliContext } from '../context';
import { CliError } from '../context';
import { AxonNode } from '../../core/node';
import { openIdentity } from '../../core/identity/keystore';
import type { LocalLedger } from '../../local-ledger/index';
import { startEmbeddedLedger } from '../../api/ledger';
import type { MarketTiming } from '../../core/market/types';
import type { PurchaseRow } from '../../core/store/trades';
import { amount, money, parsePositiveInt, payloadText, safeText } from '../format';
import { progress } from '../progress';
import { lockDataDir, untilInterrupted } from './node-context';
import { followSeller, sourceFromSpec } from './sell';
import { followPurchase, type FollowedPurchase } from './buy';

export interface DemoOptions {
  seconds?: string;
  source?: string;
  /** sol (default) | usdc: what the demo stream is priced in. */
  asset?: string;
}

/** Short periods so that a demo shows several payments within a minute. */
export const DEMO_TIMING: Partial<MarketTiming> = {
  listingTtlSec: 60,
  periodSec: 10,
  graceSec: 5,
  requestTimeoutMs: 30_000,
  keepAliveMs: 2_000,
  dataStallMs: 10_000,
};
const DEMO_FUNDS = 2_000_000_000n;
const PRICE_PER_MIN = 60_000n;
/** In USDC: 0.01 USDC per minute; the buyer gets 10 USDC from the local ledger's faucet. */
const USDC_PER_MIN = 10_000n;
const DEMO_USDC = 10_000_000n;
const START_TIMEOUT_MS = 90_000;
/** Frames printed per second at most (the stream itself runs at 10 Hz). */
const FRAME_LINES_PER_SEC = 2;

export async function demoCommand(ctx: CliContext, o: DemoOptions): Promise<void> {
  const seconds = o.seconds !== undefined ? parsePositiveInt(o.seconds, '--seconds', 86_400) : undefined;
  const inUsdc = (o.asset ?? 'sol').trim().toLowerCase() === 'usdc';
  if (!inUsdc && (o.asset ?? 'sol').trim().toLowerCase() !== 'sol')
    throw new CliError(`--asset ${o.asset}: the demo sells in sol or usdc`, 2);
  const source = sourceFromSpec(o.source ?? 'aircraft');
  const root = join(ctx.paths.root, 'demo');
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const release = lockDataDir(root);
  const p = progress();
  // lines go to stdout; an animated spinner (stderr) is cleared around each
  const print = (l: string): void => p.log(l);
  const stop = untilInterrupted();
  const closers: (() => Promise<unknown>)[] = [];
  let followed: FollowedPurchase | null = null;
  try {
    print('Axon demo: a local ledger, a seller and a buyer, all in this process.');
    p.step('starting the local ledger…');
    const ledger: LocalLedger = await startEmbeddedLedger({ port: 0, dataDir: join(root, 'ledger'), log: ctx.log });
    closers.unshift(() => ledger.close());
    p.stop();
    print(`ledger   ${ledger.rpcUrl} (embedded; data in ${join(root, 'ledger')})`);

    const start = async (name: 'seller' | 'buyer'): Promise<AxonNode> => {
      const dataDir = join(root, name);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const log = ctx.log.child({ demo: name });
      const { identity } = openIdentity({ dataDir, store: ctx.global.keystore, log });
      const node = await AxonNode.start({
        dataDir,
        identity,
        ledger: { rpcUrl: ledger.rpcUrl, wsUrl: ledger.wsUrl },
        log,
        timing: DEMO_TIMING,
        endpoint: name === 'buyer' ? {} : false,
        net: { host: '127.0.0.1', announceFilter: { allowLoopback: true } },
      });
      closers.unshift(() => node.shutdown());
      if ((await node.ledger.balance()) < DEMO_FUNDS / 4n) await node.airdrop(DEMO_FUNDS);
      print(
        `${name.padEnd(8)} ${node.identity.address}  (data ${dataDir}, balance ${amount(await node.ledger.balance())})`,
      );
      return node;
    };
    p.step('starting the seller and the buyer (airdrops on the local ledger)…');
    const seller = await start('seller');
    const buyer = await start('buyer');
    p.stop();
    const usdc = inUsdc ? await buyer.ledger.usdc() : null;
    if (inUsdc) {
      if (!usdc) throw new CliError('the embedded ledger has no USDC mint');
      if ((await buyer.ledger.balanceOf(usdc)) < DEMO_USDC / 4n) await buyer.ledger.tokenFaucet(usdc, DEMO_USDC);
      print(`buyer    ${money(await buyer.ledger.balanceOf(usdc), usdc.mint)} from the local ledger's USDC faucet`);
    }

    const unfollowSeller = followSeller(seller, (l) => print(`[seller] ${l}`));
    closers.unshift(async () => unfollowSeller());
    p.step('seller: publishing the listing…');
    const offer = await seller.sell({
      streamId: `demo-${source.kind}`,
      title: source.kind === 'adsb' ? 'Aircraft positions (demo)' : `Demo stream (${source.kind})`,
      tags: ['demo', source.kind],
      source,
      priceDirect: usdc ? USDC_PER_MIN : PRICE_PER_MIN,
      priceRelay: (usdc ? USDC_PER_MIN : PRICE_PER_MIN) / 2n,
      ...(usdc?.mint ? { mint: usdc.mint } : {}),
    });
    const id = seller.ownListingId(offer.streamId);
    p.stop();
    print(
      `[seller] listing  ${id}: "${offer.title}" at ${money(offer.priceDirect, offer.mint)} per minute, period ${offer.periodSec} s`,
    );

    p.step('buyer: waiting for the listing on the market topic…');
    const seen = await waitUntil(() => buyer.listings().some((l) => l.id === id), 30_000, stop.interrupted);
    if (!seen) throw new CliError('the buyer did not see the listing within 30 s');
    p.stop();
    print(`[buyer]  saw the listing on the market`);

    const purchase = await buyer.buy(id, { minutes: 60, serve: true });
    const ep = buyer.status().endpoint;
    print(`[buyer]  request ${purchase.id} posted; spending cap ${money(purchase.maxLamports, purchase.mint)}`);
    if (ep)
      print(
        `[buyer]  other programs can read it too: ws://127.0.0.1:${ep.wsPort}/streams/${purchase.id}?token=${ep.token}`,
      );
    p.step('buyer: waiting for the seller to accept…');
    let lastPrinted = 0;
    let firstFrameAt = 0;
    followed = followPurchase(
      buyer,
      purchase.id,
      p,
      (l) => print(`[buyer]  ${l}`),
      (f) => {
        const now = Date.now();
        if (!firstFrameAt) firstFrameAt = now;
        if (now - lastPrinted < 1000 / FRAME_LINES_PER_SEC) return;
        lastPrinted = now;
        print(`[buyer]  frame    #${f.seq} ${payloadText(f.payload, 110)}`);
      },
    );
    const firstFrame = waitUntil(
      () => firstFrameAt > 0,
      START_TIMEOUT_MS,
      Promise.race([stop.interrupted, followed.done]),
    );
    const outcome = await Promise.race([
      followed.done.then((r) => ({ kind: 'ended' as const, r })),
      stop.interrupted.then(() => ({ kind: 'interrupted' as const })),
      firstFrame.then(async (ok) => {
        if (!ok) return { kind: 'timeout' as const };
        if (seconds === undefined) return new Promise<never>(() => undefined);
        await new Promise((r) => setTimeout(r, seconds * 1000));
        return { kind: 'time' as const };
      }),
    ]);
    p.stop();
    let final: PurchaseRow;
    if (outcome.kind === 'ended') final = outcome.r;
    else {
      if (outcome.kind === 'timeout' && !firstFrameAt) print(`no frame within ${START_TIMEOUT_MS / 1000} s: stopping`);
      print(
        outcome.kind === 'interrupted'
          ? '\nCtrl+C: the buyer stops paying…'
          : outcome.kind === 'time'
            ? `\n${seconds} s of streaming: the buyer stops…`
            : '',
      );
      final = await buyer.stop(purchase.id);
    }
    await new Promise((r) => setTimeout(r, 300));
    const sale = seller.sale(purchase.id);
    print(
      `\nsummary  ${final.frames} frames received (${final.dropped} dropped), ` +
        `${final.paidThrough + 1} period${final.paidThrough === 0 ? '' : 's'} paid, buyer spent ${money(final.spent, final.mint)}, ` +
        `seller verified ${money(sale?.earned ?? 0n, final.mint)}; purchase ${final.state}${final.reason ? `: ${safeText(final.reason)}` : ''}`,
    );
    if (final.state !== 'ended' || (outcome.kind === 'timeout' && !firstFrameAt))
      throw new CliError(`the demo purchase ${final.state}: ${final.reason ?? 'no frame arrived'}`);
  } finally {
    followed?.dispose();
    stop.dispose();
    p.stop();
    for (const c of closers) await c().catch(() => undefined);
    release();
  }
}

/** Poll `cond` every 50 ms until true (→ true), the timeout or `cancel` (→ false). */
async function waitUntil(cond: () => boolean, timeoutMs: number, cancel: Promise<unknown>): Promise<boolean> {
  let cancelled = false;
  void cancel.then(() => (cancelled = true));
  const end = Date.now() + timeoutMs;
  while (!cancelled && Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}
