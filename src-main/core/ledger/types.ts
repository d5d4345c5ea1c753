// Runs in: Node. The ledger contract the layers above (net, market, api) program against.
// Implemented by client.ts (this folder) over @solana/kit; message catalog in messages.ts.
import type { Address } from '@solana/kit';
import type { LedgerRpc } from './rpc';
import type { Asset, AssetTransfer } from './assets';

export type Lamports = bigint;
export type Tier = 'direct' | 'relay';
export type Role = 'relay' | 'reflector';

/** Recover actions after Neuron's error taxonomy: what the receiver of a PeerError should do. */
export type RecoverAction = 'retry' | 'reconnect' | 'renew' | 'refund-none' | 'abort';

interface Base {
  /** Random, unique per message (replay protection, AEAD associated data). 16 bytes. */
  nonce: Uint8Array;
  /** Unix seconds after which the message must be ignored. */
  expiresAt: number;
}

export interface Listing extends Base {
  type: 'Listing';
  streamId: string;
  title: string;
  description: string;
  tags: string[];
  format: string; // MIME
  rateMilliHz: number; // nominal rate: 10 Hz = 10_000
  priceDirect: Lamports; // per minute, direct tier
  priceRelay?: Lamports; // per minute, rebroadcast tier
  periodSec: number; // pay-as-you-go period
  region?: string;
  healthy: boolean;
  roles: Role[]; // seller's roles
  /** For a rebroadcast listing: the origin listing (seller address, stream id). */
  origin?: { seller: Address; streamId: string };
  /** Priced in this SPL token (prices in its base units); absent = SOL (lamports). */
  mint?: Address;
  /** What the frames hold, compact (src-shared/stream-schema.ts): `json key=hex: alt_baro ft, gs kt`. */
  schema?: string;
  /** A rebroadcast bought from another rebroadcast: the listing it is bought from (absent: from the origin). */
  upstream?: { seller: Address; streamId: string };
  /** A rebroadcast: rebroadcasters between the origin and a buyer of this listing (1 = bought from the origin). */
  hops?: number;
  /** A rebroadcast: the latency its data has when it leaves this rebroadcaster, from the origin (ms, measured). */
  hopMs?: number;
  /** Where the seller answers before a purchase (free preview): public or relay multiaddrs. */
  addrs?: string[];
  /** The stream takes no further buyer now (capacity or upload budget): buyers go to its rebroadcasts. */
  full?: boolean;
}
export interface Delist extends Base {
  type: 'Delist';
  streamId: string;
}
export interface NodeAnnounce extends Base {
  type: 'NodeAnnounce';
  roles: Role[];
  multiaddrs: string[];
  /** Lamports per minute of a relayed purchase, paid beside each period's payment (absent = free). */
  relayPrice?: Lamports;
}
export interface ServiceRequest extends Base {
  type: 'ServiceRequest';
  requestId: string;
  streamId: string;
  tier: Tier;
  maxMinutes: number;
  maxLamports: Lamports;
  /** Buyer's connect info (candidates, ICE parameters), sealed to the seller (crypto.ts). */
  sealed: Uint8Array;
}
export interface ServiceAccept extends Base {
  type: 'ServiceAccept';
  requestId: string;
  pricePerPeriod: Lamports;
  periodSec: number;
  graceSec: number;
  /** Unix ms at which both sides start the hole punch. */
  punchAt: number;
  relays: string[]; // relay multiaddrs (public anyway)
  /** Seller's connect info, sealed to the buyer. */
  sealed: Uint8Array;
  /** The SPL token the buyer pays in (prices in its base units); absent = SOL. */
  mint?: Address;
}
export interface ServiceReject extends Base {
  type: 'ServiceReject';
  requestId: string;
  reason: 'unknown-stream' | 'full' | 'price-changed' | 'expired' | 'not-allowed' | 'other';
  message: string;
}
/** A full seller's answer: the live rebroadcasts of the stream the buyer may buy instead (market/mesh.ts). */
export interface ServiceRedirect extends Base {
  type: 'ServiceRedirect';
  requestId: string;
  /** Rebroadcast listings of the stream (seller address, stream id), best first. */
  listings: { seller: Address; streamId: string }[];
  message: string;
}
/** An automatic rebroadcaster's standing offer on the market topic (market/mesh-auto.ts). */
export interface RebroadcastOffer extends Base {
  type: 'RebroadcastOffer';
  /** What it charges its buyers, in % of the rebroadcast price of the listing it buys. */
  pricePercent: number;
  /** Streams it takes now (0 withdraws the offer). */
  streams: number;
  /** The most it pays for one stream it takes (its spending cap). */
  maxLamports: Lamports;
}
/** A full seller asks an automatic rebroadcaster to take its stream `streamId` (market/mesh-auto.ts). */
export interface RebroadcastAsk extends Base {
  type: 'RebroadcastAsk';
  streamId: string;
  message: string;
}
export interface Payment extends Base {
  type: 'Payment';
  requestId: string;
  period: number;
}
export interface PunchSync extends Base {
  type: 'PunchSync';
  requestId: string;
  round: number;
  punchAt: number;
  sealed: Uint8Array;
}
export interface ServiceStop extends Base {
  type: 'ServiceStop';
  requestId: string;
  reason: string;
}
export interface PeerError extends Base {
  type: 'PeerError';
  requestId?: string;
  code: string;
  recover: RecoverAction;
  message: string;
}

