// Runs in: main, preload and renderer (pure TypeScript, no imports). What one transaction of this
// wallet was, in History: the one list that core/store (wallet_activity.kind), the api layer and
// the UI all use.

export const ACTIVITY_KINDS = [
  'payment-out',
  'payment-in',
  'listing',
  'refresh',
  'delist',
  'request',
  'accept',
  'reject',
  'stop',
  'announce',
  'message',
  'airdrop',
  'transfer-in',
  'transfer-out',
  'deposit',
  'refund',
  'failed',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];
