// Runs in: main, preload and renderer (pure TypeScript, imports only its own folder).
// The runtime half of the app API contract (the types are in api.ts, which re-exports this file):
// command and event names, IPC channels, errors with hints, the client over a transport.
import type { ApiErrorInfo, ApiResult, AxonApi, AxonEventName, CommandName, LamportsString } from './api';

export const COMMAND_NAMES: readonly CommandName[] = [
  'status',
  'listings',
  'quote',
  'preview',
  'buy',
  'rebroadcast',
  'purchases',
  'recentFrames',
  'renew',
  'stopPurchase',
  'ownStreams',
  'sell',
  'setStreamPaused',
  'removeStream',
  'setSellingPaused',
  'sales',
  'peers',
  'wallet',
  'airdrop',
  'tokenFaucet',
  'payments',
  'history',
  'connections',
  'settings',
  'updateSettings',
] as const;

export const EVENT_NAMES: readonly AxonEventName[] = [
  'status',
  'listings',
  'purchase',
  'frames',
  'sale',
  'stream',
  'peer',
  'payment',
  'notice',
  'balance',
] as const;

export class ApiError extends Error implements ApiErrorInfo {
  readonly code: string;
  readonly hint: string;
  readonly field?: string;
  constructor(info: ApiErrorInfo) {
    super(info.message);
    this.name = 'ApiError';
    this.code = info.code;
    this.hint = info.hint;
    if (info.field !== undefined) this.field = info.field;
  }
}

/**
 * Errors crossing Electron's contextBridge keep only their message: the preload encodes the
 * whole ApiErrorInfo into it, and toApiErrorInfo() decodes it again in the renderer.
 */
const ENCODED_PREFIX = 'AXON_API_ERROR ';

export function encodeApiError(info: ApiErrorInfo): Error {
  return new Error(ENCODED_PREFIX + JSON.stringify(info));
}

export function toApiErrorInfo(e: unknown): ApiErrorInfo {
  if (e instanceof ApiError)
    return { code: e.code, message: e.message, hint: e.hint, ...(e.field !== undefined ? { field: e.field } : {}) };
  const message = e instanceof Error ? e.message : String(e);
  const at = message.indexOf(ENCODED_PREFIX);
  if (at >= 0) {
    try {
      const info = JSON.parse(message.slice(at + ENCODED_PREFIX.length)) as ApiErrorInfo;
      if (typeof info.message === 'string') return info;
    } catch {
      /* fall through */
    }
  }
  return {
    code: 'unexpected',
    message,
    hint: 'Try again; if it keeps happening, restart Axon and check its log file.',
  };
}

/** The transport under a client: Electron IPC or the HTTP/WebSocket bridge. */
export interface ApiTransport {
  call(command: CommandName, args: unknown[]): Promise<ApiResult>;
  /** Deliver every event to the sink; returns a function that stops delivery. */
  subscribe(sink: (event: AxonEventName, payload: unknown) => void): () => void;
}

/** Build the typed API over a transport. `encodeErrors` for clients handed through contextBridge. */
export function createApiClient(transport: ApiTransport, opts: { encodeErrors?: boolean } = {}): AxonApi {
  const listeners = new Map<AxonEventName, Set<(payload: unknown) => void>>();
  let unsubscribe: (() => void) | null = null;
  const ensureSubscribed = () => {
    if (unsubscribe) return;
    unsubscribe = transport.subscribe((event, payload) => {
      for (const l of listeners.get(event) ?? []) {
        try {
          l(payload);
        } catch (e) {
          console.error(`axon: a '${event}' listener failed`, e);
        }
      }
    });
  };
  const api: Record<string, unknown> = {};
  for (const name of COMMAND_NAMES) {
    api[name] = async (...args: unknown[]) => {
      const r = await transport.call(name, args);
      if (r.ok) return r.value;
      throw opts.encodeErrors ? encodeApiError(r.error) : new ApiError(r.error);
    };
  }
  api.on = (event: AxonEventName, listener: (payload: unknown) => void) => {
    if (!EVENT_NAMES.includes(event)) throw new Error(`unknown event '${String(event)}'`);
    ensureSubscribed();
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  };
  return api as unknown as AxonApi;
}

/** IPC channel names (Electron). */
export const IPC_CALL = 'axon:call';
export const IPC_EVENT = 'axon:event';

/**
 * Format lamports as SOL for display: THE one format rule of the app. Exact (no floats, no
 * rounding: up to 9 decimals, trailing zeros dropped), so the same amount reads the same on every
 * screen and a nonzero amount is never shown as 0.
 */
export function formatSol(lamports: LamportsString | bigint): string {
  let v = typeof lamports === 'bigint' ? lamports : BigInt(lamports);
  const neg = v < 0n;
  if (neg) v = -v;
  const whole = v / 1_000_000_000n;
  const frac = (v % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole.toString()}${frac ? '.' + frac : ''} SOL`;
}
