// Runs in: Node. The kit RPC + subscriptions for one cluster: the ONE rpc layer every ledger read
// and write goes through. Its HTTP transport counts requests per method (RpcMeter), retries server
// errors (5xx) and network failures with exponential backoff and jitter, and on a 429 pauses every
// request of the client until the endpoint's Retry-After (a visible "rate-limited" state). Every JSON-RPC request Axon makes is safe to repeat:
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

/** Retry-After in ms: delta-seconds or an HTTP date; capped at 30 s; undefined when absent/bad. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (!Number.isFinite(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), 30_000);
}

/** Worth retrying: HTTP 429 / 5xx, connection failures, timeouts. */
export function isTransientRpcError(e: unknown): { retry: boolean; afterMs?: number; limited?: boolean } {
  if (isSolanaError(e, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR)) {
    const status = e.context.statusCode;
    if (status === 429 || status >= 500) {
      const afterMs = retryAfterMs(e.context.headers?.get?.('retry-after'));
      return { retry: true, afterMs, limited: status === 429 };
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

/** What the RPC layer saw: visible as "RPC is rate-limiting us" in `axon status` and the UI. */
export interface RpcHealth {
  /** True while a 429 pause is running or a 429 came in the last RATE_LIMIT_VISIBLE_MS. */
  rateLimited: boolean;
  /** Unix ms until which every request waits (the endpoint's Retry-After), or null. */
  pausedUntil: number | null;
  /** 429 answers since start. */
  limitedCount: number;
  /** Unix ms of the last 429, or null. */
  lastLimitedAt: number | null;
  /** JSON-RPC requests sent (a batch counts each call), since start. */
  requests: number;
  /** Requests per method, since start. */
  byMethod: Record<string, number>;
  /** The pacing in force (null: not paced, e.g. the embedded local ledger) and what it held back. */
  pacing?: (PacingPolicy & { paced: number; waitedMs: number }) | null;
}

/** How long a 429 keeps the rate-limited state visible after its pause ended. */
export const RATE_LIMIT_VISIBLE_MS = 60_000;
/** Pause after a 429 without Retry-After (doubling while 429s keep coming). */
const DEFAULT_LIMIT_PAUSE_MS = 1_000;
const MAX_LIMIT_PAUSE_MS = 30_000;

/**
 * The one place requests to the RPC are counted and throttled. A 429 from the endpoint pauses
 * EVERY request of this client (not only the one that got it) until its Retry-After (or a doubling
 * pause without one): hammering a limiter that said "wait" only extends the ban.
 */
export class RpcMeter {
  #pausedUntil = 0;
  #limitedCount = 0;
  #lastLimitedAt: number | null = null;
  #streak = 0;
  #requests = 0;
  readonly #byMethod = new Map<string, number>();
  readonly #listeners = new Set<(h: RpcHealth) => void>();
  #wasLimited = false;
  #timer: NodeJS.Timeout | undefined;

  count(methods: string[]): void {
    for (const m of methods) {
      this.#requests++;
      this.#byMethod.set(m, (this.#byMethod.get(m) ?? 0) + 1);
    }
  }

  /** The endpoint answered 429: pause everything for `afterMs` (Retry-After) or a doubling default. */
  limited(afterMs: number | undefined): number {
    const now = Date.now();
    this.#limitedCount++;
    this.#lastLimitedAt = now;
    this.#streak++;
    const wait = afterMs ?? Math.min(MAX_LIMIT_PAUSE_MS, DEFAULT_LIMIT_PAUSE_MS * 2 ** (this.#streak - 1));
    this.#pausedUntil = Math.max(this.#pausedUntil, now + wait);
    this.#changed();
    return wait;
  }

  /** A request went through (the limiter lets us in again). */
  ok(): void {
    this.#streak = 0;
  }

  /** Wait while a 429 pause runs. */
  async gate(signal?: AbortSignal | null): Promise<void> {
    for (let now = Date.now(); now < this.#pausedUntil && !signal?.aborted; now = Date.now())
      await sleep(this.#pausedUntil - now, signal ?? undefined);
  }

  health(now = Date.now()): RpcHealth {
    const paused = now < this.#pausedUntil;
    return {
      rateLimited: paused || (this.#lastLimitedAt !== null && now - this.#lastLimitedAt < RATE_LIMIT_VISIBLE_MS),
      pausedUntil: paused ? this.#pausedUntil : null,
      limitedCount: this.#limitedCount,
      lastLimitedAt: this.#lastLimitedAt,
      requests: this.#requests,
      byMethod: Object.fromEntries(this.#byMethod),
    };
  }

  /** Called when rateLimited turns on or off. */
  onChange(fn: (h: RpcHealth) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #changed(): void {
    const h = this.health();
    if (h.rateLimited !== this.#wasLimited) {
      this.#wasLimited = h.rateLimited;
      for (const fn of this.#listeners) fn(h);
    }
    clearTimeout(this.#timer);
    if (h.rateLimited && this.#lastLimitedAt !== null) {
      // turn the state off again once the visible window has passed without a new 429
      const off = Math.max(this.#pausedUntil, this.#lastLimitedAt + RATE_LIMIT_VISIBLE_MS) - Date.now() + 5;
      this.#timer = setTimeout(() => this.#changed(), Math.max(5, off));
      this.#timer.unref?.();
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#listeners.clear();
  }
}

/**
 * Pacing under public limits: the node spends its RPC requests from token buckets — one for all
 * requests, one per method — instead of only recovering from 429s. A bucket of `n` per 10 s refills
 * at n/10 per second and holds n/4, so no 10 s window ever sees more than 1.25 × n. The defaults
 * (PUBLIC_RPC_PACING) keep that under the published limits of public endpoints such as
 * api.mainnet-beta.solana.com: 100 requests / 10 s per IP and 40 / 10 s per method.
 */
export interface PacingPolicy {
  /** Requests of any method per 10 s (0 = not paced). */
  requestsPer10s: number;
  /** Requests of one method per 10 s (0 = not paced). */
  perMethodPer10s: number;
}
export const PUBLIC_RPC_PACING: PacingPolicy = { requestsPer10s: 60, perMethodPer10s: 24 };

class TokenBucket {
  #tokens: number;
  #at = Date.now();
  constructor(
    private readonly perMs: number,
    readonly capacity: number,
  ) {
    this.#tokens = capacity;
  }
  #refill(now: number): void {
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#at) * this.perMs);
    this.#at = now;
  }
  /** Ms until `n` tokens are there (0: now). */
  waitFor(n: number, now = Date.now()): number {
    this.#refill(now);
    const need = Math.min(n, this.capacity) - this.#tokens;
    return need <= 0 ? 0 : Math.ceil(need / this.perMs);
  }
  take(n: number): void {
    this.#tokens -= Math.min(n, this.capacity);
  }
}

export class RpcPacer {
  readonly #all: TokenBucket | undefined;
  readonly #byMethod = new Map<string, TokenBucket>();
  #paced = 0;
  #waitedMs = 0;
  constructor(readonly policy: PacingPolicy) {
    if (policy.requestsPer10s > 0) this.#all = bucket(policy.requestsPer10s);
  }

  /** Wait until every one of `methods` (a batch counts each) may be sent now, then spend them. */
  async take(methods: string[], signal?: AbortSignal | null): Promise<void> {
    const counts = new Map<string, number>();
    for (const m of methods) counts.set(m, (counts.get(m) ?? 0) + 1);
    let waited = false;
    for (;;) {
      const now = Date.now();
      let wait = this.#all?.waitFor(methods.length, now) ?? 0;
      for (const [m, n] of counts) wait = Math.max(wait, this.#method(m)?.waitFor(n, now) ?? 0);
      if (wait === 0) break;
      if (!waited) this.#paced += methods.length;
      waited = true;
      this.#waitedMs += wait;
      await sleep(wait, signal ?? undefined);
    }
    this.#all?.take(methods.length);
    for (const [m, n] of counts) this.#method(m)?.take(n);
  }

  #method(m: string): TokenBucket | undefined {
    if (this.policy.perMethodPer10s <= 0) return undefined;
    let b = this.#byMethod.get(m);
    if (!b) this.#byMethod.set(m, (b = bucket(this.policy.perMethodPer10s)));
    return b;
  }

  /** Requests that had to wait for their turn, and how long they waited in total. */
  stats(): { paced: number; waitedMs: number } {
    return { paced: this.#paced, waitedMs: this.#waitedMs };
  }
}

function bucket(per10s: number): TokenBucket {
  return new TokenBucket(per10s / 10_000, Math.max(1, Math.floor(per10s / 4)));
}

function methodsOf(payload: unknown): string[] {
  const list = Array.isArray(payload) ? payload : [payload];
  return list.map((p) => String((p as { method?: unknown })?.method ?? '?'));
}

export function retryingTransport(
  inner: RpcTransport,
  log: Logger,
  policy: RetryPolicy = DEFAULT_RETRY,
  meter: RpcMeter = new RpcMeter(),
  pacer?: RpcPacer,
): RpcTransport {
  return (async (config: Parameters<RpcTransport>[0]) => {
    const methods = methodsOf(config.payload);
    for (let attempt = 0; ; attempt++) {
      await meter.gate(config.signal);
      await pacer?.take(methods, config.signal);
      meter.count(methods);
      try {
        const out = await inner(config);
        meter.ok();
        return out;
      } catch (e) {
        const t = isTransientRpcError(e);
        if (t.limited) {
          const wait = meter.limited(t.afterMs);
          log.info({ method: methods.join(','), waitMs: wait }, 'ledger rpc: rate-limited (429), pausing requests');
        }
        if (!t.retry || attempt + 1 >= policy.attempts || config.signal?.aborted) throw e;
        const wait = t.limited ? 0 : (t.afterMs ?? backoffMs(attempt, policy)); // 429: the gate waits
        log.debug(
          { method: methods.join(','), attempt, wait, err: (e as Error).message },
          'ledger rpc: transient error, retrying',
        );
        if (wait) await sleep(wait, config.signal ?? undefined);
      }
    }
  }) as RpcTransport;
}

export function createRpc(rpcUrl: string, log: Logger, policy?: RetryPolicy, meter?: RpcMeter, pacer?: RpcPacer) {
  const transport = retryingTransport(createDefaultRpcTransport({ url: rpcUrl }), log, policy, meter, pacer);
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
