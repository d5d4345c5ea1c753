// Runs in: main, preload and renderer (pure TypeScript, no imports). The states of a trade (a
// purchase on the buyer's side, a sale on the seller's) and which of them are final: the one
// list that core/store, the api layer, the CLI and the UI all use.

export const TRADE_STATES = [
  'requested',
  'accepted',
  'connecting',
  'streaming',
  'ended',
  'failed',
  'rejected',
] as const;
export type TradeState = (typeof TRADE_STATES)[number];

/** A trade in one of these states is over: nothing moves it again, nothing is paid for it. */
export const FINAL_STATES: readonly TradeState[] = ['ended', 'failed', 'rejected'];

export const isFinal = (s: TradeState): boolean => FINAL_STATES.includes(s);

/** FINAL_STATES as an SQL list, for `state NOT IN (...)` (constants only: no user input). */
export const FINAL_STATES_SQL = `(${FINAL_STATES.map((s) => `'${s}'`).join(', ')})`;
