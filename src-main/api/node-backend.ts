// Runs in: Node. The app API over a running AxonNode: commands (arguments already validated by
// ApiService) and the events the UI listens to. It reaches the node only through AxonNode's
// public methods (AxonNodeLike, node-like.ts, lists exactly which). Made of parts that each do one
// thing: NodeViews (node data → contract views, node-views.ts), EventHub / LedgerHealth /
// SellingPause (backend-parts.ts), the node-event forwarding and the live feed timers
// (node-events.ts), and the commands (here).
import type {
  BuyQuote,
  PreviewView,
  BuyRequest,
  RebroadcastRequest,
  ListingQuery,
  OwnStreamView,
  SellRequest,
  SettingsPatch,
  StatusView,
} from '../../src-shared/contract/api';
import { MarketError } from '../core/market/types';
import { PreviewError } from '../core/market/preview';
import type { SellOptions } from '../core/market/seller';
import type { AxonBackend } from './service';
import { EventHub, LedgerHealth, SellingPause } from './backend-parts';
import { UserFacingError } from './errors';
import { readSettingsView, writeSettings } from './settings-api';
import { FrameLog, ThroughputMeter, toFrameView } from './live';
import { historyView } from './history';
import { sourceProblemInWords } from './source-words';
import { formatSol } from '../../src-shared/contract/client';
import { assetView, connectionView, explorerUrl, listingView, paymentView, saleView, sourceConfigFor } from './views';
import type { AxonNodeLike, BackendContext } from './node-like';
import { NodeViews } from './node-views';
import { forwardNodeEvents, startLiveFeed } from './node-events';

/** A MarketError from the node as the UI shows it (message + what to do). */
function userFacing(e: unknown): never {
  if (e instanceof MarketError && e.code === 'unknown-listing')
    throw new UserFacingError(
      'unknown-listing',
      'This listing is no longer on the market.',
      'Refresh Browse and pick a current one.',
    );
  if (e instanceof MarketError && e.code === 'unknown-purchase')
    throw new UserFacingError('unknown-purchase', 'This purchase is not known to the node.', 'Refresh Purchases.');
  if (e instanceof MarketError && e.code === 'unhealthy')
    throw new UserFacingError(
      'unhealthy',
      "The seller's source of this stream is not working right now.",
      'Wait until the listing is marked healthy again in Browse, then buy.',
    );
  throw e;
}

