// Runs in: main, preload and renderer (pure TypeScript, imports only its own folder).
// The app API contract: the ONE interface the UI programs against, whether it reaches the node
// through Electron IPC (window.axon, built by src-preload/index.ts) or through the headless
// bridge (HTTP + WebSocket, src-main/bridge). Lamports travel as decimal strings (JSON has no
// bigint); times are unix milliseconds.
// Its runtime half (names, IPC channels, errors, the client) is client.ts, re-exported here.

import type { TradeState } from './states';

export { FINAL_STATES, isFinal, TRADE_STATES, type TradeState } from './states';

export type LamportsString = string;
export type Tier = 'direct' | 'relay';
export type ConnectionPath = 'direct-lan' | 'direct-wan' | 'hole-punched' | 'relayed';

export interface StatusView {
  state: 'starting' | 'ready' | 'error';
  /** What went wrong and what to do, when state is 'error'. */
  error?: ApiErrorInfo;
  version: string;
  address: string;
  peerId: string;
  cluster: string;
  dataDir: string;
  listenAddrs: string[];
  /** NAT classification as the node sees it, e.g. 'public', 'endpoint-independent', 'symmetric'. */
  nat?: string;
  /** Circuit addresses of the relays this node holds a reservation on (reachable through them). */
  relays?: string[];
  /** This node's own relay and reflector roles (Settings → Roles; 'auto' by default). */
  roles?: { relay: RoleStateView; reflector: RoleStateView };
  /** The router port mapping in one line: "198.20.1.2:4001 → port 4001 via NAT-PMP (router …)", or why none. */
  portMapping?: string;
  /** What this node's relay carries against its caps (absent when the relay role is off). */
  relayUse?: RelayUseView;
  /** True while at least one own stream is listed and not paused. */
  serving: boolean;
  /** All selling paused (tray "Pause selling"). */
  sellingPaused: boolean;
  buyers: number;
  purchasesActive: number;
  /** The ledger's RPC endpoint: rateLimited = "RPC is rate-limiting us" (429s; requests wait). */
  rpc?: RpcStatusView;
}

export interface RpcStatusView {
  rateLimited: boolean;
  /** Unix ms until which requests wait (the endpoint's Retry-After), or null. */
  pausedUntil: number | null;
  /** 429 answers since the node started. */
  limitedCount: number;
  lastLimitedAt: number | null;
  /** JSON-RPC calls since the node started. */
  requests: number;
}

/**
 * What amounts are counted in: SOL (mint null, decimals 9: lamports) or an SPL token such as USDC
 * (its mint, its decimals). Amounts of a listing / purchase / sale are integer base units of it;
 * network fees and rent are always lamports.
 */
export interface AssetView {
  symbol: string;
  decimals: number;
  mint: string | null;
}

export interface ListingView {
  /** seller address + ':' + stream id */
  id: string;
  seller: string;
  streamId: string;
  title: string;
  description: string;
  tags: string[];
  format: string;
  rateHz: number;
  /** lamports per minute */
  priceDirect: LamportsString;
  priceRelay: LamportsString | null;
  periodSec: number;
  region: string | null;
  healthy: boolean;
  own: boolean;
  publishedAt: number;
  expiresAt: number;
  /** For a rebroadcast listing: the origin listing id. */
  origin: string | null;
  /** A rebroadcast of a rebroadcast: the listing it is bought from (null: from its origin). */
  upstream?: string | null;
  /** 0 = the origin (direct tier); k = k rebroadcasters between the origin and its buyers. */
  hops?: number;
  /** A rebroadcast: the latency its data already has from the origin when it leaves it (ms). */
  hopMs?: number | null;
  /** Its seller takes no further buyer now: a Buy goes to one of its rebroadcasts (docs/mesh.md). */
  full?: boolean;
  /** Id of this node's running purchase of the listing ("Receiving"), null when none. */
  receiving: string | null;
  /** What the prices are in (SOL or a token such as USDC); absent = SOL. */
  asset?: AssetView;
  /**
   * What the frames hold, as the listing says (`json key=hex: alt_baro ft, gs kt`; parse with
   * parseSchemaHint in src-shared/stream-schema.ts); null when the listing has no hint.
   */
  schemaHint?: string | null;
}

