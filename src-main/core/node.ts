// Runs in: Node (CLI, the api layer, Electron main). AxonNode is the composition root: it opens
// the data directory, the identity, the store, the ledger client, the net node and the market,
// and offers the few methods the api / CLI / UI need. Events: purchase, sale, frame, payment,
// connection, listing, peer-error, health (see market/types.ts MarketEvents), and nat (the NAT
// report changed). Roles: posts this node's NodeAnnounce, keeps a directory of announced relays and
// reflectors (market/roles.ts) and re-runs address discovery every ~10 min.
import { peerIdFromString } from '@libp2p/peer-id';
import { NatStore } from './store/nat';
import type { Exposure } from './market/voucher';
import { NonceAccountStore, type NonceAccountRow } from './store/nonce-accounts';
import { VoucherStore, type VoucherRow } from './store/vouchers';
import type { RawSinkStats } from './market/sinks/raw';
import type { FetchPreviewOptions, Preview } from './market/preview';
import { EventEmitter } from 'node:events';
import type { Address } from '@solana/kit';
import { Identity } from './identity/identity';
import { openIdentity } from './identity/keystore';
import { silentLogger, type Logger } from './log';
import { ensureDataDir } from './paths';
import { lockDataDir } from './lock';
import { chainOf, pathOf, type PathHop } from './market/mesh';
import { autoRebroadcastOptions, type KnownAutoOffer } from './market/mesh-auto';
import type { AutoRebroadcastRow } from './store/mesh-auto';
import { loadSettings, parseSettings, relayLimitsOf, type Settings, type SettingsInput } from './settings';
import { openDb, type Db } from './store/db';
import { createLedgerClient, type SolanaLedgerClient } from './ledger/client';
import type { RpcHealth } from './ledger/rpc';
import { endpointsFor } from './ledger/cluster';
import { RpcSecretStore } from './ledger/rpc-secret';
import { rpcHealthSaver } from './store/rpc-health';
import type { Lamports, Tier } from './ledger/types';
import type { Asset } from './ledger/assets';
import { createNetNode } from './net/index';
import type { NatReport, NetNode, NetNodeOptions, PeerStatus, RoleState } from './net/types';
import type { PortMapStatus } from './net/portmap';
import { RoleDirectory, type KnownRole, type RoleTiming } from './market/roles';
import { checkLiveness } from './market/liveness';
import { relayAddrs } from './net/roles';
import { BuyerRelayPricing, relayShare } from './market/relay-pay';
import type { RelayUse } from './net/relay-meter';
import type { RelayPaymentRow } from './store/roles';
import { Market, type MarketStatus } from './market/market';
import type { SellOptions } from './market/seller';
import type { BuyOptions, MarketEvents, MarketTiming } from './market/types';
import type { PurchaseTerms } from './market/pricing';
import { waitCatalogCaughtUp } from './market/catalog';
import { listingId as listingIdOf, type ListingFilter, type ListingRow, type OfferRow } from './store/listings';
import type { PaymentRow, PurchaseRow, SaleRow, TransitionRow } from './store/trades';
import { ConnectionStore, type AttemptRow, type ConnectionRow } from './store/connections';
import { WalletActivity } from './market/activity';
import type { ActivityRow } from './store/activity';

export interface AxonNodeOptions {
  dataDir: string;
  /** Settings; default: settings.json in the data dir. */
  settings?: Partial<SettingsInput>;
  /** Default: the installation's identity from the key store (created on first start). */
  identity?: Identity;
  /** Explicit ledger endpoints; default: from settings.cluster. */
  ledger?: { rpcUrl: string; wsUrl?: string };
  log?: Logger;
  /** Market timing (tests use short periods). */
  timing?: Partial<MarketTiming>;
  /** The buyer's local endpoint ports (0 = any); false = none. */
  endpoint?: { wsPort?: number; tcpPort?: number } | false;
  /** Extra net options (e.g. host '127.0.0.1' and allowLoopback for tests). */
  net?: Partial<Omit<NetNodeOptions, 'identity' | 'db' | 'log'>>;
  /** Relay/reflector directory and address discovery timing (tests use short ones). */
  roleTiming?: Partial<RoleTiming> & { discoveryIntervalMs?: number };
}

