// Runs in: Node. The app API over a running AxonNode: commands (arguments already validated by
// ApiService) and the events the UI listens to. It reaches the node only through AxonNode's
// public methods (AxonNodeLike lists exactly which). Made of parts that each do one thing:
// NodeViews (node data → contract views), EventHub / LedgerHealth / SellingPause
// (backend-parts.ts), the node-event forwarding, the live feed timers, and the commands.
import { portMapLabel } from '../core/store/portmap';
import type {
  BuyQuote,
  PreviewView,
  BuyRequest,
  RebroadcastRequest,
  ListingQuery,
  OwnStreamView,
  PeerView,
  PurchaseView,
  SellRequest,
  SettingsPatch,
  StatusView,
} from '../../src-shared/contract/api';
import type { AxonNode } from '../core/node';
import { MarketError } from '../core/market/types';
import { PreviewError } from '../core/market/preview';
import type { PurchaseRow } from '../core/store/trades';
import { isFinal } from '../../src-shared/contract/states';
import { peerIdToAddress } from '../core/identity/identity';
import type { SellOptions } from '../core/market/seller';
import type { AxonBackend } from './service';
import { EventHub, LedgerHealth, SellingPause } from './backend-parts';
import { UserFacingError } from './errors';
import { readSettingsView, writeSettings } from './settings-api';
import { FrameLog, ThroughputMeter, toFrameView } from './live';
import { historyView } from './history';
import { sourceProblemInWords } from './source-words';
import { formatSol } from '../../src-shared/contract/client';
import {
  assetView,
  attemptView,
  connectionView,
  explorerUrl,
  listingView,
  natLabel,
  ownStreamView,
  paymentView,
  purchaseView,
  saleView,
  sourceConfigFor,
} from './views';

/** What the API uses of AxonNode (src-main/core/node.ts): its public front door, nothing inside. */
export type AxonNodeLike = Pick<
  AxonNode,
  | 'identity'
  | 'settings'
  | 'relayPayments'
  | 'sell'
  | 'pause'
  | 'unpause'
  | 'unsell'
  | 'listings'
  | 'listing'
  | 'quote'
  | 'preview'
  | 'solNeededToStart'
  | 'nonceRentToLock'
  | 'buy'
  | 'rebroadcast'
  | 'purchasePath'
  | 'renew'
  | 'stopPurchase'
  | 'purchases'
  | 'purchase'
  | 'sales'
  | 'payments'
  | 'exposure'
  | 'ownStreams'
  | 'connections'
  | 'connectAttempts'
  | 'balance'
  | 'estimateFee'
  | 'tokenBalances'
  | 'tokenFaucet'
  | 'assetTerms'
  | 'status'
  | 'airdrop'
  | 'walletActivity'
  | 'activePurchaseOf'
  | 'sale'
  | 'on'
  | 'off'
>;

export interface BackendContext {
  dataDir: string;
  settingsFile: string;
  version: string;
  /** requestAirdrop works on this cluster (local ledger, devnet). */
  canAirdrop: boolean;
  /** Set inside Electron: start-on-login is an app feature. */
  setStartOnLogin?: (on: boolean) => void;
}

/** Node data as the contract's views (status, peers, purchases, own streams). */
class NodeViews {
  constructor(
    private readonly node: AxonNodeLike,
    private readonly ctx: BackendContext,
    private readonly frames: FrameLog,
    private readonly meter: ThroughputMeter,
    private readonly health: LedgerHealth,
    private readonly selling: SellingPause,
  ) {}

