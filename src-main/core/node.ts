// Runs in: Node (CLI, the api layer, Electron main). AxonNode is the composition root: it opens
// the data directory, the identity, the store, the ledger client, the net node and the market,
// and offers the few methods the api / CLI / UI need. Events: purchase, sale, frame, payment,
// connection, listing, peer-error, health (see market/types.ts MarketEvents).
import { EventEmitter } from 'node:events';
import type { Address } from '@solana/kit';
import { Identity } from './identity/identity';
import { openIdentity } from './identity/keystore';
import { silentLogger, type Logger } from './log';
import { ensureDataDir } from './paths';
import { lockDataDir } from './lock';
import { loadSettings, parseSettings, type Settings } from './settings';
import { openDb, type Db } from './store/db';
import { createLedgerClient, type SolanaLedgerClient } from './ledger/client';
import type { Lamports, Tier } from './ledger/types';
import { createNetNode } from './net/index';
import type { NetNode, NetNodeOptions, PeerStatus } from './net/types';
import { Market, type MarketStatus } from './market/market';
import type { SellOptions } from './market/seller';
import type { BuyOptions, MarketEvents, MarketTiming } from './market/types';
import type { ListingFilter, ListingRow, OfferRow } from './store/listings';
import type { PaymentRow, PurchaseRow, TransitionRow } from './store/trades';

export interface AxonNodeOptions {
  dataDir: string;
  /** Settings; default: settings.json in the data dir. */
  settings?: Partial<Settings>;
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
}

export interface NodeStatus extends MarketStatus {
  peerId: string;
  listenPort: number;
  multiaddrs: string[];
  peers: PeerStatus[];
}

export interface WalletInfo {
  address: Address;
  balance: Lamports;
  payments: PaymentRow[];
}

export class AxonNode extends EventEmitter<MarketEvents> {
  private constructor(
    readonly identity: Identity,
    readonly settings: Settings,
    readonly db: Db,
    readonly ledger: SolanaLedgerClient,
    readonly net: NetNode,
    readonly market: Market,
    readonly log: Logger,
    /** Releases the data-dir lock (node.pid). */
    private readonly releaseLock: () => void,
  ) {
    super();
    const forward = <K extends keyof MarketEvents>(ev: K): void => {
      market.on(ev, ((...args: MarketEvents[K]) =>
        (this.emit as (e: string, ...a: unknown[]) => boolean)(ev, ...args)) as never);
    };
    for (const ev of ['purchase', 'sale', 'frame', 'payment', 'connection', 'listing', 'peer-error', 'health'] as const)
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
          : { cluster: settings.cluster, localPort: settings.localLedgerPort }),
      });
      cleanup.unshift(() => ledger.close());
      const net = await createNetNode({
        identity,
        listenPort: settings.listenPort,
        roles: settings.roles,
        stunServers: settings.stunServers.map((s) => (s.startsWith('stun:') ? s : `stun:${s}`)),
        db,
        log: log.child({ mod: 'net' }),
        ...o.net,
      });
      cleanup.unshift(() => net.stop());
      const market = await Market.start({
        identity,
        db,
        ledger,
        net,
        marketId: settings.market,
        timing: o.timing,
        log,
        endpoint: o.endpoint,
      });
      log.info({ address: identity.address, port: net.port }, 'axon node started');
      return new AxonNode(identity, settings, db, ledger, net, market, log, releaseLock);
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
  sell(o: SellOptions): Promise<OfferRow> {
    return this.market.sell(o);
  }
  pause(streamId: string): Promise<void> {
    return this.market.pause(streamId);
  }
  unpause(streamId: string): Promise<void> {
    return this.market.unpause(streamId);
  }
  unsell(streamId: string): Promise<void> {
    return this.market.unsell(streamId);
  }

  // ---- buying ----
  listings(filter: ListingFilter = {}): ListingRow[] {
    return this.market.listings(filter);
  }
  buy(listingId: string, o: BuyOptions & { tier?: Tier } = {}): Promise<PurchaseRow> {
    return this.market.buy(listingId, o);
  }
  /** Relay role: buy a listing once and resell it at the rebroadcast tier. */
  rebroadcast(listingId: string, o: Parameters<Market['rebroadcast']>[1] = {}): ReturnType<Market['rebroadcast']> {
    return this.market.rebroadcast(listingId, o);
  }
  stopPurchase(purchaseId: string): Promise<PurchaseRow> {
    return this.market.stopPurchase(purchaseId);
  }

  /** `stop(purchaseId)` stops that purchase; `stop()` shuts the node down. */
  stop(purchaseId: string): Promise<PurchaseRow>;
  stop(): Promise<void>;
  stop(purchaseId?: string): Promise<PurchaseRow | void> {
    return purchaseId === undefined ? this.shutdown() : this.stopPurchase(purchaseId);
  }

  history(kind: 'purchase' | 'sale', id: string): TransitionRow[] {
    return this.market.trades.transitions(kind, id);
  }

  status(): NodeStatus {
    return {
      ...this.market.status(),
      peerId: this.identity.peerId.toString(),
      listenPort: this.net.port,
      multiaddrs: this.net.multiaddrs(),
      peers: this.net.status(),
    };
  }

  async wallet(): Promise<WalletInfo> {
    return {
      address: this.identity.address,
      balance: await this.ledger.balance(),
      payments: this.market.trades.payments(),
    };
  }

  airdrop(lamports: Lamports): Promise<string> {
    return this.ledger.airdrop(lamports);
  }

  #stopped: Promise<void> | null = null;
  shutdown(): Promise<void> {
    this.#stopped ??= (async () => {
      await this.market.stop().catch((e) => this.log.warn({ err: (e as Error).message }, 'market stop failed'));
      await this.net.stop().catch(() => undefined);
      await this.ledger.close().catch(() => undefined);
      try {
        this.db.close();
      } finally {
        this.releaseLock();
      }
      this.log.info('axon node stopped');
    })();
    return this.#stopped;
  }
}
