// Runs in: Node. watch(topic): an async iterator of the messages posted to a topic.
//
// "Push wakes, pull reads." The push path (logsSubscribe mentions=[topic]) only wakes the reader;
// the reader always pulls getSignaturesForAddress(topic, { until: cursor }) and reads each new
// transaction oldest first (slot order). So push and poll can never deliver out of order or twice,
// and when the WebSocket is down the same loop simply polls on a timer. The cursor (last
// delivered signature) is stored in ledger_cursors after the consumer took each message, so a
// restart resumes exactly after the last delivered message: no gap, no duplicate. (A crash while
// the consumer handles a message redelivers that one message: at-least-once at a crash.)
import type { Address, Signature } from '@solana/kit';
import type { Db } from '../store/db';
import type { Logger } from '../log';
import { getCursor, setCursor } from '../store/cursors';
import { decodeEnvelope, type GarbageStats } from './envelope';
import { nonceKey } from './messages';
import { backoffMs, type LedgerRpc, type SubscriptionsHolder } from './rpc';
import { sleep } from '../sleep';
import { parseTransaction } from './transactions';
import type { Received, WatchOptions } from './types';

export interface WatchContext {
  rpc: LedgerRpc;
  /** Push path; undefined = polling only. */
  subs: SubscriptionsHolder | undefined;
  db: Db;
  log: Logger;
  garbage: GarbageStats;
  replay: ReplayCache;
  /** Poll interval when the push path is down (ms). */
  pollMs: number;
  /** Safety-net poll interval while the push path is up (ms). */
  pushPollMs: number;
  /** Aborted when the client closes. */
  closed: AbortSignal;
}

const PAGE = 1000;
/** An idle watcher's poll interval doubles up to 2^IDLE_BACKOFF_STEPS times its base. */
const IDLE_BACKOFF_STEPS = 3;
/** Transactions fetched ahead while catching up. */
const PREFETCH = 4;
const COMMITMENT = 'confirmed' as const;

/** Nonces seen per cursor (topic reader) until their message expires: a replayed envelope is dropped. */
export class ReplayCache {
  readonly #seen = new Map<string, number>();
  constructor(private readonly max = 100_000) {}

  /** true if new (and remembers it), false if seen before. */
  add(scope: string, nonce: Uint8Array, expiresAtSec: number, nowSec = Date.now() / 1000): boolean {
    const key = `${scope}:${nonceKey(nonce)}`;
    if (this.#seen.has(key)) return false;
    if (this.#seen.size >= this.max) this.prune(nowSec);
    this.#seen.set(key, expiresAtSec);
    return true;
  }

  prune(nowSec: number): void {
    for (const [k, exp] of this.#seen) if (exp < nowSec) this.#seen.delete(k);
    // Still full of live entries: drop the oldest half (insertion order).
    if (this.#seen.size >= this.max) {
      let n = this.#seen.size / 2;
      for (const k of this.#seen.keys()) {
        if (n-- <= 0) break;
        this.#seen.delete(k);
      }
    }
  }
}

class Wake {
  #pending = false;
  #resolve: (() => void) | undefined;
  /** Signatures the push path announced, with how many reads have missed them so far. */
  readonly announced = new Map<string, number>();
  set(signature?: string): void {
    if (signature && this.announced.size < 1000) this.announced.set(signature, 0);
    this.#pending = true;
    this.#resolve?.();
  }
  /** True when an announced signature is not readable yet (reads lag the notification). */
  lagging(seen: Set<string>): boolean {
    let lag = false;
    for (const [sig, misses] of this.announced) {
      if (seen.has(sig) || misses >= 20) this.announced.delete(sig);
      else {
        this.announced.set(sig, misses + 1);
        lag = true;
      }
    }
    return lag;
  }
  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (!this.#pending && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done(): void {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        this.#resolve = done;
        signal.addEventListener('abort', done, { once: true });
      });
      this.#resolve = undefined;
    }
    this.#pending = false;
  }
}

interface PushState {
  healthy: boolean;
}

async function runPush(
  ctx: WatchContext,
  topic: Address,
  wake: Wake,
  state: PushState,
  signal: AbortSignal,
): Promise<void> {
  if (!ctx.subs) return;
  for (let attempt = 0; !signal.aborted;) {
    const subs = ctx.subs.get();
    try {
      const notes = await subs
        .logsNotifications({ mentions: [topic] }, { commitment: COMMITMENT })
        .subscribe({ abortSignal: signal });
      state.healthy = true;
      attempt = 0;
      wake.set(); // catch up on whatever happened while the push path was down
      for await (const n of notes) wake.set(n.value.signature);
    } catch (e) {
      if (!signal.aborted) {
        ctx.log.debug({ topic, err: (e as Error).message }, 'ledger watch: push path down');
        ctx.subs.renew(subs);
      }
    }
    state.healthy = false;
    wake.set();
    await sleep(backoffMs(attempt++, { attempts: Infinity, baseMs: 250, maxMs: 5_000 }), signal);
  }
}

