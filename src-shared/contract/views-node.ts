// Runs in: main, preload and renderer (pure TypeScript, imports only its own folder).
// The contract's views of the node itself (api.ts): status, peers and connections, wallet, payments, history.
import type { ActivityKind } from './activity';
import type { ApiErrorInfo } from './api';
import type { LamportsString, ConnectionPath, AssetView } from './views-trade';
import type { RelayUseView, RoleStateView } from './views-settings';

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
