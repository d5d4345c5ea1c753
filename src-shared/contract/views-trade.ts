// Runs in: main, preload and renderer (pure TypeScript, imports only its own folder).
// The contract's views of trading (api.ts): listings, quotes, buying, purchases, selling, sales.
import type { TradeState } from './states';

export type LamportsString = string;
export type Tier = 'direct' | 'relay';
export type ConnectionPath = 'direct-lan' | 'direct-wan' | 'hole-punched' | 'relayed';

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
