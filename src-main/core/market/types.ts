// Runs in: Node. Shared types of the market layer: what it needs from the layers below (a net
// node that can prepare a connect and open streams; the ledger client), its timing knobs and
// the events it emits for the api / UI / CLI.
import type { Connection, Libp2p, PeerId } from '@libp2p/interface';
import type { ConnectSession, PrepareOptions } from '../net/types';
import type { Lamports, Tier } from '../ledger/types';
import type { PurchaseRow, SaleRow } from '../store/trades';
import type { RawSinksInput } from './sinks/raw';

/** The part of the net node the market uses (NetNode satisfies it). */
export interface MarketNet {
  readonly libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'peerId'>;
  prepareConnect(opts: PrepareOptions): Promise<ConnectSession>;
  /** The connection to use with a peer (net's one rule: the best open path). */
  bestConnection(peer: PeerId | string): Connection | undefined;
  /** Addresses to announce with /p2p/<self> (for relays' NodeAnnounce); optional. */
  multiaddrs?(): string[];
  /** 'path': a peer's best path changed (CustomEvent<PathChange>, net/types.ts); optional. */
  addEventListener?(type: 'path', listener: (e: Event) => void): void;
  removeEventListener?(type: 'path', listener: (e: Event) => void): void;
}

/** Priced relays as the buyer sees them (market/relay-pay.ts): which relays a purchase may use and
 *  what the relay its connection runs over is owed per period. */
export interface RelayPricing {
  /** The user accepts this relay: its announced price is at most roles.maxRelayPrice (a relay not
   *  in the directory counts as free: it announced no price). */
  allowed(relayPeer: string): boolean;
  /** The relay the best connection to `peer` runs over now and its share of a period of
   *  `periodMs`; undefined when the path is not relayed or the relay is free. */
  shareFor(peer: string, periodMs: number): { relay: string; relayPeer: string; lamports: bigint } | undefined;
  /** Hand the relay a voucher (the seller accepted) that carries its share (vouchers mode). */
  sendVoucher?(relayPeer: string, v: RelayVoucher): Promise<{ ok: boolean; reason?: string }>;
  /** Keep a share sent (the history: one row per share). */
  recordShare(row: {
    signature: string;
    requestId: string;
    period: number;
    payer: string;
    relay: string;
    peer: string;
    lamports: bigint;
    /** e.g. that it travels in a voucher, landing with the seller's settlement */
    reason?: string | null;
  }): void;
}

/** A voucher as the buyer hands it to a priced relay (market/relay-pay.ts RELAY_VOUCHER_PROTOCOL). */
export interface RelayVoucher {
  requestId: string;
  period: number;
  nonceAccount: string;
  /** The signed durable-nonce transaction, base64. */
  tx: string;
}

export interface MarketTiming {
  /**
   * Listing TTL (s); refreshed at half of it, a health change posted at most once per quarter of
   * it. Default 4 h: ≤ 12 transactions a day per listing with a steady source, ≤ 24 with one that
   * flaps (docs/market.md "Listing liveness").
   */
  listingTtlSec: number;
  /** Default pay-as-you-go period and grace for new offers (s). */
  periodSec: number;
  graceSec: number;
  /** A ServiceRequest not answered within this time expires (ms). */
  requestTimeoutMs: number;
  /** Stream keep-alive (ms). */
  keepAliveMs: number;
  /** Pay the next period this long before it starts: fraction of the period (min 300 ms). */
  payLeadFraction: number;
  /** The buyer stops paying when no frame arrived for this long (ms). */
  dataStallMs: number;
  /** Seller: per-buyer queue bound (frames). */
  maxQueueFrames: number;
  /** Ledger pub-sub lag allowance when checking a request's expiry (ms). */
  clockSkewMs: number;
  /**
   * How the buyer pays: 'voucher' (default: a signed durable-nonce voucher per period over the
   * stream, settled by the seller from time to time; market/voucher.ts) or 'per-period' (one
   * ledger transaction per period, the protocol before vouchers; kept for the cost comparison of
   * `npm run bench -- ledger` and for sellers that take only that).
   */
  payments: 'voucher' | 'per-period';
  /** Buyer: close a finished purchase's nonce account after this long without a settlement (ms). */
  voucherCloseAfterMs: number;
}

export const DEFAULT_TIMING: MarketTiming = {
  listingTtlSec: 14_400,
  periodSec: 60,
  graceSec: 15,
  requestTimeoutMs: 60_000,
  keepAliveMs: 5_000,
  payLeadFraction: 0.3,
  dataStallMs: 30_000,
  maxQueueFrames: 256,
  clockSkewMs: 5_000,
  payments: 'voucher',
  voucherCloseAfterMs: 10 * 60_000,
};

export interface BuyOptions {
  /** Most minutes to buy (default 60). */
  minutes?: number;
  /** Spending cap in lamports (default: price of `minutes`). */
  maxLamports?: Lamports;
  /** 'relay' buys a rebroadcast of the listing (a derived listing from a relay node). */
  tier?: Tier;
  /** Append frames to this file (NDJSON with metadata). */
  out?: string;
  /** Serve on the local endpoint (default true). */
  serve?: boolean;
  /** Buy even while an active purchase of the same listing runs (the user confirmed a second one). */
  allowDuplicate?: boolean;
  /** Raw-byte outputs: a TCP port, a UDP forwarder, a raw file, an MQTT broker (sinks/raw.ts). */
  raw?: RawSinksInput;
}

export interface MarketEvents {
  purchase: [PurchaseRow];
  sale: [SaleRow];
  frame: [{ purchaseId: string; seq: number; ts: number; payload: Uint8Array }];
  payment: [
    {
      direction: 'in' | 'out';
      requestId: string;
      period: number;
      lamports: Lamports;
      signature: string;
      state: string;
      reason?: string;
    },
  ];
  connection: [{ requestId: string; peer: string; path: string; elapsedMs: number; role: 'buyer' | 'seller' }];
  listing: [{ id: string; change: 'seen' | 'delisted' | 'published' }];
  'peer-error': [{ remote: string; code: string; message: string }];
  /** The seller refused uplink messages of a purchase (how many since the last notice, and why). */
  uplink: [{ purchaseId: string; code: string; refused: number; message: string }];
  /** A source's health changed, or (`warning`) it dropped some input but goes on. */
  health: [{ streamId: string; healthy: boolean; lastError: string | null; warning?: string }];
}

export class MarketError extends Error {
  override name = 'MarketError';
  constructor(
    readonly code:
      | 'unknown-listing'
      | 'insufficient-balance'
      | 'bad-input'
      | 'own-listing'
      | 'no-relay'
      | 'unknown-purchase'
      | 'unknown-stream'
      | 'cap-too-low'
      | 'already-receiving'
      | 'unhealthy'
      | 'source-failed'
      | 'loop'
      | 'too-deep'
      | 'not-allowed'
      | 'seller-unreachable',
    message: string,
  ) {
    super(message);
  }
}
