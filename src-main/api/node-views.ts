// Runs in: Node. Node data as the contract's views (status, peers, purchases, own streams), for the
// app API (node-backend.ts).
import { portMapLabel } from '../core/store/portmap';
import type { OwnStreamView, PeerView, PurchaseView, StatusView } from '../../src-shared/contract/api';
import type { PurchaseRow } from '../core/store/trades';
import { isFinal } from '../../src-shared/contract/states';
import { peerIdToAddress } from '../core/identity/identity';
import { LedgerHealth, SellingPause } from './backend-parts';
import { UserFacingError } from './errors';
import { FrameLog, ThroughputMeter } from './live';
import { attemptView, natLabel, ownStreamView, purchaseView } from './views';
import type { AxonNodeLike, BackendContext } from './node-like';

/** Node data as the contract's views (status, peers, purchases, own streams). */
export class NodeViews {
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
