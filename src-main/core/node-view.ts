// Runs in: Node (the CLI's read-only commands: listings, status, wallet). The narrow front door
// to a data directory WITHOUT a running node (no libp2p, no market watchers): the SQLite history,
// the ledger client, and a one-off sync of the market topic into the catalog. Like AxonNode, it
// keeps the database and the stores inside.
import { NatStore, type StoredNat } from './store/nat';
import { loadRpcHealth, type StoredRpcHealth } from './store/rpc-health';
import type { Address } from '@solana/kit';
import type { Identity } from './identity/identity';
import type { Logger } from './log';
import { ensureDataDir } from './paths';
import { openDb, type Db } from './store/db';
import { createLedgerClient, type SolanaLedgerClient } from './ledger/client';
import type { Delist, Lamports, Listing, Received } from './ledger/types';
import type { Asset } from './ledger/assets';
import { ListingStore, type ListingFilter, type ListingRow, type OfferRow } from './store/listings';
import { TradeStore, type PaymentRow, type PurchaseRow, type SaleRow } from './store/trades';
import { ConnectionStore, type AttemptRow, type ConnectionRow } from './store/connections';
import { RoleStore, type RelayUseRow, type StoredAnnouncement, type StoredRoleState } from './store/roles';
import { PortMapStore, type PortMapStatus } from './store/portmap';
import { MeshAutoStore, type AutoRebroadcastRow } from './store/mesh-auto';
import { Catalog, marketCursor, waitCatalogCaughtUp } from './market/catalog';
import { pathOf, type PathHop } from './market/mesh';
import { loadEndpointToken } from './market/sinks/local-endpoint';

export class NodeView {
  readonly #db: Db;
  readonly #ledger: SolanaLedgerClient;
  readonly #listings: ListingStore;
  readonly #trades: TradeStore;
  readonly #connections: ConnectionStore;
  readonly #tokenFile: string;

  private constructor(
    readonly identity: Identity,
    db: Db,
    ledger: SolanaLedgerClient,
    private readonly log: Logger,
    tokenFile: string,
  ) {
    this.#tokenFile = tokenFile;
    this.#db = db;
    this.#ledger = ledger;
    this.#listings = new ListingStore(db);
    this.#trades = new TradeStore(db);
    this.#connections = new ConnectionStore(db);
  }

  static open(o: {
    dataDir: string;
    identity: Identity;
    ledger: { rpcUrl: string; wsUrl: string };
    log: Logger;
  }): NodeView {
    const paths = ensureDataDir(o.dataDir);
    const db = openDb(paths.db);
    const ledger = createLedgerClient({
      identity: o.identity,
      db,
      log: o.log.child({ mod: 'ledger' }),
      rpcUrl: o.ledger.rpcUrl,
      wsUrl: o.ledger.wsUrl,
    });
    return new NodeView(o.identity, db, ledger, o.log, paths.endpointToken);
  }