/** The NAT verdict as status shows it. */
export interface NatStatus {
  publicIp: string | null;
  mapping: NatReport['mapping'];
  reachability: NatReport['reachability'];
  filtering: NatReport['filtering'] | null;
  confidence: number;
  sources: string[];
  warnings: string[];
  /** Sources outvoted by the consensus (a lying or broken observer). */
  outvoted: string[];
  /** Unix ms of the discovery. */
  at: number;
}

/** This wallet's balance of SOL (mint null, lamports) or of a token (base units) changed. */
export interface BalanceChange {
  mint: string | null;
  amount: bigint;
}
export type AxonNodeEvents = MarketEvents & { nat: [NatStatus]; rpc: [RpcHealth]; balance: [BalanceChange] };

const DISCOVERY_INTERVAL_MS = 10 * 60_000;

export interface NodeStatus extends MarketStatus {
  peerId: string;
  listenPort: number;
  multiaddrs: string[];
  peers: PeerStatus[];
  /** Latest address discovery; null until the first one finished. */
  nat: NatStatus | null;
  /** Circuit addresses of the relays we hold a reservation on. */
  relays: string[];
  /** Relays and reflectors known from NodeAnnounce, with their last health check. */
  roleNodes: KnownRole[];
  /** Stream sessions this node serves as a seller right now. */
  sessions: number;
  /** This node's own relay and reflector roles: mode, serving or not, and why. */
  roleState: { relay: RoleState; reflector: RoleState };
  /** What the relay role carried against its caps (undefined when the relay role is off), and
   *  its price (lamports per minute of a relayed purchase; 0 = free). */
  relayUse?: RelayUse & { pricePerMin: bigint };
  /** The RPC endpoint: requests per method, and whether it is rate-limiting us (429). */
  rpc: RpcHealth;
  /** The router port mapping: held or not, protocol, public address, why not. */
  portMapping: PortMapStatus;
}

export interface WalletInfo {
  address: Address;
  balance: Lamports;
  payments: PaymentRow[];
}

/** One of this node's own streams: the offer, and how its source is doing while it is live. */
export interface OwnStream {
  offer: OfferRow;
  live: MarketStatus['offers'][number] | undefined;
}

/**
 * The one front door to a running node for the api layer and the CLI: commands (sell, buy, renew,
 * stop, ...) and queries (listings, purchases, sales, payments, connections, wallet, status). The
 * database, the market and its context stay inside; nothing outside core runs SQL.
 */
export class AxonNode extends EventEmitter<AxonNodeEvents> {
  #nat: NatStatus | null = null;
  #discoveryTimer: NodeJS.Timeout | null = null;
  /** Saves the RPC health row (429s, pacing; rpc-health.ts), and the timer that does it every 30 s. */
  #saveRpc: () => void = () => {};
  #rpcTimer: NodeJS.Timeout | null = null;
  #discovering: Promise<NatStatus | null> | null = null;

  readonly #db: Db;
  readonly #market: Market;
  readonly #connections: ConnectionStore;
  readonly #activity: WalletActivity;