/** Rebroadcast a listing (docs/mesh.md): buy it once, sell it again at `pricePerMinute`. */
export interface RebroadcastRequest {
  listingId: string;
  /** Lamports per minute this node's buyers pay. */
  pricePerMinute: LamportsString;
  /** How long to buy upstream at most (minutes). */
  maxMinutes: number;
}

export interface ListingQuery {
  text?: string;
  format?: string;
  tag?: string;
  region?: string;
  /** lamports per minute, direct tier */
  maxPrice?: LamportsString;
  /** Only listings published within this many seconds. */
  freshWithinSec?: number;
}

export interface BuyRequest {
  listingId: string;
  tier: Tier;
  /** How long to buy at most (minutes). */
  maxMinutes: number;
  /** Spending cap; defaults to maxMinutes × (price + network fee) per period. */
  maxLamports?: LamportsString;
  /** Buy although a purchase of this listing is still running (the user confirmed a second one). */
  confirmDuplicate?: boolean;
}

export interface BuyQuote {
  listingId: string;
  tier: Tier;
  pricePerMinute: LamportsString;
  periodSec: number;
  pricePerPeriod: LamportsString;
  /** Network fee per period payment. */
  feePerPeriod: LamportsString;
  /** The most a relayed connection adds per minute (Settings roles.maxRelayPrice; "0" = free relays
   *  only): the relay's share is paid with each period while relayed and counts against the cap. */
  relayPricePerMinuteMax?: LamportsString;
  maxMinutes: number;
  cap: LamportsString;
  balance: LamportsString;
  /** Payment periods the cap covers at most. */
  periods: number;
  /** Network fees of one hour of payments. */
  feesPerHour: LamportsString;
  /** Network fee of the request message posted when buying (paid once, up front). */
  requestFee: LamportsString;
  /** The most this purchase takes from the wallet: the cap plus the request's fee. */
  totalAtMost: LamportsString;
  /** The balance after spending totalAtMost ("-" amounts are written as a negative number). */
  balanceAfter: LamportsString;
  /** This node's running purchase of the listing, when there is one (a second Buy asks first). */
  existingPurchase: string | null;
  /** Set when the balance cannot cover the first period: what to do. */
  problem?: string;
  /** What the prices and the cap are in; for a token, fees and rent stay lamports. Absent = SOL. */
  asset?: AssetView;
  /** Lamports the first voucher locks in a nonce account (a refundable deposit, kept for later
   *  purchases and returned when the account is closed); '0' when a kept one is free or when paying per period. */
  nonceAccountRent?: LamportsString;
  /** Token-priced: lamports of rent for the seller's token account the first payment creates ('0' when it exists). */
  tokenAccountRent?: LamportsString;
  /** Token-priced: this wallet's balance of the token (base units). */
  tokenBalance?: LamportsString;
}

export type PurchaseState = TradeState;

/**
 * What a trade risks now, paid by voucher (docs/market.md "Vouchers"). Buyer: it can never pay
 * more than `signed`. Seller: `unsettled` is lost if the buyer empties its account or advances its
 * nonce; it never exceeds `creditLimit` (one period for a new buyer, growing with settled history).
 */
export interface RiskView {
  signed: LamportsString;
  settled: LamportsString;
  unsettled: LamportsString;
  /** Seller only ('0' for a purchase). */
  creditLimit: LamportsString;
  /** Ledger transactions that settled vouchers so far. */
  settlements: number;
}

