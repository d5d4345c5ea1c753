// Runs in: Node. What the app API (node-backend.ts) is given: the part of AxonNode it may use and
// the host's context.
import type { AxonNode } from '../core/node';

/** What the API uses of AxonNode (src-main/core/node.ts): its public front door, nothing inside. */
export type AxonNodeLike = Pick<
  AxonNode,
  | 'identity'
  | 'settings'
  | 'relayPayments'
  | 'sell'
  | 'pause'
  | 'unpause'
  | 'unsell'
  | 'listings'
  | 'listing'
  | 'quote'
  | 'preview'
  | 'solNeededToStart'
  | 'nonceRentToLock'
  | 'buy'
  | 'rebroadcast'
  | 'purchasePath'
  | 'renew'
  | 'stopPurchase'
  | 'purchases'
  | 'purchase'
  | 'sales'
  | 'payments'
  | 'exposure'
  | 'ownStreams'
  | 'connections'
  | 'connectAttempts'
  | 'balance'
  | 'estimateFee'
  | 'tokenBalances'
  | 'tokenFaucet'
  | 'assetTerms'
  | 'status'
  | 'airdrop'
  | 'walletActivity'
  | 'activePurchaseOf'
  | 'sale'
  | 'on'
  | 'off'
>;

export interface BackendContext {
  dataDir: string;
  settingsFile: string;
  version: string;
  /** requestAirdrop works on this cluster (local ledger, devnet). */
  canAirdrop: boolean;
  /** Set inside Electron: start-on-login is an app feature. */
  setStartOnLogin?: (on: boolean) => void;
}