  #listingMeta(listingId: string): { title: string; format: string } {
    const l = this.node.listing(listingId);
    return {
      title: l?.title ?? listingId.split(':').slice(1).join(':'),
      format: l?.format ?? 'application/octet-stream',
    };
  }

  purchase(p: PurchaseRow): PurchaseView {
    const v = purchaseView(p, {
      ...this.#listingMeta(p.listingId),
      rateHz: ['streaming', 'connecting'].includes(p.state) ? this.frames.rate(p.id) : 0,
      risk: this.node.exposure('purchase', p.id),
    });
    v.frames = Math.max(v.frames, this.frames.count(p.id));
    v.schemaHint = this.node.listing(p.listingId)?.schemaHint ?? null;
    const path = this.node.purchasePath(p.id);
    if (path.length) v.path = path;
    const shares = this.node.relayPayments(p.id).filter((r) => r.direction === 'out');
    if (shares.length) v.relayShares = shares.reduce((a, r) => a + r.lamports, 0n).toString();
    return v;
  }

  ownStreams(): OwnStreamView[] {
    return this.node.ownStreams().map((s) => ownStreamView(s.offer, s.live, this.node.identity.address));
  }

  ownStream(streamId: string): OwnStreamView {
    const s = this.ownStreams().find((x) => x.streamId === streamId);
    if (!s) throw new UserFacingError('unknown-stream', `You are not selling a stream '${streamId}'.`, 'Refresh Sell.');
    return s;
  }

  status(): StatusView {
    const s = this.node.status();
    const problem = this.health.problem;
    return {
      state: problem ? 'error' : 'ready',
      ...(problem ? { error: problem } : {}),
      version: this.ctx.version,
      address: this.node.identity.address,
      peerId: s.peerId,
      cluster: this.node.settings.cluster,
      dataDir: this.ctx.dataDir,
      listenAddrs: s.multiaddrs,
      nat: natLabel(s.nat),
      relays: s.relays,
      roles: s.roleState,
      portMapping: portMapLabel(s.portMapping),
      ...(s.relayUse
        ? {
            relayUse: {
              bytesToday: Number(s.relayUse.bytesToday),
              dailyCapBytes: s.relayUse.dailyCapBytes ? Number(s.relayUse.dailyCapBytes) : null,
              bytesPerSec: s.relayUse.bytesPerSec,
              capBytesPerSec: s.relayUse.capBytesPerSec ?? null,
              throttled: s.relayUse.throttled,
              circuits: s.relayUse.circuits,
              refused: s.relayUse.refused,
              cutUnpaid: s.relayUse.cutUnpaid,
              pricePerMinute: s.relayUse.pricePerMin.toString(),
            },
          }
        : {}),
      serving: s.offers.some((o) => !o.offer.paused),
      sellingPaused: this.selling.paused,
      buyers: s.sales.filter((x) => !isFinal(x.state)).length,
      purchasesActive: s.purchases.filter((x) => !isFinal(x.state)).length,
      rpc: {
        rateLimited: s.rpc.rateLimited,
        pausedUntil: s.rpc.pausedUntil,
        limitedCount: s.rpc.limitedCount,
        lastLimitedAt: s.rpc.lastLimitedAt,
        requests: s.rpc.requests,
      },
    };
  }

  peers(): PeerView[] {
    return this.node.status().peers.map((p) => {
      let address = p.peer;
      try {
        address = peerIdToAddress(p.peer);
      } catch {
        /* not an Ed25519 peer id: show it as is */
      }
      return {
        peerId: p.peer,
        address,
        connected: p.connected,
        path: p.path?.kind ?? null,
        relay: p.path?.relay ?? null,
        remoteAddr: p.path?.remoteAddr ?? null,
        rttMs: p.rttMs === undefined ? null : Math.round(p.rttMs),
        bytesIn: p.bytesIn,
        bytesOut: p.bytesOut,
        throughput: this.meter.samples(p.peer),
        openedAt: p.since ?? null,
        attempts: this.node.connectAttempts(p.peer, 20).map(attemptView),
      };
    });
  }
}

