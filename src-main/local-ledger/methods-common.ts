// Runs in: Node. What every RPC method handler gets, and Agave's `{context, value}` wrapper.
import type { Logger } from 'pino';
import type { SlotClock } from './clock';
import type { Bank } from './bank';
import type { LedgerStore } from './store';
import type { Faucet } from './faucet';

/** The Agave release whose RPC behaviour this server follows. */
export const API_VERSION = '2.3.13';
export const FEATURE_SET = 3640012085;

export interface RpcContext {
  clock: SlotClock;
  bank: Bank;
  store: LedgerStore;
  faucet: Faucet;
  log: Logger;
  identity: string;
}

export type Handler = (params: unknown[], ctx: RpcContext) => unknown;
export type MethodTable = Record<string, Handler>;

export function withContext<T>(slot: number, value: T): { context: { apiVersion: string; slot: number }; value: T } {
  return { context: { apiVersion: API_VERSION, slot }, value };
}