export interface PurchaseView {
  id: string;
  listingId: string;
  seller: string;
  streamId: string;
  title: string;
  format: string;
  /** The listing's schema hint (fields with units) when it has one; the live view uses it. */
  schemaHint?: string | null;
  tier: Tier;
  state: PurchaseState;
  reason: string | null;
  maxMinutes: number;
  maxLamports: LamportsString;
  pricePerPeriod: LamportsString | null;
  periodMs: number | null;
  /** Last period paid (0-based), -1 = none. */
  paidThrough: number;
  spent: LamportsString;
  /** Transaction fees paid for this purchase; the cap covers spent + fees. */
  fees: LamportsString;
  /** The part of `fees` paid to relays (their shares of relayed periods). */
  relayShares?: LamportsString;
  frames: number;
  dropped: number;
  /** Frames per second over the last few seconds. */
  rateHz: number;
  /** What it risks (vouchers); absent for a purchase paid per period. */
  risk?: RiskView;
  createdAt: number;
  updatedAt: number;
  /** What pricePerPeriod, maxLamports and spent are in (fees are lamports); absent = SOL. */
  asset?: AssetView;
  /** The path the data takes, origin first, you last, with the latency each hop adds (ms; null:
   *  not measured yet) — docs/mesh.md. */
  path?: { node: string; role: 'origin' | 'rebroadcaster' | 'you'; addsMs: number | null }[];
}

export interface FrameView {
  purchaseId: string;
  seq: number;
  /** Source timestamp, unix ms. */
  ts: number;
  /** The payload as text (truncated to a few KiB for display). */
  text: string;
  /** When the payload is not UTF-8 (binary: Beast, MAVLink…): its first 256 bytes as hex. */
  hex?: string;
}

/** A free preview of a listing (a few recent frames from its seller, before buying). */
export interface PreviewView {
  listingId: string;
  format: string;
  /** The seller's schema hint of the moment (null: none yet; the view infers one). */
  schemaHint: string | null;
  /** Frames oldest first; their `purchaseId` is the listing id (no purchase exists). */
  frames: FrameView[];
}

export type SourceSpec =
  | { kind: 'synthetic'; feed: 'aircraft' | 'weather' }
  | { kind: 'file'; path: string }
  | { kind: 'command'; command: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'udp'; port: number }
  | { kind: 'websocket'; url: string };
export type SourceKind = SourceSpec['kind'];

export interface SellRequest {
  /** Defaults to a slug of the title. */
  streamId?: string;
  title: string;
  description: string;
  tags: string[];
  format: string;
  source: SourceSpec;
  /** per minute, in base units of `mint` (lamports when absent) */
  priceDirect: LamportsString;
  priceRelay?: LamportsString;
  periodSec: number;
  region?: string;
  /** Max buyers at once. */
  capacity?: number;
  /** Priced in this SPL token (e.g. WalletView.tokens[i].asset.mint for USDC); absent = SOL. */
  mint?: string;
  /** Fields with units, e.g. `alt_baro ft, gs kt` (docs/streams.md); absent = inferred from the frames. */
  schema?: string;
  /** 'recent' (default): buyers may preview a few recent frames for free before buying; 'off': not. */
  preview?: 'recent' | 'off';
}

export interface OwnStreamView {
  streamId: string;
  listingId: string;
  title: string;
  description: string;
  format: string;
  source: SourceSpec;
  priceDirect: LamportsString;
  priceRelay: LamportsString | null;
  periodSec: number;
  region: string | null;
  paused: boolean;
  healthy: boolean;
  /** Why the source is unhealthy. */
  problem: string | null;
  buyers: number;
  framesOut: number;
  /** What the prices are in; absent = SOL. */
  asset?: AssetView;
}

export interface SaleView {
  id: string;
  buyer: string;
  streamId: string;
  tier: Tier;
  state: TradeState;
  reason: string | null;
  pricePerPeriod: LamportsString;
  paidThrough: number;
  earned: LamportsString;
  frames: number;
  dropped: number;
  /** What it risks (vouchers): the unsettled credit against the limit. */
  risk?: RiskView;
  createdAt: number;
  updatedAt: number;
  /** What pricePerPeriod and earned are in; absent = SOL. */
  asset?: AssetView;
}