export function createNodeBackend(node: AxonNodeLike, ctx: BackendContext): AxonBackend & { close(): void } {
  const cluster = node.settings.cluster;
  const hub = new EventHub();
  const frames = new FrameLog();
  const meter = new ThroughputMeter();
  const selling: SellingPause = new SellingPause(
    (): OwnStreamView[] => views.ownStreams(),
    (id) => node.pause(id),
    (id) => node.unpause(id),
  );
  const health: LedgerHealth = new LedgerHealth(
    () => node.balance(),
    () => hub.emit('status', views.status()),
  );
  const views: NodeViews = new NodeViews(node, ctx, frames, meter, health, selling);
  let dirty = false;
  const stopForwarding = forwardNodeEvents(node, hub, views, frames, () => (dirty = true));
  const stopFeed = startLiveFeed(node, hub, views, frames, meter, health, {
    take: () => {
      const d = dirty;
      dirty = false;
      return d;
    },
  });
  const status = (): StatusView => views.status();

  const backend: AxonBackend & { close(): void } = {
    subscribe: (sink) => hub.subscribe(sink),
    close() {
      stopFeed();
      stopForwarding();
      hub.clear();
    },

    status,

    listings(q: ListingQuery = {}) {
      const rows = node.listings({
        includeOwn: true,
        ...(q.text ? { text: q.text } : {}),
        ...(q.tag ? { tag: q.tag } : {}),
        ...(q.format ? { format: q.format } : {}),
        ...(q.maxPrice ? { maxPrice: BigInt(q.maxPrice) } : {}),
        ...(q.freshWithinSec ? { freshWithinMs: q.freshWithinSec * 1000 } : {}),
      });
      // "Receiving": this node's running purchase of the listing (newest first, as activePurchaseOf)
      const receiving = new Map<string, string>();
      for (const p of node.purchases({ active: true, limit: 1000 }))
        if (!receiving.has(p.listingId)) receiving.set(p.listingId, p.id);
      return rows
        .filter((l) => !q.region || l.region === q.region)
        .map((l) => ({ ...listingView(l), receiving: receiving.get(l.id) ?? null }));
    },

    async preview(listingId: string, frames?: number): Promise<PreviewView> {
      try {
        const p = await node.preview(listingId, frames !== undefined ? { frames } : {});
        return {
          listingId,
          format: p.format,
          schemaHint: p.schema,
          frames: p.frames.map((f) => toFrameView(listingId, f)),
        };
      } catch (e) {
        if (!(e instanceof PreviewError)) throw e;
        const hints: Record<PreviewError['code'], string> = {
          'rate-limited': `Wait ${Math.ceil((e.retryAfterMs ?? 20_000) / 1000)} s and preview again, or buy the stream.`,
          off: 'Buy the stream to see its data.',
          'unknown-stream': 'The seller stopped selling it: refresh Browse.',
          'unknown-listing': 'Refresh Browse and pick a current one.',
          unreachable: "The seller's node cannot be reached before buying; buying connects through the ledger.",
          'bad-request': 'Try again; if it keeps failing, the seller runs another Axon version.',
          'bad-answer': 'Try again; if it keeps failing, the seller runs another Axon version.',
          busy: 'Try again in a minute.',
        };
        throw new UserFacingError(`preview-${e.code}`, `No preview: ${e.message}`, hints[e.code]);
      }
    },

    async quote(req: BuyRequest): Promise<BuyQuote> {
      const [fee, balance] = await Promise.all([node.estimateFee(true), node.balance()]);
      let quoted: ReturnType<AxonNodeLike['quote']>;
      try {
        // the same terms buy sets: the cap covers each period's price and its fee
        quoted = node.quote(req.listingId, {
          minutes: req.maxMinutes,
          tier: req.tier,
          feePerPeriod: fee,
          ...(req.maxLamports ? { maxLamports: BigInt(req.maxLamports) } : {}),
        });
      } catch (e) {
        userFacing(e);
      }
      const { listing, terms } = quoted;
      // the request message is posted once (a memo without a transfer); each period pays with one
      const requestFee = await node.estimateFee(false);
      const totalAtMost = terms.cap + requestFee;
      const periodsPerHour = Math.ceil(3600 / terms.periodSec);
      const q: BuyQuote = {
        listingId: listing.id,
        tier: req.tier,
        pricePerMinute: terms.pricePerMinute.toString(),
        periodSec: terms.periodSec,
        pricePerPeriod: terms.pricePerPeriod.toString(),
        feePerPeriod: fee.toString(),
        relayPricePerMinuteMax: String(node.settings.roles.maxRelayPrice),
        maxMinutes: req.maxMinutes,
        cap: terms.cap.toString(),
        balance: balance.toString(),
        periods: terms.periods,
        feesPerHour: (fee * BigInt(periodsPerHour)).toString(),
        requestFee: requestFee.toString(),
        totalAtMost: totalAtMost.toString(),
        balanceAfter: (balance - totalAtMost).toString(),
        existingPurchase: node.activePurchaseOf(req.listingId)?.id ?? node.activePurchaseOf(listing.id)?.id ?? null,
      };
      if (terms.mint) {
        // priced in a token: the cap, the total and the balances are in its base units; the fees
        // and the rent of the seller's token account (first payment) in lamports
        const t = await node.assetTerms(listing);
        Object.assign(q, {
          asset: assetView(terms.mint),
          tokenAccountRent: t.accountRent.toString(),
          tokenBalance: t.balance.toString(),
          totalAtMost: terms.cap.toString(),
          balance: t.balance.toString(),
          balanceAfter: (t.balance - terms.cap).toString(),
        });
        if (t.balance < terms.pricePerPeriod)
          q.problem = `Your ${t.asset.symbol} balance does not cover the first period. Add ${t.asset.symbol} in Wallet first.`;
        else if (balance < fee + requestFee + t.accountRent)
          q.problem = `Your SOL balance does not cover the network fees${t.accountRent ? " and the seller's token account rent" : ''}. Add SOL in Wallet first.`;
        return q;
      }
      q.asset = assetView(null);
      q.nonceAccountRent = (await node.nonceRentToLock()).toString();
      // the same check as buy(): a voucher purchase also locks a nonce account's rent (returned at
      // the end), and the wallet must stay rent-exempt
      const need = await node.solNeededToStart(terms.pricePerPeriod);
      if (balance < need)
        q.problem = `Your balance does not cover the first period, the fees and the rent kept aside while it runs (${formatSol(need)} needed to start). Add SOL in Wallet first.`;
      return q;
    },

    async buy(req: BuyRequest) {
      const p = await node
        .buy(req.listingId, {
          minutes: req.maxMinutes,
          tier: req.tier,
          ...(req.maxLamports ? { maxLamports: BigInt(req.maxLamports) } : {}),
          ...(req.confirmDuplicate ? { allowDuplicate: true } : {}),
        })
        .catch((e: unknown) => {
          // the node refuses a second purchase of a stream already received (market.ts buy)
          const running = node.activePurchaseOf(req.listingId);
          if (e instanceof MarketError && e.code === 'already-receiving' && running)
            throw new UserFacingError(
              'already-receiving',
              `You are already receiving '${views.purchase(running).title}' (purchase ${running.id}).`,
              'Open the running purchase, or confirm that you want to pay for a second one.',
            );
          return userFacing(e);
        });
      return views.purchase(p);
    },

    async rebroadcast(req: RebroadcastRequest) {
      const r = await node
        .rebroadcast(req.listingId, { price: BigInt(req.pricePerMinute), minutes: req.maxMinutes })
        .catch((e: unknown) => userFacing(e));
      hub.emit('status', status());
      return { purchase: views.purchase(r.purchase), stream: views.ownStream(r.offer.streamId) };
    },

    purchases: () => node.purchases({ limit: 200 }).map((p) => views.purchase(p)),

    recentFrames: (id: string, limit?: number) => frames.recent(id, limit ?? 100),

    async renew(id: string, addMinutes: number) {
      const p = await node.renew(id, addMinutes).catch(userFacing);
      return views.purchase(p);
    },

    async stopPurchase(id: string) {
      return views.purchase(await node.stopPurchase(id));
    },

    ownStreams: () => views.ownStreams(),

    async sell(req: SellRequest) {
      const o: SellOptions = {
        title: req.title,
        description: req.description,
        tags: req.tags,
        format: req.format,
        source: sourceConfigFor(req.source) as SellOptions['source'],
        priceDirect: BigInt(req.priceDirect),
        periodSec: req.periodSec,
        ...(req.streamId ? { streamId: req.streamId } : {}),
        ...(req.priceRelay ? { priceRelay: BigInt(req.priceRelay) } : {}),
        ...(req.region ? { region: req.region } : {}),
        ...(req.capacity ? { capacity: req.capacity } : {}),
        ...(req.mint ? { mint: req.mint } : {}),
        ...(req.schema?.trim() ? { schema: req.schema.trim() } : {}),
        ...(req.preview ? { preview: req.preview } : {}),
      };
      const offer = await node.sell(o).catch((e: unknown) => {
        if (e instanceof MarketError && e.code === 'source-failed')
          throw new UserFacingError(
            'source-failed',
            `The source cannot start: ${sourceProblemInWords(e.message) ?? e.message}. Nothing was listed.`,
            'Check the source (path, command, host and port) and try again.',
          );
        throw e;
      });
      hub.emit('status', status());
      return views.ownStream(offer.streamId);
    },

    async setStreamPaused(streamId: string, paused: boolean) {
      views.ownStream(streamId);
      if (paused) await node.pause(streamId);
      else await node.unpause(streamId);
      hub.emit('status', status());
      return views.ownStream(streamId);
    },

    async removeStream(streamId: string) {
      views.ownStream(streamId);
      await node.unsell(streamId);
      hub.emit('status', status());
    },

    async setSellingPaused(paused: boolean) {
      await selling.set(paused);
      const s = status();
      hub.emit('status', s);
      return s;
    },

    sales: () => node.sales({ limit: 200 }).map((s) => saleView(s, node.exposure('sale', s.id))),

    peers: () => views.peers(),

    async wallet() {
      return {
        address: node.identity.address,
        balance: (await node.balance()).toString(),
        cluster,
        canAirdrop: ctx.canAirdrop,
        explorerUrl: explorerUrl(cluster, 'address', node.identity.address),
        tokens: (await node.tokenBalances().catch(() => [])).map((t) => ({
          asset: assetView(t.asset.mint),
          balance: t.balance.toString(),
        })),
      };
    },

    async airdrop(sol: number) {
      if (!ctx.canAirdrop) {
        throw new UserFacingError(
          'no-airdrop',
          `There are no airdrops on ${cluster}.`,
          'Send SOL to your address from another wallet.',
        );
      }
      const signature = await node.airdrop(BigInt(Math.round(sol * 1e9)));
      return { signature, balance: (await node.balance()).toString() };
    },

    async tokenFaucet(amount: string) {
      if (!ctx.canAirdrop) {
        throw new UserFacingError(
          'no-airdrop',
          `There is no USDC faucet on ${cluster}.`,
          'Send USDC to your address from another wallet.',
        );
      }
      const r = await node.tokenFaucet(BigInt(amount)).catch((e: unknown) => {
        throw new UserFacingError(
          'no-faucet',
          `The USDC faucet did not answer: ${(e as Error).message}`,
          'The faucet exists on the local ledger only; send USDC from another wallet.',
        );
      });
      return { signature: r.signature, asset: assetView(r.asset.mint), balance: r.balance.toString() };
    },

    payments: (limit?: number) =>
      node
        .payments()
        .slice(0, limit ?? 200)
        .map((p) => paymentView(p, cluster, node.purchase(p.requestId)?.mint ?? node.sale(p.requestId)?.mint ?? null)),

    async history(limit?: number) {
      const [rows, balance] = await Promise.all([node.walletActivity(), node.balance()]);
      const titles = new Map(node.ownStreams().map((s) => [s.offer.streamId, s.offer.title]));
      const h = historyView(rows, balance, {
        cluster,
        purchaseTitle: (id) => {
          const p = node.purchase(id);
          return p ? views.purchase(p).title : null;
        },
        saleStream: (id) => node.sale(id)?.streamId ?? null,
        saleRebroadcaster: (id) => {
          const s = node.sale(id);
          return s?.rebroadcast ? s.buyer : null;
        },
        streamTitle: (streamId) => titles.get(streamId) ?? null,
      });
      h.entries = h.entries.slice(0, limit ?? 500);
      return h;
    },

    connections: (limit?: number) => node.connections(undefined, limit ?? 200).map(connectionView),

    settings: () => readSettingsView(ctx),
    updateSettings: (patch: SettingsPatch) => writeSettings(ctx, patch),
  };
  return backend;
}
