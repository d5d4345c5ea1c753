// Runs in: Node. The kit RPC + subscriptions for one cluster, with retries: the HTTP transport
// retries rate limits (429), server errors (5xx) and network failures with exponential backoff
// and jitter (honouring Retry-After). Every JSON-RPC request Axon makes is safe to repeat:
// reads are idempotent and a resent transaction keeps its signature.
import {
  createDefaultRpcTransport,
  createSolanaRpcFromTransport,
  createSolanaRpcSubscriptions,
  isSolanaError,
  SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR,
  type RpcTransport,
} from '@solana/kit';
import type { Logger } from '../log';
import { sleep } from '../sleep';

export interface RetryPolicy {
  /** Attempts in total (first try included). */
  attempts: number;
  baseMs: number;
  maxMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 200, maxMs: 5_000 };

/** Exponential backoff with full jitter: attempt 0 → up to baseMs, doubling to maxMs. */
export function backoffMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.round(cap / 2 + (Math.random() * cap) / 2);
}

/** Worth retrying: HTTP 429 / 5xx, connection failures, timeouts. */
export function isTransientRpcError(e: unknown): { retry: boolean; afterMs?: number } {
  if (isSolanaError(e, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR)) {
    const status = e.context.statusCode;
    if (status === 429 || status >= 500) {
      const ra = Number(e.context.headers?.get?.('retry-after'));
      return { retry: true, afterMs: Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 30_000) : undefined };
    }
    return { retry: false };
  }
  const err = e as { name?: string; message?: string; cause?: { code?: string } };
  if (err?.name === 'AbortError') return { retry: false };
  const code = err?.cause?.code ?? '';
  if (err?.name === 'TypeError' && /fetch failed/i.test(err.message ?? '')) return { retry: true };
  if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|UND_ERR/.test(code)) return { retry: true };
  return { retry: false };
}

export function retryingTransport(inner: RpcTransport, log: Logger, policy: RetryPolicy = DEFAULT_RETRY): RpcTransport {
  return (async (config: Parameters<RpcTransport>[0]) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await inner(config);
      } catch (e) {
        const t = isTransientRpcError(e);
        if (!t.retry || attempt + 1 >= policy.attempts || config.signal?.aborted) throw e;
        const wait = t.afterMs ?? backoffMs(attempt, policy);
        const method = (config.payload as { method?: string })?.method;
        log.debug({ method, attempt, wait, err: (e as Error).message }, 'ledger rpc: transient error, retrying');
        await sleep(wait, config.signal ?? undefined);
      }
    }
  }) as RpcTransport;
}

export function createRpc(rpcUrl: string, log: Logger, policy?: RetryPolicy) {
  const transport = retryingTransport(createDefaultRpcTransport({ url: rpcUrl }), log, policy);
  return createSolanaRpcFromTransport(transport);
}

export function createRpcSubscriptions(wsUrl: string) {
  return createSolanaRpcSubscriptions(wsUrl);
}

/**
 * The subscriptions client, replaceable: once kit's pooled WebSocket channel has failed (for
 * instance while the ledger restarts), every later subscribe on the same object fails with
 * "WebSocket failed to connect" even when the server is back (kit 8.4, seen here). So whoever
 * sees a subscription fail calls renew(), and the next get() builds a fresh client.
 */
export class SubscriptionsHolder {
  #current: LedgerRpcSubscriptions | undefined;
  constructor(private readonly wsUrl: string) {}
  get(): LedgerRpcSubscriptions {
    return (this.#current ??= createRpcSubscriptions(this.wsUrl));
  }
  /** Drop `failed` (if it is still the current one). */
  renew(failed: LedgerRpcSubscriptions): void {
    if (this.#current === failed) this.#current = undefined;
  }
}

export type LedgerRpc = ReturnType<typeof createRpc>;
export type LedgerRpcSubscriptions = ReturnType<typeof createRpcSubscriptions>;
