// Runs in: Node. The app API over a running AxonNode: commands (arguments already validated by
// ApiService) and the events the UI listens to. This is the ONLY module that knows AxonNode's
// shape; AxonNodeLike lists exactly what it uses.
import type {
  ApiErrorInfo,
  AxonEventName,
  AxonEvents,
  BuyQuote,
  BuyRequest,
  ListingQuery,
  OwnStreamView,
  PeerView,
  PurchaseView,
  SellRequest,
  SettingsPatch,
  StatusView,
} from '../../src-shared/contract/api';
import type { AxonNode } from '../core/node';
import { pricePerPeriod } from '../core/market/types';
import { ConnectionStore } from '../core/store/connections';
import { isFinal, type PurchaseRow } from '../core/store/trades';
import { peerIdToAddress } from '../core/identity/identity';
import type { SellOptions } from '../core/market/seller';
import type { AxonBackend, EventSink } from './service';
import { UserFacingError } from './errors';
import { readSettingsView, writeSettings } from './settings-api';
import { FrameLog, ThroughputMeter } from './live';
import {
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

/** What the API uses of AxonNode (src-main/core/node.ts). */
export type AxonNodeLike = Pick<
  AxonNode,
  | 'identity'
  | 'settings'
  | 'db'
  | 'ledger'
  | 'net'
  | 'market'
  | 'sell'
  | 'pause'
  | 'unpause'
  | 'unsell'
  | 'listings'
  | 'buy'
  | 'stopPurchase'
  | 'status'
  | 'airdrop'
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

export function createNodeBackend(node: AxonNodeLike, ctx: BackendContext): AxonBackend & { close(): void } {
  const sinks = new Set<EventSink>();
  const emit = <E extends AxonEventName>(event: E, payload: AxonEvents[E]) => {
    for (const s of sinks) s(event, payload);
  };
  const frames = new FrameLog();
  const meter = new ThroughputMeter();
  const conns = new ConnectionStore(node.db);
  const cluster = node.settings.cluster;
  const pausedByTray = new Set<string>();
  let sellingPaused = false;
  const lastPeer = new Map<string, string>();

  const listingMeta = (listingId: string) => {
    const l = node.market.listingsStore.get(listingId);
    return {
      title: l?.title ?? listingId.split(':').slice(1).join(':'),
      format: l?.format ?? 'application/octet-stream',
    };
  };
  const toPurchase = (p: PurchaseRow): PurchaseView => {
    const v = purchaseView(p, {
      ...listingMeta(p.listingId),
      rateHz: ['streaming', 'connecting'].includes(p.state) ? frames.rate(p.id) : 0,
    });
    v.frames = Math.max(v.frames, frames.count(p.id));
    return v;
  };
  const ownStreams = (): OwnStreamView[] => {
    const live = new Map(node.market.seller.status().map((s) => [s.offer.streamId, s]));
    return node.market.listingsStore.offers().map((o) => ownStreamView(o, live.get(o.streamId), node.identity.address));
  };
  const ownStream = (streamId: string): OwnStreamView => {
    const s = ownStreams().find((x) => x.streamId === streamId);
    if (!s) throw new UserFacingError('unknown-stream', `You are not selling a stream '${streamId}'.`, 'Refresh Sell.');
    return s;
  };
  // The node is in trouble when the ledger stops answering: checked every 10 s (tray: error icon).
  let ledgerProblem: ApiErrorInfo | null = null;
  let probing = false;
  const probeLedger = async () => {
    if (probing) return;
    probing = true;
    const before = ledgerProblem;
    try {
      await node.ledger.balance();
      ledgerProblem = null;
    } catch (e) {
      ledgerProblem = {
        code: 'ledger-unreachable',
        message: `The ledger does not answer: ${(e as Error).message}`,
        hint: 'Check the network and the cluster in Settings; for the local cluster, run `axon ledger`. Axon keeps retrying.',
      };
    } finally {
      probing = false;
    }
    if (Boolean(before) !== Boolean(ledgerProblem)) emit('status', status());
  };
  const status = (): StatusView => {
    const s = node.status();
    const offers = s.offers;
    return {
      state: ledgerProblem ? 'error' : 'ready',
      ...(ledgerProblem ? { error: ledgerProblem } : {}),
      version: ctx.version,
      address: node.identity.address,
      peerId: s.peerId,
      cluster,
      dataDir: ctx.dataDir,
      listenAddrs: s.multiaddrs,
      nat: natLabel(s.nat),
      relays: s.relays,
      serving: offers.some((o) => !o.offer.paused),
      sellingPaused,
      buyers: s.sales.filter((x) => !isFinal(x.state)).length,
      purchasesActive: s.purchases.filter((x) => !isFinal(x.state)).length,
    };
  };
  const peers = (): PeerView[] =>
    node.net.status().map((p) => {
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
        throughput: meter.samples(p.peer),
        openedAt: p.since ?? null,
        attempts: conns.attempts(p.peer, 20).map(attemptView),
      };
    });
  // ---- events from the node ----
  const on = {
    purchase: (p: PurchaseRow) => {
      emit('purchase', toPurchase(p));
      emit('status', status());
    },
    sale: (s: Parameters<typeof saleView>[0]) => {
      emit('sale', saleView(s));
      emit('status', status());
    },
    frame: (f: { purchaseId: string; seq: number; ts: number; payload: Uint8Array }) => frames.add(f),
    payment: (p: { direction: 'in' | 'out'; requestId: string; signature: string; state: string }) => {
      const row = node.market.trades.payments(p.requestId).find((x) => x.signature === p.signature);
      if (row) emit('payment', paymentView(row, cluster));
    },
    listing: () => (listingsDirty = true),
    nat: () => emit('status', status()),
    health: (h: { streamId: string; healthy: boolean; lastError: string | null }) => {
      const s = ownStreams().find((x) => x.streamId === h.streamId);
      if (s) emit('stream', s);
      if (!h.healthy)
        emit('notice', {
          level: 'warning',
          title: `Source of '${h.streamId}' failed`,
          message: `${h.lastError ?? 'unknown error'} — restarting it with backoff.`,
        });
    },
    connection: (c: { peer: string; path: string; elapsedMs: number; role: string }) =>
      emit('notice', {
        level: 'info',
        title: `Connected to ${c.role === 'buyer' ? 'the seller' : 'a buyer'}`,
        message: `${c.path} in ${c.elapsedMs} ms`,
      }),
    'peer-error': (e: { remote: string; code: string; message: string }) =>
      emit('notice', { level: 'warning', title: `Peer error (${e.code})`, message: e.message }),
  };
  let listingsDirty = false;
  for (const [ev, fn] of Object.entries(on)) node.on(ev as 'purchase', fn as never);

  // Frames go out in batches (10 per second at most); everything else that changes on its own
  // (rates, peers, listings) once per second.
  const frameTimer = setInterval(() => {
    const batch = frames.drain();
    if (batch.length) emit('frames', batch);
  }, 100);
  let tick = 0;
  const slowTimer = setInterval(() => {
    tick++;
    try {
      for (const p of node.market.trades.purchases({ active: true, limit: 50 })) emit('purchase', toPurchase(p));
      for (const p of peers()) {
        p.throughput = meter.sample(p.peerId, p.bytesIn + p.bytesOut);
        const key = `${p.connected}|${p.path}|${p.rttMs}|${p.bytesIn}|${p.bytesOut}`;
        if (lastPeer.get(p.peerId) !== key) {
          lastPeer.set(p.peerId, key);
          emit('peer', p);
        }
      }
      if (listingsDirty) {
        listingsDirty = false;
        emit('listings', { count: node.listings({ includeOwn: true }).length });
      }
      if (tick % 5 === 0) emit('status', status());
      if (tick % 10 === 0) void probeLedger();
    } catch {
      /* the node is shutting down */
    }
  }, 1000);
  frameTimer.unref?.();
  slowTimer.unref?.();

  const backend: AxonBackend & { close(): void } = {
    subscribe(sink) {
      sinks.add(sink);
      return () => sinks.delete(sink);
    },
    close() {
      clearInterval(frameTimer);
      clearInterval(slowTimer);
      for (const [ev, fn] of Object.entries(on)) node.off(ev as 'purchase', fn as never);
      sinks.clear();
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
      return rows.filter((l) => !q.region || l.region === q.region).map(listingView);
    },

    async quote(req: BuyRequest): Promise<BuyQuote> {
      const l = node.market.listingsStore.get(req.listingId);
      if (!l)
        throw new UserFacingError(
          'unknown-listing',
          'This listing is no longer on the market.',
          'Refresh Browse and pick a current one.',
        );
      const perMinute = req.tier === 'relay' ? l.priceRelay : l.priceDirect;
      if (perMinute === null)
        throw new UserFacingError('no-relay', 'This listing has no rebroadcast tier.', 'Buy the direct tier.');
      const perPeriod = pricePerPeriod(perMinute, l.periodSec);
      const cap = req.maxLamports ? BigInt(req.maxLamports) : perMinute * BigInt(req.maxMinutes);
      const [fee, balance] = await Promise.all([node.ledger.estimateFee(true), node.ledger.balance()]);
      const q: BuyQuote = {
        listingId: l.id,
        tier: req.tier,
        pricePerMinute: perMinute.toString(),
        periodSec: l.periodSec,
        pricePerPeriod: perPeriod.toString(),
        feePerPeriod: fee.toString(),
        maxMinutes: req.maxMinutes,
        cap: cap.toString(),
        balance: balance.toString(),
      };
      if (balance < perPeriod + fee)
        q.problem = 'Your balance does not cover the first period. Add SOL in Wallet first.';
      return q;
    },

    async buy(req: BuyRequest) {
      const p = await node.buy(req.listingId, {
        minutes: req.maxMinutes,
        tier: req.tier,
        ...(req.maxLamports ? { maxLamports: BigInt(req.maxLamports) } : {}),
      });
      return toPurchase(p);
    },

    purchases: () => node.market.trades.purchases({ limit: 200 }).map(toPurchase),

    recentFrames: (id: string, limit?: number) => frames.recent(id, limit ?? 100),

    async renew(id: string, addMinutes: number) {
      const p = node.market.trades.purchase(id);
      if (!p)
        throw new UserFacingError('unknown-purchase', 'This purchase is not known to the node.', 'Refresh Purchases.');
      if (isFinal(p.state)) {
        // A finished purchase is renewed by buying the same listing again.
        return toPurchase(await node.buy(p.listingId, { minutes: addMinutes, tier: p.tier }));
      }
      const l = node.market.listingsStore.get(p.listingId);
      const perMinute =
        p.pricePerPeriod !== null && p.periodMs
          ? (p.pricePerPeriod * 60_000n + BigInt(p.periodMs) - 1n) / BigInt(p.periodMs)
          : ((p.tier === 'relay' ? l?.priceRelay : l?.priceDirect) ?? 0n);
      // The buyer reads its cap and minutes before each period: raising them extends the purchase.
      node.db
        .prepare(
          `UPDATE purchases SET max_minutes = max_minutes + ?, max_lamports = max_lamports + ?, updated_at = ? WHERE id = ?`,
        )
        .run(addMinutes, perMinute * BigInt(addMinutes), Date.now(), id);
      return toPurchase(node.market.trades.purchase(id)!);
    },

    async stopPurchase(id: string) {
      return toPurchase(await node.stopPurchase(id));
    },

    ownStreams,

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
      };
      const offer = await node.sell(o);
      emit('status', status());
      return ownStream(offer.streamId);
    },

    async setStreamPaused(streamId: string, paused: boolean) {
      ownStream(streamId);
      if (paused) await node.pause(streamId);
      else await node.unpause(streamId);
      emit('status', status());
      return ownStream(streamId);
    },

    async removeStream(streamId: string) {
      ownStream(streamId);
      await node.unsell(streamId);
      emit('status', status());
    },

    async setSellingPaused(paused: boolean) {
      if (paused) {
        for (const s of ownStreams()) {
          if (s.paused) continue;
          await node.pause(s.streamId);
          pausedByTray.add(s.streamId);
        }
      } else {
        for (const id of pausedByTray) await node.unpause(id).catch(() => undefined);
        pausedByTray.clear();
      }
      sellingPaused = paused;
      const s = status();
      emit('status', s);
      return s;
    },

    sales: () => node.market.trades.sales({ limit: 200 }).map(saleView),

    peers,

    async wallet() {
      return {
        address: node.identity.address,
        balance: (await node.ledger.balance()).toString(),
        cluster,
        canAirdrop: ctx.canAirdrop,
        explorerUrl: explorerUrl(cluster, 'address', node.identity.address),
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
      return { signature, balance: (await node.ledger.balance()).toString() };
    },

    payments: (limit?: number) =>
      node.market.trades
        .payments()
        .slice(0, limit ?? 200)
        .map((p) => paymentView(p, cluster)),

    connections: (limit?: number) => conns.connections(undefined, limit ?? 200).map(connectionView),

    settings: () => readSettingsView(ctx),
    updateSettings: (patch: SettingsPatch) => writeSettings(ctx, patch),
  };
  return backend;
}
