// Runs in: Node. The ladder's dial steps, each recorded as an attempt (connection_attempts) and
// counted in the peer's status: direct/reverse dials, relay dials (one attempt per relay), and
// waiting for a connection the peer opened. Also what the ladder modules share: their deps,
// default timeouts and small async helpers.
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Connection, Libp2p, PeerId } from '@libp2p/interface';
import type { Logger } from '../log';
import type { ConnectionStore } from '../store/connections';
import type { ConnectInfo } from './connect-info';
import { circuitRelay, directAddrsWorthDialing } from './addresses';
import type { IcePunchComponents, IcePunchInit } from './ice-punch-types';
import type { PathTracker } from './status';
import type { BirthdayBudget } from './ladder-birthday';
import type { AttemptMethod, AttemptOutcome, AttemptRecord, LadderTimeouts } from './types';
import { sleep } from '../sleep';

export const DEFAULT_TIMEOUTS: LadderTimeouts = {
  directMs: 3000,
  punchMs: 6000,
  relayAfterMs: 3000,
  relayMs: 8000,
  reverseMs: 3000,
  totalMs: 30_000,
};

export interface LadderDeps {
  libp2p: Libp2p;
  punch: IcePunchComponents;
  punchInit: IcePunchInit;
  tracker: PathTracker;
  store?: ConnectionStore;
  log: Logger;
  /** My ConnectInfo minus ICE (addresses, relays, NAT). */
  localInfo(): Omit<ConnectInfo, 'ice'>;
  /** Offer ICE hole punching (NetNodeOptions.punch). */
  punchEnabled: boolean;
  /** Birthday probing's budgets for EIM↔EDM pairs (NetNodeOptions.birthday); default DEFAULT_BIRTHDAY_BUDGET. */
  birthday?: BirthdayBudget | false;
  /** Dial one address through its transport, outside libp2p's per-peer dial queue (which joins
   *  concurrent dials to one peer into one, so a dead relay would stall the live one). */
  transportDial(ma: Multiaddr, opts: { signal: AbortSignal }): Promise<Connection>;
}

export function withP2p(addr: string, peer: string): Multiaddr {
  const ma = multiaddr(addr);
  return ma.getComponents().some((c) => c.name === 'p2p' && c.value === peer) ? ma : ma.encapsulate(`/p2p/${peer}`);
}

/** The first defined value of `steps` or `extra`; undefined once every step gave undefined. */
export function firstDefined<T>(
  steps: Promise<T | undefined>[],
  extra: Promise<T | undefined>,
): Promise<T | undefined> {
  return new Promise((resolve) => {
    let pending = steps.length;
    const take = (v: T | undefined): void => {
      if (v !== undefined) resolve(v);
    };
    for (const s of steps) {
      void s.then((v) => {
        take(v);
        if (--pending === 0) resolve(undefined);
      });
    }
    void extra.then(take);
  });
}

/** `p`, or a rejection with the signal's reason as soon as `signal` aborts (`p` runs on). */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    void p.catch(() => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      void p.catch(() => undefined);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new DOMException('The operation was aborted', 'AbortError');
}

/** Dials one peer for one ladder session; every dial is an attempt row and a status count. */
export class AttemptDialer {
  constructor(
    readonly deps: LadderDeps,
    readonly peerId: PeerId,
    readonly peer: string,
    readonly requestId?: string,
  ) {}