export interface AttemptView {
  method: string;
  startedAt: number;
  durationMs: number | null;
  outcome: string;
  error: string | null;
}

export interface PeerView {
  peerId: string;
  address: string;
  connected: boolean;
  path: ConnectionPath | null;
  /** Relay peer id / address when path is 'relayed'. */
  relay: string | null;
  remoteAddr: string | null;
  rttMs: number | null;
  bytesIn: number;
  bytesOut: number;
  /** Recent throughput samples, bytes per second, oldest first. */
  throughput: number[];
  openedAt: number | null;
  attempts: AttemptView[];
}

export interface WalletView {
  address: string;
  balance: LamportsString;
  /** Token balances (USDC of this cluster), base units of each asset. */
  tokens?: { asset: AssetView; balance: LamportsString }[];
  /** The local ledger serves a USDC faucet (the \`faucet\` command is planned; \`axon wallet faucet\` today). */
  cluster: string;
  /** Airdrops exist on the local ledger and devnet only. */
  canAirdrop: boolean;
  /** Block explorer page of the address on public clusters. */
  explorerUrl: string | null;
}

export interface PaymentView {
  signature: string;
  requestId: string;
  direction: 'in' | 'out';
  counterparty: string;
  lamports: LamportsString;
  period: number;
  state: string;
  reason: string | null;
  createdAt: number;
  explorerUrl: string | null;
  /** What `lamports` is in (the purchase's or sale's asset); absent = SOL. */
  asset?: AssetView;
}

/** What one transaction of this wallet was (History). */
export { ACTIVITY_KINDS, type ActivityKind } from './activity';
import type { ActivityKind } from './activity';

/** One transaction that moved this wallet's lamports, as the ledger reports it. */
export interface ActivityView {
  signature: string;
  kind: ActivityKind;
  /** Plain words, e.g. "Payment for 'Aircraft' period", "Network fee: listing 'weather'". */
  label: string;
  /** Balance change, lamports (negative = money left the wallet). */
  delta: LamportsString;
  /** Network fee paid (part of delta). */
  fee: LamportsString;
  /** Purchase or sale this belongs to. */
  purchaseId: string | null;
  saleId: string | null;
  /** Own stream (listing messages). */
  streamId: string | null;
  counterparty: string | null;
  /** unix ms (ledger block time) */
  at: number | null;
  err: string | null;
  explorerUrl: string | null;
}

export interface ActivityTotal {
  key: string;
  label: string;
  delta: LamportsString;
  fees: LamportsString;
  count: number;
}

export interface HistoryView {
  entries: ActivityView[];
  /** Sum of every entry's delta: equals the balance change since the wallet's first transaction. */
  total: LamportsString;
  fees: LamportsString;
  balance: LamportsString;
  perPurchase: ActivityTotal[];
  perListing: ActivityTotal[];
  /** Earnings through each rebroadcaster of this node's streams (docs/mesh.md); key = its address. */
  perRebroadcaster?: ActivityTotal[];
  perDay: ActivityTotal[];
}

export interface ConnectionRecordView {
  id: number;
  peerId: string;
  requestId: string | null;
  path: string;
  relay: string | null;
  remoteAddr: string | null;
  openedAt: number;
  closedAt: number | null;
  closeReason: string | null;
  rttMs: number | null;
  bytesIn: number;
  bytesOut: number;
}

/** 'auto' = serve once this node finds itself publicly reachable; 'on'; 'off'. */
export type RoleMode = 'auto' | 'on' | 'off';