interface SigInfo {
  signature: Signature;
  slot: bigint;
  err: unknown;
}

/** Every signature on the topic after `until` (and not before `notBeforeSec`), oldest first. */
async function fetchNew(
  ctx: WatchContext,
  topic: Address,
  until: string | undefined,
  signal: AbortSignal,
  notBeforeSec?: number,
): Promise<SigInfo[]> {
  const all: SigInfo[] = [];
  let before: Signature | undefined;
  for (;;) {
    const page = await ctx.rpc
      .getSignaturesForAddress(topic, {
        commitment: COMMITMENT,
        limit: PAGE,
        ...(until ? { until: until as Signature } : {}),
        ...(before ? { before } : {}),
      })
      .send({ abortSignal: signal });
    // newest first: stop at the first one that landed before anything can still be alive
    const old =
      notBeforeSec === undefined
        ? -1
        : page.findIndex((p) => p.blockTime !== null && Number(p.blockTime) < notBeforeSec);
    for (const p of old < 0 ? page : page.slice(0, old))
      all.push({ signature: p.signature, slot: BigInt(p.slot), err: p.err });
    if (old >= 0 || page.length < PAGE) break;
    before = page[page.length - 1]!.signature;
  }
  all.reverse();
  // Oldest first by slot; within a slot keep the ledger's order (stable sort).
  return all
    .map((x, i) => ({ x, i }))
    .sort((a, b) => (a.x.slot === b.x.slot ? a.i - b.i : a.x.slot < b.x.slot ? -1 : 1))
    .map((y) => y.x);
}

type TopicTx = NonNullable<Awaited<ReturnType<typeof fetchTx>>>;

function fetchTx(ctx: WatchContext, signature: Signature, signal: AbortSignal) {
  return ctx.rpc
    .getTransaction(signature, { commitment: COMMITMENT, encoding: 'base64', maxSupportedTransactionVersion: 0 })
    .send({ abortSignal: signal });
}

/** Decode a fetched transaction into deliverable messages (counts junk, expiry and replays). */
function toReceived(ctx: WatchContext, topic: Address, cursor: string, info: SigInfo, tx: TopicTx): Received[] {
  if (tx.meta?.err) return [];
  let parsed;
  try {
    parsed = parseTransaction(tx.transaction[0], tx.meta?.loadedAddresses, topic);
  } catch (e) {
    ctx.log.warn(
      { signature: info.signature, err: (e as Error).message },
      'ledger watch: unreadable transaction skipped',
    );
    return [];
  }
  const out: Received[] = [];
  const nowSec = Date.now() / 1000;
  for (const memo of parsed.memos) {
    const r = decodeEnvelope(memo);
    if (!r.ok) {
      ctx.garbage.note(r.kind, r.detail, { topic, signature: info.signature });
      continue;
    }
    if (r.message.expiresAt < nowSec) {
      ctx.garbage.note('expired', `${r.message.type} expired at ${r.message.expiresAt}`, {
        topic,
        signature: info.signature,
      });
      continue;
    }
    // Per cursor: two watchers of one topic (two cursors) each see every message once.
    if (!ctx.replay.add(cursor, r.message.nonce, r.message.expiresAt, nowSec)) {
      ctx.garbage.note('replayed', `${r.message.type} nonce seen before`, { topic, signature: info.signature });
      continue;
    }
    out.push({
      signature: info.signature,
      slot: BigInt(tx.slot),
      blockTime: tx.blockTime === null ? null : Number(tx.blockTime),
      sender: parsed.sender,
      topic,
      message: r.message,
    });
  }
  return out;
}

/**
 * The iterable the client hands out: its iterator's return() stops the watcher at once, even
 * while it waits for the next message (a plain async generator would queue the return()
 * behind the pending next()).
 */
export function topicWatch(ctx: WatchContext, topic: Address, opts: WatchOptions = {}): AsyncIterable<Received> {
  // fromNow means "from this call": read the topic's head right away, not at the first next().
  let head: Promise<SigInfo | null> | undefined;
  if (opts.fromNow && !getCursor(ctx.db, opts.cursor ?? topic)) {
    head = readHead(ctx, topic, ctx.closed);
    head.catch(() => undefined);
  }
  return {
    [Symbol.asyncIterator](): AsyncIterator<Received> {
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      if (opts.signal?.aborted) ac.abort();
      opts.signal?.addEventListener('abort', stop, { once: true });
      const gen = watchTopic(ctx, topic, { ...opts, signal: ac.signal }, head);
      return {
        next: () => gen.next(),
        return: async (value?: unknown) => {
          ac.abort();
          opts.signal?.removeEventListener('abort', stop);
          await gen.return(undefined);
          return { done: true, value: value as Received };
        },
      };
    },
  };
}