export type AxonMessage =
  | Listing
  | Delist
  | NodeAnnounce
  | ServiceRequest
  | ServiceAccept
  | ServiceReject
  | Payment
  | PunchSync
  | ServiceStop
  | PeerError
  | ServiceRedirect
  | RebroadcastOffer
  | RebroadcastAsk;
export type MessageType = AxonMessage['type'];

/** A message read from a topic: the sender is the transaction's fee payer / signer. */
export interface Received<M extends AxonMessage = AxonMessage> {
  signature: string;
  slot: bigint;
  blockTime: number | null;
  sender: Address;
  topic: Address;
  message: M;
  // No transfer here: what a payment paid whom is decided by verifyPayment alone (ledger/payments.ts).
}

export interface PostOptions {
  /** A transfer in the same transaction (payments): SOL, or an SPL token (assets.ts). */
  transfer?: AssetTransfer;
  /** A second System transfer (SOL) in the same transaction: a relayed purchase's share for the
   *  relay (docs/market.md "Priced relays"). */
  relayShare?: { to: Address; lamports: Lamports };
  /** Wait for this commitment before resolving (default 'confirmed'). */
  commitment?: 'processed' | 'confirmed' | 'finalized';
  /** The most this transaction may pay in fees (base + priority), re-sends included: what the
   *  user's spending cap leaves for it. A re-send bids higher only within it. */
  maxFeeLamports?: Lamports;
}

export interface PostResult {
  signature: string;
  slot: bigint;
  /** Lamports of fee the transaction that landed paid (base fee + its priority fee). */
  fee: Lamports;
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** Ignore the topic's history before the first call (no stored cursor): start at now. */
  fromNow?: boolean;
  /** Cursor name in ledger_cursors (default: the topic address). */
  cursor?: string;
  /** Unix seconds: transactions that landed before this are not read (nothing on the topic can
   *  still be alive from then) — a new node's first sync stops there instead of the full history. */
  notBeforeSec?: number;
}

export interface PaymentExpectation {
  payer: Address;
  recipient: Address;
  lamports: Lamports;
  requestId: string;
  period: number;
  /** What the payment must be made in (default SOL); `lamports` is in its base units. */
  asset?: Asset;
}
export type PaymentVerdict =
  /** lamports: what the transaction moved from the payer to the recipient (the amount to book). */
  | { ok: true; slot: bigint; lamports: Lamports }
  | {
      ok: false;
      reason:
        | 'not-found'
        | 'failed'
        | 'wrong-payer'
        | 'wrong-recipient'
        | 'wrong-mint'
        | 'underpaid'
        | 'wrong-request'
        | 'wrong-period'
        | 'replayed'
        | 'expired'
        | 'malformed';
      detail: string;
    };

export interface LedgerClient {
  readonly address: Address;
  stdinTopic(peer: Address): Promise<Address>;
  marketTopic(marketId: string): Promise<Address>;
  post(topic: Address, message: AxonMessage, opts?: PostOptions): Promise<PostResult>;
  watch(topic: Address, opts?: WatchOptions): AsyncIterable<Received>;
  balance(addr?: Address): Promise<Lamports>;
  airdrop(lamports: Lamports): Promise<string>;
  /** The asset of a mint (null = SOL); a known mint (USDC) without a ledger read. */
  asset(mint: string | null | undefined): Promise<Asset>;
  /** 'sol', 'usdc' (this cluster's USDC) or a mint address → its asset. */
  assetByName(name: string): Promise<Asset>;
  /** This cluster's USDC, or null when it has none known. */
  usdc(): Promise<Asset | null>;
  /** Balance of `asset` in base units (SOL: lamports); no token account = 0. */
  balanceOf(asset: Asset, addr?: Address): Promise<bigint>;
  /** `owner` has no token account for `asset` (a payment to it must create one: rent). */
  tokenAccountMissing(asset: Asset, owner: Address): Promise<boolean>;
  /** Lamports a new token account locks as rent. */
  tokenAccountRent(): Promise<Lamports>;
  /** Local ledger's token faucet: mint `amount` base units of `asset` to this identity. */
  tokenFaucet(asset: Asset, amount: bigint): Promise<string>;
  /** Fee in lamports of a post (with or without a transfer). */
  estimateFee(withTransfer: boolean): Promise<Lamports>;
  verifyPayment(signature: string, expected: PaymentExpectation): Promise<PaymentVerdict>;
  /** A relay's reader of the shares paid to it (ledger/relay-shares.ts), from now on. */
  relayShareReader(): import('./relay-shares').RelayShareReader;
  /** The JSON-RPC client (vouchers: nonce accounts, settlements; ledger/nonce.ts, ledger/voucher-tx.ts). */
  readonly rpc: LedgerRpc;
  /** Compute-unit limit + priority fee of every transaction this client's identity signs (fees.ts). */
  readonly fees: import('./fees').FeePlanner;
  /** Call `onChange` with an account's lamports now and on every change (subscription); returns stop. */
  watchLamports(addr: Address, onChange: (lamports: Lamports) => void): () => void;
  /** The same for `owner`'s balance of a token (its associated token account; SOL: lamports). */
  watchTokenBalance(owner: Address, asset: Asset, onChange: (amount: bigint) => void): () => void;
  close(): Promise<void>;
}