  private constructor(
    readonly identity: Identity,
    readonly settings: Settings,
    db: Db,
    readonly ledger: SolanaLedgerClient,
    readonly net: NetNode,
    market: Market,
    readonly roles: RoleDirectory,
    readonly log: Logger,
    /** Releases the data-dir lock (node.pid). */
    private readonly releaseLock: () => void,
    discoveryIntervalMs = DISCOVERY_INTERVAL_MS,
  ) {
    super();
    this.#db = db;
    this.#market = market;
    this.#connections = new ConnectionStore(db);
    this.#activity = new WalletActivity({
      db,
      rpc: ledger.rpc,
      wallet: identity.address,
      log: log.child({ mod: 'activity' }),
    });
    roles.start();
    void this.discover();
    this.#discoveryTimer = setInterval(() => void this.discover(), discoveryIntervalMs);
    this.#discoveryTimer.unref();
    const forward = <K extends keyof MarketEvents>(ev: K): void => {
      market.on(ev, ((...args: MarketEvents[K]) =>
        (this.emit as (e: string, ...a: unknown[]) => boolean)(ev, ...args)) as never);
    };
    for (const ev of [
      'purchase',
      'sale',
      'frame',
      'payment',
      'connection',
      'listing',
      'peer-error',
      'health',
      'uplink',
    ] as const)
      forward(ev);
  }

  static async start(o: AxonNodeOptions): Promise<AxonNode> {
    const paths = ensureDataDir(o.dataDir);
    const log = o.log ?? silentLogger;
    // one node per data dir (throws DataDirLockedError naming the other process)
    const releaseLock = lockDataDir(paths.root);
    const cleanup: (() => Promise<unknown> | unknown)[] = [releaseLock];
    try {
      const settings = o.settings
        ? parseSettings({ ...loadSettings(paths.settings), ...o.settings }, paths.settings)
        : loadSettings(paths.settings);
      const identity = o.identity ?? openIdentity({ dataDir: paths.root, log }).identity;
      const db = openDb(paths.db);
      cleanup.unshift(() => db.close());
      const ledger = createLedgerClient({
        identity,
        db,
        log: log.child({ mod: 'ledger' }),
        ...(o.ledger
          ? { rpcUrl: o.ledger.rpcUrl, ...(o.ledger.wsUrl ? { wsUrl: o.ledger.wsUrl } : {}) }
          : { endpoints: endpointsFor(settings, new RpcSecretStore(paths.root).get()) }),
        fees: { maxPriorityFeeLamports: BigInt(settings.rpcPriorityFeeCapLamports) },
        ...(settings.rpcPacing ? { pacing: settings.rpcPacing } : {}),
      });
      cleanup.unshift(() => ledger.close());
      const net = await createNetNode({
        identity,
        listenPort: settings.listenPort,
        roles: {
          relay: settings.roles.relay,
          reflector: settings.roles.reflector,
          relayLimits: relayLimitsOf(settings.roles.limits),
        },
        stunServers: settings.stunServers.map((s) => (s.startsWith('stun:') ? s : `stun:${s}`)),
        portMapping: settings.portMapping && process.env.AXON_PORT_MAPPING !== 'off',
        birthday: settings.birthday.enabled
          ? {
              sockets: settings.birthday.sockets,
              ratePerSec: settings.birthday.probesPerSec,
              maxProbes: settings.birthday.maxProbes,
              probeMs: settings.birthday.probeSec * 1000,
            }
          : false,
        db,
        log: log.child({ mod: 'net' }),
        ...o.net,
      });
      cleanup.unshift(() => net.stop());
      const marketId = settings.market;
      let nat: () => NatStatus | undefined = () => undefined;
      let onReflector = (): void => undefined;
      let onReflectorHealth = (): void => undefined;
      const roles = new RoleDirectory({
        net,
        ledger,
        marketTopic: await ledger.marketTopic(marketId),
        log: log.child({ mod: 'roles' }),
        timing: {
          relayGraceMs: settings.roles.relayGraceSec * 1000,
          relayPayPollMs: settings.roles.relayPayPollSec * 1000,
          ...o.roleTiming,
        },
        nat: () => nat(),
        stunServers: settings.stunServers,
        db,
        relayPrice: BigInt(settings.roles.relayPrice),
        onReflectorHealth: () => onReflectorHealth(),
      });
      net.setIceServerSource(() => roles.iceServers());
      cleanup.unshift(() => roles.stop());
      const market = await Market.start({
        onNodeAnnounce: (rx) => {
          roles.onAnnounce(rx);
          if (rx.message.roles.includes('reflector')) onReflector();
        },
        identity,
        db,
        ledger,
        net,
        marketId,
        relayPricing: new BuyerRelayPricing({
          priceOf: (peer) => roles.relayPrice(peer),
          bestConnection: (peer) => net.bestConnection(peer),
          maxPrice: BigInt(settings.roles.maxRelayPrice),
          ...(roles.store ? { store: roles.store } : {}),
          log: log.child({ mod: 'relay-pay' }),
          dialProtocol: (peer, protocol, signal) =>
            net.libp2p.dialProtocol(peerIdFromString(peer), protocol, { signal }),
        }),
        mesh: { uploadBps: settings.mesh.uploadKiBps > 0 ? settings.mesh.uploadKiBps * 1024 : null },
        autoRebroadcast: {
          options: autoRebroadcastOptions(settings.mesh.autoRebroadcast),
          relayActive: () => net.roleState().relay.active,
        },
        timing: o.timing,
        log,
        // seller liveness peer to peer before a request for a listing past its refresh point
        liveness: (peer, listed) =>
          checkLiveness(
            {
              bestConnection: (p) => net.bestConnection(p),
              ping: (p, signal) => net.ping(p, signal),
              dial: (target, opts) => net.libp2p.dial(target, opts),
              relayAddrs: () => roles.relays().flatMap((c) => relayAddrs(c)),
            },
            peer,
            undefined,
            listed,
          ),
        // the local endpoint's token lives in the data dir (shown by `axon status`)
        endpoint: o.endpoint === false ? false : { ...o.endpoint, tokenFile: paths.endpointToken },
      });
      log.info({ address: identity.address, port: net.port }, 'axon node started');
      const node = new AxonNode(
        identity,
        settings,
        db,
        ledger,
        net,
        market,
        roles,
        log,
        releaseLock,
        o.roleTiming?.discoveryIntervalMs,
      );
      nat = () => node.#nat ?? undefined;
      // "RPC is rate-limiting us": an event for the UI, a row for `axon status` in another process
      // (the 429s and the pacer's waits summed over every run, so `axon status` shows them after a restart)
      const saveRpcRow = rpcHealthSaver(db);
      const saveRpc = (h: RpcHealth): void => {
        try {
          saveRpcRow(h);
        } catch {
          /* closing */
        }
      };
      node.#saveRpc = () => saveRpc(ledger.rpcHealth());
      saveRpc(ledger.rpcHealth());
      // the pacer's counts move without a rate-limit change: saved every 30 s when they did
      let pacedSeen = -1;
      node.#rpcTimer = setInterval(() => {
        const h = ledger.rpcHealth();
        const n = (h.pacing?.paced ?? 0) + h.limitedCount;
        if (n === pacedSeen) return;
        pacedSeen = n;
        saveRpc(h);
      }, 30_000);
      node.#rpcTimer.unref();
      ledger.meter.onChange((h) => {
        log.warn(
          { rateLimited: h.rateLimited, pausedUntil: h.pausedUntil },
          h.rateLimited ? 'RPC is rate-limiting us' : 'RPC no longer rate-limiting us',
        );
        saveRpc(h);
        node.emit('rpc', h);
      });
      // the wallet's balances by subscription (accountNotifications; polled only while the
      // WebSocket is down), for the UI to show without polling; they end when the ledger client closes
      ledger.watchLamports(identity.address, (amount) => node.emit('balance', { mint: null, amount }));
      void ledger
        .usdc()
        .then((usdc) => {
          if (usdc)
            ledger.watchTokenBalance(identity.address, usdc, (amount) =>
              node.emit('balance', { mint: usdc.mint, amount }),
            );
        })
        .catch(() => undefined);
      // a reflector seen while no reflector has ever answered us: discover again with it
      onReflector = () => {
        if (!node.#nat?.sources.some((x) => x.startsWith('reflector:'))) node.#rediscover();
      };
      // a reflector answers that did not (or stopped answering): discover again unless the verdict
      // already rests on one that answers — a dead announced reflector must not leave us 'unknown'
      onReflectorHealth = () => {
        const healthy = new Set(roles.healthyReflectors().map((p) => `reflector:${p}`));
        const n = node.#nat;
        if (healthy.size > 0 && (!n || n.mapping === 'unknown' || !n.sources.some((x) => healthy.has(x))))
          node.#rediscover();
      };
      return node;
    } catch (e) {
      for (const c of cleanup) {
        try {
          await c();
        } catch {
          /* best effort */
        }
      }
      throw e;
    }
  }

  // ---- selling ----
  /** The id of the listing of this node's stream `streamId` (on the market topic). */
  ownListingId(streamId: string): string {
    return listingIdOf(this.identity.address, streamId);
  }
  sell(o: SellOptions): Promise<OfferRow> {
    return this.#market.sell(o);
  }
  pause(streamId: string): Promise<void> {
    return this.#market.pause(streamId);
  }
  unpause(streamId: string): Promise<void> {
    return this.#market.unpause(streamId);
  }
  unsell(streamId: string): Promise<void> {
    return this.#market.unsell(streamId);
  }
  /** Post a stream's listing again now (it is refreshed on a timer anyway). */
  publish(streamId: string): Promise<void> {
    return this.#market.seller.publish(streamId);
  }

  // ---- buying ----
  listings(filter: ListingFilter = {}): ListingRow[] {
    return this.#market.listings(filter);
  }
  buy(listingId: string, o: BuyOptions & { tier?: Tier } = {}): Promise<PurchaseRow> {
    return this.#market.buy(listingId, o);
  }
  /** The path a purchase's data takes (origin → rebroadcasters → you) with each hop's added
   *  latency, from the origin's frame timestamps (docs/mesh.md). Empty when the listing is gone. */
  purchasePath(purchaseId: string): PathHop[] {
    const p = this.#market.trades.purchase(purchaseId);
    const l = p ? this.#market.listingsStore.get(p.listingId) : undefined;
    if (!p || !l) return [];
    const ms = this.#market.latency.median(purchaseId) ?? p.latencyMs ?? undefined;
    return pathOf(this.#market.listingsStore, l, this.identity.address, ms);
  }
  /** The chain a listing's data takes, origin first and the listing last (an origin: itself
   *  alone); a string says why the chain is broken here; undefined when the listing is unknown. */
  listingChain(listingId: string): ListingRow[] | string | undefined {
    const l = this.#market.listingsStore.get(listingId);
    return l ? chainOf(this.#market.listingsStore, l) : undefined;
  }
  /** The most a relayed connection may add to one period of `periodSec` (lamports, rounded up),
   *  at this node's roles.maxRelayPrice per minute; 0 when it takes free relays only. */
  relayShareMax(periodSec: number): Lamports {
    return relayShare(BigInt(this.settings.roles.maxRelayPrice), periodSec * 1000);
  }
  /** This node's automatic rebroadcasts (docs/mesh.md "Automatic rebroadcasters"), newest first;
   *  running ones have stoppedAt null. */
  autoRebroadcasts(limit = 100): AutoRebroadcastRow[] {
    return this.#market.auto.list(limit);
  }
  /** The automatic rebroadcasters' offers this node has read (live ones): whom a full stream of
   *  ours would ask to take it (docs/mesh.md). */
  autoRebroadcastOffers(): KnownAutoOffer[] {
    return this.#market.auto.offers();
  }
  /** What this node earned through each rebroadcaster of its streams (docs/mesh.md). */
  earningsPerRebroadcaster(): ReturnType<Market['earningsPerRebroadcaster']> {
    return this.#market.earningsPerRebroadcaster();
  }
  /** Rebroadcast (docs/mesh.md): buy a listing once (an origin or a rebroadcast) and sell it again
   *  as a derived listing naming its origin and upstream; refused: a loop, too deep, not allowed. */
  rebroadcast(listingId: string, o: Parameters<Market['rebroadcast']>[1] = {}): ReturnType<Market['rebroadcast']> {
    return this.#market.rebroadcast(listingId, o);
  }
  stopPurchase(purchaseId: string): Promise<PurchaseRow> {
    return this.#market.stopPurchase(purchaseId);
  }

  /** `stop(purchaseId)` stops that purchase; `stop()` shuts the node down. */
  stop(purchaseId: string): Promise<PurchaseRow>;
  stop(): Promise<void>;
  stop(purchaseId?: string): Promise<PurchaseRow | void> {
    return purchaseId === undefined ? this.shutdown() : this.stopPurchase(purchaseId);
  }

  /** What buying would cost, by the same rules and for the same listing as `buy` (fees apart). */
  quote(
    listingId: string,
    o: BuyOptions & { feePerPeriod?: Lamports } = {},
  ): { listing: ListingRow; terms: PurchaseTerms } {
    return this.#market.quote(listingId, o);
  }
  /** The SOL balance buying a SOL-priced listing at `perPeriod` needs before anything is sent (buy() refuses below it). */
  solNeededToStart(perPeriod: Lamports): Promise<Lamports> {
    return this.#market.buyer.solNeededToStart(perPeriod);
  }
  /** Extend a running purchase by `addMinutes` (a finished one is bought again). */
  renew(purchaseId: string, addMinutes: number): Promise<PurchaseRow> {
    return this.#market.renew(purchaseId, addMinutes);
  }

  /**
   * For tests that play a hostile or broken peer (they alter what a node sends): the node's
   * insides. The product never calls it (lint forbids it under src-main).
   */
  static internalsForTests(node: AxonNode): { market: Market; db: Db } {
    return { market: node.#market, db: node.#db };
  }

  // ---- queries ----
  /** Wait until the catalog has read the market topic up to its head (false at the timeout). */
  waitCatalogSynced(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return waitCatalogCaughtUp(this.#db, this.ledger, this.#market.ctx.marketTopic, timeoutMs, signal);
  }
  listing(id: string): ListingRow | undefined {
    return this.#market.listingsStore.get(id);
  }
  /**
   * A free preview of a listing before buying: a few recent frames (`frames`, at most 10) fetched
   * from its seller peer to peer, rate-limited per peer; nothing goes on the ledger. Throws
   * PreviewError ('rate-limited' with retryAfterMs, 'off', 'unreachable', …). docs/streams.md.
   */
  preview(listingId: string, o: FetchPreviewOptions = {}): Promise<Preview> {
    return this.#market.preview(listingId, o);
  }
  purchase(id: string): PurchaseRow | undefined {
    return this.#market.trades.purchase(id);
  }
  /**
   * Send bytes up a streaming purchase to the seller's source (a command to the device). The
   * listing must take them (the seller's `uplink` setting); refusals arrive as 'uplink' events.
   */
  uplink(purchaseId: string, bytes: Uint8Array): void {
    this.#market.buyer.uplink(purchaseId, bytes);
  }
  /** What a running purchase's raw outputs moved (and the TCP port they serve on); null: none. */
  purchaseOutputs(id: string): RawSinkStats | null {
    const s = this.#market.buyer.runs.get(id)?.outputs?.stats;
    return s ? { ...s } : null;
  }
  purchases(o: { active?: boolean; limit?: number } = {}): PurchaseRow[] {
    return this.#market.trades.purchases(o);
  }
  sale(id: string): SaleRow | undefined {
    return this.#market.trades.sale(id);
  }
  sales(o: { active?: boolean; streamId?: string; limit?: number } = {}): SaleRow[] {
    return this.#market.trades.sales(o);
  }
  /**
   * What a purchase or sale risks now (docs/market.md "Vouchers"): for a sale the unsettled
   * vouchers and the credit limit, for a purchase what was signed and settled.
   */
  exposure(kind: 'purchase' | 'sale', id: string): Exposure | undefined {
    if (kind === 'sale') {
      const s = this.#market.trades.sale(id);
      return s ? this.#market.seller.exposure(s) : undefined;
    }
    const p = this.#market.trades.purchase(id);
    return p ? this.#market.buyer.exposure(p) : undefined;
  }
  /** The voucher state of a purchase ('out') or sale ('in'): nonce account, newest voucher, settled. */
  voucher(id: string, direction: 'in' | 'out'): VoucherRow | null {
    return new VoucherStore(this.#db).get(id, direction);
  }
  /** The nonce accounts this wallet keeps across voucher purchases (open ones: in use or free). */
  nonceAccounts(): NonceAccountRow[] {
    return new NonceAccountStore(this.#db).open();
  }
  /** Lamports a new voucher purchase locks in a nonce account now (0: a kept one is free). */
  nonceRentToLock(): Promise<Lamports> {
    return this.#market.buyer.nonceRentToLock();
  }
  /** Close the free kept nonce accounts now (rent back; docs/market.md "Vouchers"); how many. */
  closeNonceAccounts(): Promise<number> {
    return this.#market.buyer.closeNonceAccounts();
  }
  /** Payments in and out, newest first; of one purchase/sale with `requestId`. */
  payments(requestId?: string): PaymentRow[] {
    return this.#market.trades.payments(requestId);
  }
  /** This node's own streams (listed, paused or not) with their live source state. */
  ownStreams(): OwnStream[] {
    const live = new Map(this.#market.seller.status().map((s) => [s.offer.streamId, s]));
    return this.#market.listingsStore.offers().map((offer) => ({ offer, live: live.get(offer.streamId) }));
  }
  /** Connection history (newest first), of one peer when given. */
  connections(peerId?: string, limit?: number): ConnectionRow[] {
    return this.#connections.connections(peerId, limit);
  }
  /** The latest connect attempts to a peer. */
  connectAttempts(peerId?: string, limit?: number): AttemptRow[] {
    return this.#connections.attempts(peerId, limit);
  }
  balance(): Promise<Lamports> {
    return this.ledger.balance();
  }
  /** The network fee of one message (withTransfer: one that also moves lamports). */
  estimateFee(withTransfer: boolean): Promise<Lamports> {
    return this.ledger.estimateFee(withTransfer);
  }
  /** The local ledger's USDC faucet: `amount` base units to this wallet; its new balance. */
  async tokenFaucet(amount: bigint): Promise<{ signature: string; asset: Asset; balance: bigint }> {
    const usdc = await this.ledger.usdc();
    if (!usdc) throw new Error('this ledger has no known USDC mint');
    const signature = await this.ledger.tokenFaucet(usdc, amount);
    return { signature, asset: usdc, balance: await this.ledger.balanceOf(usdc) };
  }
  /** This wallet's token balances: this cluster's USDC (base units), when the cluster has one. */
  async tokenBalances(): Promise<{ asset: Asset; balance: bigint }[]> {
    const usdc = await this.ledger.usdc();
    return usdc ? [{ asset: usdc, balance: await this.ledger.balanceOf(usdc) }] : [];
  }
  /**
   * What buying a listing costs beyond its price, in its asset: the asset, this wallet's balance
   * of it, and (token) the rent of the seller's token account the first payment creates (0 when
   * it exists).
   */
  async assetTerms(listing: ListingRow): Promise<{ asset: Asset; balance: bigint; accountRent: Lamports }> {
    const asset = await this.ledger.asset(listing.mint);
    if (asset.kind === 'sol') return { asset, balance: await this.ledger.balance(), accountRent: 0n };
    const [balance, missing] = await Promise.all([
      this.ledger.balanceOf(asset),
      this.ledger.tokenAccountMissing(asset, listing.seller as Address),
    ]);
    return { asset, balance, accountRent: missing ? await this.ledger.tokenAccountRent() : 0n };
  }

  history(kind: 'purchase' | 'sale', id: string): TransitionRow[] {
    return this.#market.trades.transitions(kind, id);
  }

  status(): NodeStatus {
    const use = this.net.relayUse();
    return {
      ...this.#market.status(),
      peerId: this.identity.peerId.toString(),
      listenPort: this.net.port,
      multiaddrs: this.net.multiaddrs(),
      peers: this.net.status(),
      nat: this.#nat,
      relays: this.net
        .multiaddrs()
        .filter((a) => a.includes('/p2p-circuit'))
        .map((a) => a.replace(new RegExp(`/p2p/${this.identity.peerId.toString()}$`), '')),
      roleNodes: this.roles.known(),
      sessions: this.#market.seller.server.sessions.size,
      roleState: this.net.roleState(),
      ...(use ? { relayUse: { ...use, pricePerMin: BigInt(this.settings.roles.relayPrice) } } : {}),
      rpc: this.ledger.rpcHealth(),
      portMapping: this.net.portMapping(),
    };
  }

  /** Relay shares: paid by this node as a buyer ('out'), or received as a relay ('in'). */
  relayPayments(requestId?: string): RelayPaymentRow[] {
    return this.roles.store?.relayPayments(requestId !== undefined ? { requestId } : {}) ?? [];
  }

  /**
   * Address discovery now (STUN servers from the settings + known reflectors); emits 'nat' when the
   * verdict changed. Concurrent calls share one run; `delayMs` waits first (lets a health check land).
   */
  /** Discover again soon with what the directory knows now; a run under way is followed by one more. */
  #rediscover(): void {
    if (this.#discovering) {
      this.#discoverAgain = true;
      return;
    }
    void this.discover(1000);
  }

  #discoverAgain = false;

  discover(delayMs = 0): Promise<NatStatus | null> {
    if (this.#stopped) return Promise.resolve(this.#nat);
    this.#discovering ??= (async () => {
      try {
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        if (this.#stopped) return this.#nat;
        this.#discoverAgain = false;
        // announced reflectors never checked are checked first (at once, a few seconds at most):
        // those whose node died are left out, the live ones asked
        await this.roles.probe('reflector');
        const r = await this.net.discoverAddress({ reflectors: this.roles.reflectorAddrs() });
        const next: NatStatus = {
          publicIp: r.publicIp ?? null,
          mapping: r.mapping,
          reachability: r.reachability,
          filtering: r.filtering ?? null,
          confidence: r.confidence,
          sources: r.sources,
          warnings: r.warnings,
          outvoted: r.outvoted ?? [],
          at: Date.now(),
        };
        const key = (n: NatStatus | null): string => JSON.stringify(n ? { ...n, at: 0 } : null);
        const changed = key(next) !== key(this.#nat);
        this.#nat = next;
        if (changed && !this.#stopped) {
          // kept for `axon status` (a node not running shows the last verdict)
          try {
            new NatStore(this.#db).save({
              mapping: next.mapping,
              reachability: next.reachability,
              filtering: next.filtering ?? null,
              publicIp: next.publicIp,
              warnings: next.warnings,
              at: next.at,
            });
          } catch (e) {
            this.log.warn({ err: (e as Error).message }, 'NAT verdict not kept');
          }
          this.log.info({ nat: { ...next, sources: next.sources.length } }, 'NAT report');
          this.emit('nat', next);
          void this.roles.refresh(); // a public node needs no relay; a NATed one does
        }
        void this.roles.autoRoles(); // roles in mode 'auto' follow the verdict (and its dial-back)
        return next;
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'address discovery failed');
        return this.#nat;
      } finally {
        this.#discovering = null;
        if (this.#discoverAgain && !this.#stopped) {
          this.#discoverAgain = false;
          void this.discover(1000);
        }
      }
    })();
    return this.#discovering;
  }

  async wallet(): Promise<WalletInfo> {
    return {
      address: this.identity.address,
      balance: await this.ledger.balance(),
      payments: this.#market.trades.payments(),
    };
  }

  async airdrop(lamports: Lamports): Promise<string> {
    const signature = await this.ledger.airdrop(lamports);
    this.#activity.noteAirdrop(signature);
    return signature;
  }

  /**
   * Every transaction that moved this wallet's lamports, newest first, reconciled from the ledger
   * first (market/activity.ts): exact balance change and fee, what it was, its purchase/sale/stream.
   */
  async walletActivity(o: { limit?: number; requestId?: string; streamId?: string } = {}): Promise<ActivityRow[]> {
    await this.#activity.sync();
    return this.#activity.list(o);
  }

  /** The newest active (not ended) purchase of a listing: what the user already receives. */
  activePurchaseOf(listingId: string): PurchaseRow | undefined {
    return this.#market.activePurchaseOf(listingId);
  }

  #stopped: Promise<void> | null = null;
  shutdown(): Promise<void> {
    this.#stopped ??= (async () => {
      this.roles.stop();
      if (this.#discoveryTimer) clearInterval(this.#discoveryTimer);
      await this.#discovering?.catch(() => undefined);
      await this.#market.stop().catch((e) => this.log.warn({ err: (e as Error).message }, 'market stop failed'));
      await this.net.stop().catch(() => undefined);
      if (this.#rpcTimer) clearInterval(this.#rpcTimer);
      this.#saveRpc(); // the counters of this run for `axon status` (best effort)
      await this.ledger.close().catch(() => undefined);
      try {
        this.#db.close();
      } finally {
        this.releaseLock();
      }
      this.log.info('axon node stopped');
    })();
    return this.#stopped;
  }
}