export interface RolesSettings {
  relay: RoleMode;
  reflector: RoleMode;
  limits: {
    /** Peers that may hold a relay reservation at once. */
    maxReservations: number;
    /** Data per relayed connection and direction, MiB. */
    perConnectionMiB: number;
    /** Length of one relayed connection, minutes. */
    perConnectionMinutes: number;
    /** All relayed connections together, KiB/s (0 = no cap). */
    totalKiBPerSec?: number;
    /** All relayed connections together per UTC day, MiB (0 = no budget). */
    dailyMiB?: number;
  };
  /** What this node's relay charges, lamports per minute of a relayed purchase (0 = free). */
  relayPrice?: number;
  /** The most this node pays a relay, lamports per minute (0 = free relays only). */
  maxRelayPrice?: number;
}

/** The relay role's use against its caps (Settings roles.limits.totalKiBPerSec / dailyMiB). */
export interface RelayUseView {
  bytesToday: number;
  /** null = no daily budget */
  dailyCapBytes: number | null;
  /** 5 s average, both directions */
  bytesPerSec: number;
  /** null = no rate cap */
  capBytesPerSec: number | null;
  /** the rate cap holds traffic back now */
  throttled: boolean;
  circuits: number;
  /** reservations/circuits refused today: daily budget spent */
  refused: number;
  /** circuits cut: their peers did not pay the relay */
  cutUnpaid: number;
  /** what the relay charges per minute of a relayed purchase ("0" = free) */
  pricePerMinute: LamportsString;
}

/** One of this node's roles as it stands: the mode, whether it serves now, and why. */
export interface RoleStateView {
  mode: RoleMode;
  active: boolean;
  reason: string;
}

/** The automatic rebroadcaster (docs/mesh.md "Automatic rebroadcasters"): opt-in, off by default. */
export interface AutoRebroadcastSettings {
  enabled: boolean;
  /** What it charges its buyers, in % of the rebroadcast price of the listing it buys (1..1000). */
  pricePercent: number;
  /** Streams it takes at once (1..64). */
  maxStreams: number;
  /** Upload budget of each stream it rebroadcasts, KiB/s. */
  uploadKiBps: number;
  /** Its spending cap per stream taken (lamports). */
  maxLamports: LamportsString;
  /** It stops a stream after this long without a buyer (seconds, 10..86400). */
  idleSec: number;
}

export interface SettingsView {
  cluster: string;
  market: string;
  listenPort: number;
  roles: RolesSettings;
  stunServers: string[];
  startOnLogin: boolean;
  /** Buy without a confirmation when the total at most is ≤ this; '0' = always ask first. */
  oneClickBuyMax: LamportsString;
  uiPort: number;
  dataDir: string;
  /** Start-on-login is an Electron feature; false in the headless UI. */
  canStartOnLogin: boolean;
  /** JSON-RPC endpoint overriding the cluster's (null: the cluster's). An API-key URL kept in the
   *  keychain is shown only as `https://host/…` (rpcKeyed true). */
  rpcUrl: string | null;
  rpcKeyed: boolean;
  /** WebSocket (pubsub) endpoint; null = derived from the RPC URL. */
  rpcWsUrl: string | null;
  /** The most a transaction pays for priority on top of its base fee (lamports). */
  rpcPriorityFeeCap: LamportsString;
  autoRebroadcast: AutoRebroadcastSettings;
}

export interface SettingsPatch {
  cluster?: string;
  market?: string;
  listenPort?: number;
  roles?: RolesSettings;
  stunServers?: string[];
  startOnLogin?: boolean;
  oneClickBuyMax?: LamportsString;
  /** An RPC URL: a plain one goes to settings.json; one carrying an API key (`?…` or `user@`) goes
   *  to the OS keychain (a 0600 file where none exists), never to settings.json. null = none of both. */
  rpcUrl?: string | null;
  rpcWsUrl?: string | null;
  rpcPriorityFeeCap?: LamportsString;
  autoRebroadcast?: AutoRebroadcastSettings;
}

export interface SettingsResult {
  settings: SettingsView;
  /** Changes that take effect only after a restart. */
  restartRequired: boolean;
}

