// Runs in: Node. `axon rebroadcast <listing> --price L [--minutes N] [--max-lamports L]
// [--capacity N] [--upload KIB/S]`: buy a stream once (an origin or another rebroadcast) and sell
// it again as a derived listing that names its origin and upstream (docs/mesh.md), until Ctrl+C.
// Prints the chain, the upstream purchase's progress and each of this node's buyers and payments.
// Ctrl+C delists the rebroadcast, ends its sales and stops paying upstream.
import type { CliContext } from '../context';
import { CliError } from '../context';
import { MarketError } from '../../core/market/types';
import { money, parseLamports, parsePositiveInt, safeText } from '../format';
import { progress } from '../progress';
import { openNodeShown, findListing, untilInterrupted } from './node-context';
import { followPurchase } from './buy';
import { followSeller } from './sell';

export interface RebroadcastCliOptions {
  price?: string;
  minutes?: string;
  maxLamports?: string;
  capacity?: string;
  upload?: string;
}

export async function rebroadcastCommand(
  ctx: CliContext,
  listingText: string,
  o: RebroadcastCliOptions,
): Promise<void> {
  const price = o.price !== undefined ? parseLamports(o.price, '--price') : undefined;
  const minutes = o.minutes !== undefined ? parsePositiveInt(o.minutes, '--minutes', 525_600) : undefined;
  const maxLamports = o.maxLamports !== undefined ? parseLamports(o.maxLamports, '--max-lamports') : undefined;
  const capacity = o.capacity !== undefined ? parsePositiveInt(o.capacity, '--capacity', 10_000) : undefined;
  const uploadBps =
    o.upload !== undefined ? parsePositiveInt(o.upload, '--upload (KiB/s)', 10_000_000) * 1024 : undefined;
  const p = progress();
  const print = (l: string): void => p.log(l);
  const stop = untilInterrupted();
  const opened = await openNodeShown(ctx, p, { endpoint: false });
  const { node } = opened;
  let streamId: string | null = null;
  let purchaseId: string | null = null;
  try {
    const id = await findListing(node, ctx, listingText, p);
    p.step('buying it and publishing the rebroadcast (waits for the ledger)…');
    const { purchase, offer } = await node
      .rebroadcast(id, {
        ...(price !== undefined ? { price } : {}),
        ...(minutes !== undefined ? { minutes } : {}),
        ...(maxLamports !== undefined ? { maxLamports } : {}),
        ...(capacity !== undefined ? { capacity } : {}),
        ...(uploadBps !== undefined ? { uploadBps } : {}),
      })
      .catch((e: unknown) => {
        p.fail('the rebroadcast could not start');
        if (e instanceof MarketError && ['loop', 'too-deep', 'not-allowed'].includes(e.code))
          throw new CliError(`refused: ${e.message}`);
        if (e instanceof MarketError && e.code === 'insufficient-balance')
          throw new CliError(`${e.message}. Fund ${node.identity.address} first (\`axon wallet airdrop\`)`);
        throw e;
      });
    streamId = offer.streamId;
    purchaseId = purchase.id;
    p.succeed('rebroadcast listed');
    const mine = node.ownListingId(offer.streamId);
    const chain = node.listingChain(mine);
    print(`listing  ${mine}`);
    if (Array.isArray(chain))
      print(`chain    ${chain.map((c) => c.seller.slice(0, 8)).join(' → ')} (you) → your buyers`);
    print(`hop      ${offer.hops} of at most 3 rebroadcasters from the origin ${offer.origin ?? ''}`);
    print(`price    ${money(offer.priceDirect, offer.mint)} per minute to your buyers; you pay upstream as any buyer`);
    print(
      `upstream purchase ${purchase.id}: up to ${purchase.maxMinutes} min, cap ${money(purchase.maxLamports, purchase.mint)}`,
    );
    print('waiting for buyers; Ctrl+C stops rebroadcasting');
    const followed = followPurchase(
      node,
      purchase.id,
      p,
      (l) => print(`upstream ${l}`),
      () => undefined,
    );
    const unfollow = followSeller(node, print);
    const r = await Promise.race([followed.done.then((row) => ({ row })), stop.interrupted.then(() => null)]);
    followed.dispose();
    unfollow();
    if (r) print(`upstream purchase ${r.row.state}: ${safeText(r.row.reason)} — the rebroadcast stops`);
    else print('\nCtrl+C: delisting the rebroadcast and stopping the upstream purchase…');
  } finally {
    stop.dispose();
    p.stop();
    if (streamId) await node.unsell(streamId).catch((e) => print(`delisting failed: ${(e as Error).message}`));
    if (purchaseId) await node.stop(purchaseId).catch(() => undefined);
    if (streamId) {
      const sales = node.sales({ streamId, limit: 10_000 });
      const earned = sales.reduce((a, s) => a + s.earned, 0n);
      const spent = purchaseId ? (node.purchase(purchaseId)?.spent ?? 0n) : 0n;
      print(`stopped: ${sales.length} sale(s), earned ${earned} lamports, paid upstream ${spent} lamports`);
    }
    await opened.close();
  }
}