async function readHead(ctx: WatchContext, topic: Address, signal: AbortSignal): Promise<SigInfo | null> {
  const latest = await ctx.rpc
    .getSignaturesForAddress(topic, { commitment: COMMITMENT, limit: 1 })
    .send({ abortSignal: signal });
  return latest[0] ? { signature: latest[0].signature, slot: BigInt(latest[0].slot), err: latest[0].err } : null;
}

export async function* watchTopic(
  ctx: WatchContext,
  topic: Address,
  opts: WatchOptions = {},
  head?: Promise<SigInfo | null>,
): AsyncGenerator<Received> {
  const name = opts.cursor ?? topic;
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  opts.signal?.addEventListener('abort', stop, { once: true });
  ctx.closed.addEventListener('abort', stop, { once: true });
  if (opts.signal?.aborted || ctx.closed.aborted) ac.abort();
  const signal = ac.signal;
  const wake = new Wake();
  const push: PushState = { healthy: false };
  const pushDone = runPush(ctx, topic, wake, push, signal);
  const seen = new Set<string>();
  let until: string | undefined;
  const commit = (sig: string, slot: bigint): void => {
    setCursor(ctx.db, name, sig, slot);
    until = sig;
    seen.add(sig);
    if (seen.size > 10_000) seen.delete(seen.values().next().value as string);
  };

  try {
    const cur = getCursor(ctx.db, name);
    until = cur?.lastSignature ?? undefined;
    for (let attempt = 0; !cur && opts.fromNow && !signal.aborted; attempt++) {
      try {
        const latest = await (attempt === 0 && head ? head : readHead(ctx, topic, signal));
        if (latest) commit(latest.signature, latest.slot);
        else setCursor(ctx.db, name, null, null);
        break;
      } catch (e) {
        ctx.log.debug({ topic, err: (e as Error).message }, 'ledger watch: cannot read the topic head yet');
        await sleep(backoffMs(attempt), signal);
      }
    }

    let failures = 0;
    let idle = 0;
    while (!signal.aborted) {
      let retrySoon = false;
      let delivered = false;
      try {
        const batch = await fetchNew(ctx, topic, until, signal, opts.notBeforeSec);
        failures = 0;
        delivered = batch.length > 0;
        // Fetch a few transactions ahead (catch-up over a remote RPC), process strictly in order.
        const fetched = new Map<number, Promise<{ tx?: TopicTx | null; error?: unknown }>>();
        const prefetch = (i: number): void => {
          const info = batch[i];
          if (!info || fetched.has(i) || info.err || seen.has(info.signature)) return;
          fetched.set(
            i,
            fetchTx(ctx, info.signature, signal).then(
              (tx) => ({ tx }),
              (error: unknown) => ({ error }),
            ),
          );
        };
        for (let n = 0; n < batch.length; n++) {
          const info = batch[n]!;
          if (signal.aborted) return;
          if (seen.has(info.signature) || info.err) {
            commit(info.signature, info.slot);
            continue;
          }
          for (let k = n; k < n + PREFETCH; k++) prefetch(k);
          const got = await fetched.get(n)!;
          fetched.delete(n);
          if (got.error) throw got.error;
          if (!got.tx) {
            retrySoon = true; // listed but not readable yet: try again shortly
            break;
          }
          const items = toReceived(ctx, topic, name, info, got.tx);
          if (items.length === 0) commit(info.signature, info.slot);
          for (let i = 0; i < items.length; i++) {
            try {
              yield items[i]!;
            } finally {
              if (i === items.length - 1) commit(info.signature, info.slot);
            }
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        failures++;
        const level = failures === 1 || failures % 20 === 0 ? 'warn' : 'debug';
        ctx.log[level]({ topic, failures, err: (e as Error).message }, 'ledger watch: cannot read the topic, retrying');
        await sleep(backoffMs(failures, { attempts: Infinity, baseMs: 200, maxMs: ctx.pollMs * 4 }), signal);
        continue;
      }
      if (retrySoon || wake.lagging(seen)) await sleep(50, signal);
      else {
        // idle polls back off (x2 each, up to IDLE_BACKOFF_MAX x the base): an idle node spends
        // little of the RPC budget; a push notification or new data brings it back at once
        idle = delivered ? 0 : Math.min(idle + 1, IDLE_BACKOFF_STEPS);
        const base = push.healthy ? ctx.pushPollMs : ctx.pollMs;
        await wake.wait(base * 2 ** idle, signal);
      }
    }
  } finally {
    ac.abort();
    opts.signal?.removeEventListener('abort', stop);
    ctx.closed.removeEventListener('abort', stop);
    await pushDone;
  }
}
