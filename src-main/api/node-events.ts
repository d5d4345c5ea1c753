// Runs in: Node. What reaches the UI without being asked: the node's events forwarded as views,
// and the live feed on timers (frames, rates, peers, listings, status, the ledger probe).
import type { PurchaseRow } from '../core/store/trades';
import { EventHub, LedgerHealth } from './backend-parts';
import { FrameLog, ThroughputMeter } from './live';
import { sourceProblemInWords } from './source-words';
import { paymentView, saleView } from './views';
import type { AxonNodeLike } from './node-like';
import type { NodeViews } from './node-views';

/** Forward the node's events to the UI as views; returns the function that stops forwarding. */
export function forwardNodeEvents(
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
export function startLiveFeed(
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
