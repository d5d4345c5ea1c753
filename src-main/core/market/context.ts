// Runs in: Node. What the seller side, buyer side and catalog share (built by market.ts).
import type { Identity } from '../identity/identity';
import type { Logger } from '../log';
import type { LedgerClient, AxonMessage } from '../ledger/types';
import type { ListingStore } from '../store/listings';
import type { TradeStore } from '../store/trades';
import type { Address } from '@solana/kit';
import type { MarketEvents, MarketNet, MarketTiming, RelayPricing } from './types';
import type { PunchSignals } from './punch-signaling';
import type { MeshOptions } from './mesh';

export interface MarketContext {
  identity: Identity;
  ledger: LedgerClient;
  net: MarketNet;
  listings: ListingStore;
  trades: TradeStore;
  timing: MarketTiming;
  log: Logger;
  marketTopic: Address;
  emit<K extends keyof MarketEvents>(event: K, ...args: MarketEvents[K]): void;
  /** The ladder's signaling channel per trade over the ledger (PunchSync). */
  signals: PunchSignals;
  /** Priced relays (undefined: every relay is used and none is paid). */
  relayPricing?: RelayPricing;
  /** Is this seller (libp2p peer id; `listed`: its Listing's addrs) there, peer to peer? (liveness.ts; absent: not checked) */
  liveness?: (peer: string, listed?: readonly string[]) => Promise<import('./liveness').Liveness>;
  /** The mesh's settings (docs/mesh.md; undefined: no default upload budget). */
  mesh?: MeshOptions;
  /** Post on a peer's stdin topic. */
  postTo(peer: Address, msg: AxonMessage, opts?: Parameters<LedgerClient['post']>[2]): ReturnType<LedgerClient['post']>;
}