/** Forward the node's events to the UI as views; returns the function that stops forwarding. */
function forwardNodeEvents(
  node: AxonNodeLike,
  hub: EventHub,
  views: NodeViews,
  frames: FrameLog,
  onListing: () => void,
): () => void {
  const cluster = node.settings.cluster;
  const on = {
    purchase: (p: PurchaseRow) => {
      hub.emit('purchase', views.purchase(p));
      hub.emit('status', views.status());
    },
    sale: (s: Parameters<typeof saleView>[0]) => {
      hub.emit('sale', saleView(s, node.exposure('sale', s.id)));
      hub.emit('status', views.status());
    },
    frame: (f: { purchaseId: string; seq: number; ts: number; payload: Uint8Array }) => frames.add(f),
    payment: (p: { direction: 'in' | 'out'; requestId: string; signature: string; state: string }) => {
      const row = node.payments(p.requestId).find((x) => x.signature === p.signature);
      if (row) hub.emit('payment', paymentView(row, cluster));
    },
    listing: onListing,
    balance: (b: { mint: string | null; amount: bigint }) =>
      hub.emit('balance', { mint: b.mint, balance: b.amount.toString() }),
    nat: () => hub.emit('status', views.status()),
    rpc: (h: { rateLimited: boolean }) => {
      hub.emit('status', views.status());
      if (h.rateLimited)
        hub.emit('notice', {
          level: 'warning',
          title: 'RPC is rate-limiting us',
          message:
            'The ledger endpoint answers 429: ledger requests wait as it asks. Set your own RPC URL in Settings.',
        });
    },
    health: (h: { streamId: string; healthy: boolean; lastError: string | null }) => {
      const s = views.ownStreams().find((x) => x.streamId === h.streamId);
      if (s) hub.emit('stream', s);
      if (!h.healthy)
        hub.emit('notice', {
          level: 'warning',
          title: `Source of '${s?.title ?? h.streamId}' failed`,
          message: `${sourceProblemInWords(h.lastError) ?? 'unknown error'} — buyers cannot buy it until it recovers; retrying.`,
        });
    },
    connection: (c: { peer: string; path: string; elapsedMs: number; role: string }) =>
      hub.emit('notice', {
        level: 'info',
        title: `Connected to ${c.role === 'buyer' ? 'the seller' : 'a buyer'}`,
        message: `${PATH_WORDS[c.path] ?? c.path} in ${c.elapsedMs} ms`,
      }),
    'peer-error': (e: { remote: string; code: string; message: string }) =>
      hub.emit('notice', { level: 'warning', title: `Peer error (${e.code})`, message: e.message }),
  };
  for (const [ev, fn] of Object.entries(on)) node.on(ev as 'purchase', fn as never);
  return () => {
    for (const [ev, fn] of Object.entries(on)) node.off(ev as 'purchase', fn as never);
  };
}

/**
 * What changes on its own goes to the UI on timers: frames in batches (10 per second at most);
 * rates, peers and listings once per second; the status every 5 s; the ledger probe every 10 s.
 */
function startLiveFeed(
  node: AxonNodeLike,
  hub: EventHub,
  views: NodeViews,
  frames: FrameLog,
  meter: ThroughputMeter,
  health: LedgerHealth,
  listingsDirty: { take(): boolean },
): () => void {
  const lastPeer = new Map<string, string>();
  const frameTimer = setInterval(() => {
    const batch = frames.drain();
    if (batch.length) hub.emit('frames', batch);
  }, 100);
  let tick = 0;
  const slowTimer = setInterval(() => {
    tick++;
    try {
      for (const p of node.purchases({ active: true, limit: 50 })) hub.emit('purchase', views.purchase(p));
      for (const p of views.peers()) {
        p.throughput = meter.sample(p.peerId, p.bytesIn + p.bytesOut);
        const key = `${p.connected}|${p.path}|${p.rttMs}|${p.bytesIn}|${p.bytesOut}`;
        if (lastPeer.get(p.peerId) !== key) {
          lastPeer.set(p.peerId, key);
          hub.emit('peer', p);
        }
      }
      if (listingsDirty.take()) hub.emit('listings', { count: node.listings({ includeOwn: true }).length });
      if (tick % 5 === 0) hub.emit('status', views.status());
      if (tick % 10 === 0) void health.probe();
    } catch {
      /* the node is shutting down */
    }
  }, 1000);
  frameTimer.unref?.();
  slowTimer.unref?.();
  return () => {
    clearInterval(frameTimer);
    clearInterval(slowTimer);
  };
}

/** Connection paths as the screens name them (Connections: "Direct · LAN"). */
const PATH_WORDS: Record<string, string> = {
  'direct-lan': 'Direct · LAN',
  'direct-wan': 'Direct · WAN',
  'hole-punched': 'Hole-punched',
  relayed: 'Relayed',
};

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