export interface Notice {
  level: 'info' | 'warning' | 'error';
  title: string;
  message: string;
}

/** Events pushed by the node. */
export interface AxonEvents {
  status: StatusView;
  listings: { count: number };
  purchase: PurchaseView;
  frames: FrameView[];
  sale: SaleView;
  stream: OwnStreamView;
  peer: PeerView;
  payment: PaymentView;
  notice: Notice;
  /** The wallet's balance changed (pushed from the ledger's account subscription): SOL when
   *  `mint` is null (lamports), else that token's base units. */
  balance: { mint: string | null; balance: LamportsString };
}
export type AxonEventName = keyof AxonEvents;

/** Commands: each returns a result or rejects with an ApiError. */
export interface AxonCommands {
  status(): Promise<StatusView>;
  listings(query?: ListingQuery): Promise<ListingView[]>;
  quote(req: BuyRequest): Promise<BuyQuote>;
  /** A few recent frames from the seller, peer to peer, free and rate-limited (nothing paid). */
  preview(listingId: string, frames?: number): Promise<PreviewView>;
  buy(req: BuyRequest): Promise<PurchaseView>;
  /** Buy a stream once and sell it again as a rebroadcast naming its origin (refused: loop, too deep). */
  rebroadcast(req: RebroadcastRequest): Promise<{ purchase: PurchaseView; stream: OwnStreamView }>;
  purchases(): Promise<PurchaseView[]>;
  recentFrames(purchaseId: string, limit?: number): Promise<FrameView[]>;
  renew(purchaseId: string, addMinutes: number): Promise<PurchaseView>;
  stopPurchase(purchaseId: string): Promise<PurchaseView>;
  ownStreams(): Promise<OwnStreamView[]>;
  sell(req: SellRequest): Promise<OwnStreamView>;
  setStreamPaused(streamId: string, paused: boolean): Promise<OwnStreamView>;
  removeStream(streamId: string): Promise<void>;
  setSellingPaused(paused: boolean): Promise<StatusView>;
  sales(): Promise<SaleView[]>;
  peers(): Promise<PeerView[]>;
  wallet(): Promise<WalletView>;
  airdrop(sol: number): Promise<{ signature: string; balance: LamportsString }>;
  /** The local ledger's USDC faucet: `amount` base units of this cluster's USDC to this wallet. */
  tokenFaucet(amount: LamportsString): Promise<{ signature: string; asset: AssetView; balance: LamportsString }>;
  payments(limit?: number): Promise<PaymentView[]>;
  /** Every transaction that moved this wallet's lamports, with totals (reconciled from the ledger). */
  history(limit?: number): Promise<HistoryView>;
  connections(limit?: number): Promise<ConnectionRecordView[]>;
  settings(): Promise<SettingsView>;
  updateSettings(patch: SettingsPatch): Promise<SettingsResult>;
}
export type CommandName = keyof AxonCommands;

export interface AxonApi extends AxonCommands {
  /** Subscribe to an event; returns the unsubscribe function. */
  on<E extends AxonEventName>(event: E, listener: (payload: AxonEvents[E]) => void): () => void;
}

/** What went wrong (message) and what the user can do about it (hint). */
export interface ApiErrorInfo {
  code: string;
  message: string;
  hint: string;
  /** For 'invalid-argument': the field at fault, as the request names it (e.g. 'priceDirect', 'source.path'). */
  field?: string;
}

/** The wire form of a command's outcome (IPC and HTTP alike). */
export type ApiResult<T = unknown> = { ok: true; value: T } | { ok: false; error: ApiErrorInfo };

// The runtime half of the contract (names, IPC channels, errors with hints, the client): client.ts.
export {
  COMMAND_NAMES,
  EVENT_NAMES,
  ApiError,
  encodeApiError,
  toApiErrorInfo,
  type ApiTransport,
  createApiClient,
  IPC_CALL,
  IPC_EVENT,
  formatSol,
} from './client';
