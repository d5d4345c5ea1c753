// Runs in: main, preload and renderer (pure TypeScript, imports only its own folder).
// The app API contract: the ONE interface the UI programs against, whether it reaches the node
// through Electron IPC (window.axon, built by src-preload/index.ts) or through the headless
// bridge (HTTP + WebSocket, src-main/bridge). Lamports travel as decimal strings (JSON has no
// bigint); times are unix milliseconds.
// Its runtime half (names, IPC channels, errors, the client) is client.ts, and its view types are
// views-trade.ts, views-node.ts and views-settings.ts, all re-exported here: the UI imports this module.

import type {
  LamportsString,
  AssetView,
  ListingView,
  RebroadcastRequest,
  ListingQuery,
  BuyRequest,
  BuyQuote,
  PurchaseView,
  FrameView,
  PreviewView,
  SellRequest,
  OwnStreamView,
  SaleView,
} from './views-trade';
import type { StatusView, PeerView, WalletView, PaymentView, HistoryView, ConnectionRecordView } from './views-node';
import type { SettingsView, SettingsPatch, SettingsResult } from './views-settings';

export { FINAL_STATES, isFinal, TRADE_STATES, type TradeState } from './states';
/** What one transaction of this wallet was (History). */
export { ACTIVITY_KINDS, type ActivityKind } from './activity';
export type * from './views-trade';
export type * from './views-node';
export type * from './views-settings';

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