  get address(): Address {
    return this.identity.address;
  }
  /** The token readers of this data dir's local endpoint (`axon buy --serve`) present; made on first use. */
  endpointToken(): string {
    return loadEndpointToken(this.#tokenFile);
  }
  listing(id: string): ListingRow | undefined {
    return this.#listings.get(id);
  }
  listings(filter: ListingFilter = {}): ListingRow[] {
    return this.#listings.search(filter);
  }
  offers(): OfferRow[] {
    return this.#listings.offers();
  }
  purchases(o: { active?: boolean; limit?: number } = {}): PurchaseRow[] {
    return this.#trades.purchases(o);
  }
  /** The path a purchase's data takes (origin → rebroadcasters → you) with each hop's added latency,
   *  as the running node last measured it (docs/mesh.md); empty when its listing is gone. */
  purchasePath(p: PurchaseRow): PathHop[] {
    const l = this.#listings.get(p.listingId);
    return l ? pathOf(this.#listings, l, this.identity.address, p.latencyMs ?? undefined) : [];
  }
  sales(o: { active?: boolean; streamId?: string; limit?: number } = {}): SaleRow[] {
    return this.#trades.sales(o);
  }
  payments(requestId?: string): PaymentRow[] {
    return this.#trades.payments(requestId);
  }
  connections(peerId?: string, limit?: number): ConnectionRow[] {
    return this.#connections.connections(peerId, limit);
  }

  /** Connect attempts (the ladder's steps), newest first. */
  connectAttempts(peerId?: string, limit?: number): AttemptRow[] {
    return this.#connections.attempts(peerId, limit);
  }
  /** This node's relay/reflector roles as the last running node kept them. */
  roleStates(): StoredRoleState[] {
    return new RoleStore(this.#db).roleStates();
  }
  /** This node's NAT verdict as the last running node found it. */
  nat(): StoredNat | undefined {
    return new NatStore(this.#db).last();
  }

  /** The router port mapping as the (last) running node held it (store/portmap.ts). */
  portMapping(): PortMapStatus | undefined {
    return new PortMapStore(this.#db).load();
  }
  /** The relays and reflectors announced on the market and not yet expired. */
  roleAnnouncements(): StoredAnnouncement[] {
    return new RoleStore(this.#db).liveAnnouncements();
  }
  /** What the relay role carried today (as the running node last saved it, about once a minute). */
  relayUse(): RelayUseRow | undefined {
    return new RoleStore(this.#db).relayUse();
  }
  /** The streams this node rebroadcast automatically (docs/mesh.md), newest first. */
  autoRebroadcasts(limit = 20): AutoRebroadcastRow[] {
    return new MeshAutoStore(this.#db).all(limit);
  }
  /** The RPC endpoint's state (requests, 429s) as the last running node saw it. */
  rpcHealth(): StoredRpcHealth | null {
    return loadRpcHealth(this.#db);
  }
  balance(): Promise<Lamports> {
    return this.#ledger.balance();
  }
  airdrop(lamports: Lamports): Promise<string> {
    return this.#ledger.airdrop(lamports);
  }
  /** This ledger's USDC (the cluster's known mint), or null. */
  usdc(): Promise<Asset | null> {
    return this.#ledger.usdc();
  }
  /** The asset of a mint (null = SOL). */
  asset(mint: string | null): Promise<Asset> {
    return this.#ledger.asset(mint);
  }
  balanceOf(asset: Asset): Promise<bigint> {
    return this.#ledger.balanceOf(asset);
  }
  tokenFaucet(asset: Asset, amount: bigint): Promise<string> {
    return this.#ledger.tokenFaucet(asset, amount);
  }
  /** The mint a purchase or sale is paid in (null = SOL, also for an unknown id). */
  mintOf(requestId: string): string | null {
    return this.#trades.purchase(requestId)?.mint ?? this.#trades.sale(requestId)?.mint ?? null;
  }

  /**
   * Sync the market topic into the catalog (the same cursor as a node's market watcher, so
   * nothing is read twice later). Resolves when caught up (true) or at the timeout (false).
   */
  async syncCatalog(marketId: string, timeoutMs: number, onError?: (e: Error) => void): Promise<boolean> {
    const topic = await this.#ledger.marketTopic(marketId);
    const ac = new AbortController();
    const catalog = new Catalog({ identity: this.identity, listings: this.#listings, emit: () => true, log: this.log });
    const loop = (async () => {
      try {
        for await (const rx of this.#ledger.watch(topic, { signal: ac.signal, cursor: marketCursor(topic) })) {
          if (rx.message.type === 'Listing') catalog.onListing(rx as Received<Listing>);
          else if (rx.message.type === 'Delist') catalog.onDelist(rx as Received<Delist>);
        }
      } catch (e) {
        if (!ac.signal.aborted) onError?.(e as Error);
      }
    })();
    try {
      return await waitCatalogCaughtUp(this.#db, this.#ledger, topic, timeoutMs);
    } finally {
      ac.abort();
      await Promise.race([loop, new Promise((r) => setTimeout(r, 1000))]);
    }
  }

  async close(): Promise<void> {
    await this.#ledger.close().catch(() => undefined);
    this.#db.close();
  }
}