  /** Start an attempt; the returned function finishes it with its outcome. */
  record(method: AttemptMethod, addresses: string[]): (outcome: AttemptOutcome, error?: string) => AttemptRecord {
    const startedAt = Date.now();
    this.deps.tracker.countAttempt(this.peer);
    let id: number | undefined;
    try {
      id = this.deps.store?.recordAttempt({
        peerId: this.peer,
        requestId: this.requestId,
        method,
        addresses,
        startedAt,
        outcome: 'pending',
      });
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'could not record attempt');
    }
    return (outcome, error) => {
      const rec: AttemptRecord = {
        method,
        addresses,
        startedAt,
        durationMs: Date.now() - startedAt,
        outcome,
        ...(error ? { error } : {}),
      };
      if (id !== undefined) {
        try {
          this.deps.store?.finishAttempt(id, { durationMs: rec.durationMs, outcome, error });
        } catch {
          /* db closed */
        }
      }
      this.deps.log.debug({ peer: this.peer, ...rec }, 'connect attempt');
      return rec;
    };
  }

  async dial(
    method: AttemptMethod,
    addrs: Multiaddr[],
    timeoutMs: number,
    signal: AbortSignal,
    viaTransport = false,
  ): Promise<{ conn?: Connection; rec: AttemptRecord }> {
    const done = this.record(method, addrs.map(String));
    if (addrs.length === 0) return { rec: done('skipped', 'no addresses') };
    try {
      const sig = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
      // force: a new connection even when a (relayed) one exists — that is the point of the ladder
      const dialing = viaTransport
        ? this.#transportDialAny(addrs, sig)
        : this.deps.libp2p.dial(addrs, { force: true, signal: sig });
      // a libp2p dial may outlive its signal by many seconds (a TCP upgrade under load took 18 s
      // against a 3 s budget in the NAT lab): the ladder moves on when the budget ends. A
      // connection that lands later is the tracker's like any other.
      const conn = await untilAborted(dialing, sig);
      return { conn, rec: done('ok') };
    } catch (err) {
      const timedOut = !signal.aborted && /Abort|Timeout/.test((err as Error).name);
      return { rec: done(signal.aborted ? 'skipped' : timedOut ? 'timeout' : 'failed', (err as Error).message) };
    }
  }

  /** The peer's direct addresses (its LAN ones only when it may share our home). */
  directAddrs(remote: ConnectInfo): Multiaddr[] {
    const addrs = remote.addrs.filter((a) => !a.includes('p2p-circuit')).map((a) => withP2p(a, this.peer));
    return directAddrsWorthDialing(addrs, this.deps.localInfo().nat?.publicIp, remote.nat?.publicIp);
  }

  async #transportDialAny(addrs: Multiaddr[], signal: AbortSignal): Promise<Connection> {
    let last: unknown;
    for (const a of addrs) {
      try {
        return await this.deps.transportDial(a, { signal });
      } catch (err) {
        last = err;
        if (signal.aborted) break;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  /** Circuit addresses through the peer's relays, grouped per relay, TCP first (a UDP dial to a dead relay only times out). */
  #relayGroups(remote: ConnectInfo): Multiaddr[][] {
    const groups = new Map<string, Multiaddr[]>();
    for (const r of remote.relays) {
      const circuit = r.includes('p2p-circuit') ? r : `${r}/p2p-circuit`;
      const ma = multiaddr(circuit).encapsulate(`/p2p/${this.peer}`);
      const relay = circuitRelay(circuit) ?? circuit;
      const list = groups.get(relay) ?? [];
      if (!list.some((x) => x.equals(ma))) list.push(ma);
      groups.set(relay, list);
    }
    return [...groups.values()].map((l) =>
      l.sort((x, y) => Number(x.toString().includes('/udp/')) - Number(y.toString().includes('/udp/'))),
    );
  }

  relayAddrs(remote: ConnectInfo): Multiaddr[] {
    return this.#relayGroups(remote).flat();
  }

  /** Dial every relay at once (each its own attempt); the first relayed connection wins. */
  async dialRelays(
    method: AttemptMethod,
    remote: ConnectInfo,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ conn?: Connection; recs: AttemptRecord[] }> {
    const groups = this.#relayGroups(remote);
    if (groups.length === 0) return { recs: [this.record(method, [])('skipped', 'no relay addresses')] };
    const recs: AttemptRecord[] = [];
    const won = new AbortController();
    const tries = groups.map(async (g, i) => {
      // a little head start for the first relay, so a healthy pair does not open two circuits
      if (i > 0) await sleep(250 * i, AbortSignal.any([signal, won.signal]));
      if (won.signal.aborted || signal.aborted) return undefined;
      const r = await this.dial(method, g, timeoutMs, AbortSignal.any([signal, won.signal]), true);
      recs.push(r.rec);
      if (r.conn) won.abort();
      return r.conn;
    });
    const conn = await firstDefined(tries, new Promise<undefined>(() => undefined));
    return { conn, recs };
  }

  /** Wait until any connection to the peer is open (the other side may be the one that dialed). */
  connected(signal: AbortSignal): Promise<Connection | undefined> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const c = this.deps.tracker.bestConnection(this.peer);
        if (c) {
          finish(c);
          return true;
        }
        return false;
      };
      const on = (): void => void check();
      const finish = (c?: Connection): void => {
        this.deps.tracker.removeEventListener('path', on);
        signal.removeEventListener('abort', onAbort);
        resolve(c);
      };
      const onAbort = (): void => finish(undefined);
      if (check()) return;
      this.deps.tracker.addEventListener('path', on);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
