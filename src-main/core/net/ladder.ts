// Runs in: Node. The connect ladder, run by both sides once a ServiceAccept is seen:
//   direct dial (initiator) / reverse dial (responder)  ─┐ started together (happy eyeballs),
//   ICE hole punch at punchAt                           ─┘ first success wins
//   → relay (circuit v2 via the peer's reserved relays)
//   → while relayed: background upgrade (in-band WebRTC over the relay, direct re-dial) with
//     backoff 5 s doubling to 10 min; switch when it succeeds; if the path is lost (relay died),
//     climb the ladder again at once.
// Every step is recorded (connection_attempts) and counted in the peer's status.
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Connection, Libp2p, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '../log';
import type { ConnectionStore } from '../store/connections';
import type { ConnectInfo, IceParams } from './connect-info';
import { IcePunchSession, type IcePair, type IcePunchComponents, type IcePunchInit } from './ice-punch';
import { isLanIp, isOnLink } from './addresses';
import { PATH_RANK, type PathTracker } from './status';
import type {
  AttemptMethod,
  AttemptOutcome,
  AttemptRecord,
  ConnectOptions,
  ConnectResult,
  ConnectSession,
  LadderTimeouts,
  PathChange,
  PathKind,
  Signaling,
} from './types';

export const DEFAULT_TIMEOUTS: LadderTimeouts = {
  directMs: 3000,
  punchMs: 6000,
  relayAfterMs: 3000,
  relayMs: 8000,
  reverseMs: 3000,
  totalMs: 30_000,
};
export const BACKOFF_START_MS = 5000;
export const BACKOFF_MAX_MS = 10 * 60_000;
/** The responder waits this long for the initiator's direct dial before dialing back. */
const REVERSE_DELAY_MS = 400;
/** The punch waits this long for a direct dial when the peer offered direct addresses. */
const PUNCH_HEAD_START_MS = 250;
/** Punch rounds over the signaling channel (the first comes with the request/accept). */
export const MAX_PUNCH_ROUNDS = 3;

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
  /** Dial one address through its transport, outside libp2p's per-peer dial queue (which joins
   *  concurrent dials to one peer into one, so a dead relay would stall the live one). */
  transportDial(ma: Multiaddr, opts: { signal: AbortSignal }): Promise<Connection>;
}

export class LadderError extends Error {
  override name = 'LadderError';
  constructor(
    message: string,
    readonly attempts: AttemptRecord[],
  ) {
    super(message);
  }
}

export function nextBackoff(prev: number | undefined): number {
  return prev === undefined ? BACKOFF_START_MS : Math.min(prev * 2, BACKOFF_MAX_MS);
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

function withP2p(addr: string, peer: string): Multiaddr {
  const ma = multiaddr(addr);
  return ma.getComponents().some((c) => c.name === 'p2p' && c.value === peer) ? ma : ma.encapsulate(`/p2p/${peer}`);
}

export class LadderSession implements ConnectSession {
  readonly peer: string;
  readonly peerId: PeerId;
  localInfo!: ConnectInfo;
  #ice?: IcePunchSession;
  readonly #rounds = new Set<IcePunchSession>();
  #remote?: ConnectInfo;
  readonly #abort = new AbortController();
  #maintaining = false;
  #backoff?: number;
  #upgradeTimer?: NodeJS.Timeout;
  #onPath = (e: Event): void => this.#pathChanged((e as CustomEvent<PathChange>).detail);

  constructor(
    private readonly deps: LadderDeps,
    peer: PeerId | string,
    readonly role: 'initiator' | 'responder',
    private readonly requestId?: string,
  ) {
    this.peerId = typeof peer === 'string' ? peerIdFromString(peer) : peer;
    this.peer = this.peerId.toString();
  }

  async prepare(remote?: ConnectInfo): Promise<this> {
    const base = this.deps.localInfo();
    let ice;
    const remoteHasIce = this.role === 'initiator' || remote?.ice !== undefined;
    if (remoteHasIce && this.deps.punchEnabled) {
      this.#ice = new IcePunchSession(this.deps.punch, this.deps.punchInit, this.role, this.peerId);
      try {
        ice = await this.#ice.prepare(remote?.ice);
      } catch (err) {
        this.deps.log.warn({ peer: this.peer, err: (err as Error).message }, 'ICE preparation failed; no hole punch');
        this.#ice.close();
        this.#ice = undefined;
      }
    }
    this.localInfo = { ...base, ...(ice ? { ice } : {}) };
    return this;
  }

  #record(method: AttemptMethod, addresses: string[]): (outcome: AttemptOutcome, error?: string) => AttemptRecord {
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

  async #dial(
    method: AttemptMethod,
    addrs: Multiaddr[],
    timeoutMs: number,
    signal: AbortSignal,
    viaTransport = false,
  ): Promise<{ conn?: Connection; rec: AttemptRecord }> {
    const done = this.#record(method, addrs.map(String));
    if (addrs.length === 0) return { rec: done('skipped', 'no addresses') };
    try {
      const sig = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
      // force: a new connection even when a (relayed) one exists — that is the point of the ladder
      const conn = viaTransport
        ? await this.#transportDialAny(addrs, sig)
        : await this.deps.libp2p.dial(addrs, { force: true, signal: sig });
      return { conn, rec: done('ok') };
    } catch (err) {
      const timedOut = !signal.aborted && (err as Error).name.includes('Abort');
      return { rec: done(signal.aborted ? 'skipped' : timedOut ? 'timeout' : 'failed', (err as Error).message) };
    }
  }

  #directAddrs(remote: ConnectInfo): Multiaddr[] {
    return remote.addrs.filter((a) => !a.includes('p2p-circuit')).map((a) => withP2p(a, this.peer));
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
      const relay = circuit.match(/\/p2p\/([^/]+)\/p2p-circuit/)?.[1] ?? circuit;
      const list = groups.get(relay) ?? [];
      if (!list.some((x) => x.equals(ma))) list.push(ma);
      groups.set(relay, list);
    }
    return [...groups.values()].map((l) =>
      l.sort((x, y) => Number(x.toString().includes('/udp/')) - Number(y.toString().includes('/udp/'))),
    );
  }

  #relayAddrs(remote: ConnectInfo): Multiaddr[] {
    return this.#relayGroups(remote).flat();
  }

  /** Dial every relay at once (each its own attempt); the first relayed connection wins. */
  async #dialRelays(
    method: AttemptMethod,
    remote: ConnectInfo,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ conn?: Connection; recs: AttemptRecord[] }> {
    const groups = this.#relayGroups(remote);
    if (groups.length === 0) return { recs: [this.#record(method, [])('skipped', 'no relay addresses')] };
    const recs: AttemptRecord[] = [];
    const won = new AbortController();
    const tries = groups.map(async (g, i) => {
      // a little head start for the first relay, so a healthy pair does not open two circuits
      if (i > 0) await sleep(250 * i, AbortSignal.any([signal, won.signal]));
      if (won.signal.aborted || signal.aborted) return undefined;
      const r = await this.#dial(method, g, timeoutMs, AbortSignal.any([signal, won.signal]), true);
      recs.push(r.rec);
      if (r.conn) won.abort();
      return r.conn;
    });
    const conn = await firstDefined(tries, new Promise<undefined>(() => undefined));
    return { conn, recs };
  }

  /** Wait until any connection to the peer is open (the other side may be the one that dialed). */
  #connected(signal: AbortSignal): Promise<Connection | undefined> {
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

  async connect(remoteInfo: ConnectInfo, opts: Omit<ConnectOptions, 'peer' | 'role'> = {}): Promise<ConnectResult> {
    // relays named in the accept (the seller's) join the ones in the peer's own info
    const remote: ConnectInfo = { ...remoteInfo, relays: [...new Set([...remoteInfo.relays, ...(opts.relays ?? [])])] };
    this.#remote = remote;
    const t: LadderTimeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    const started = Date.now();
    const attempts: AttemptRecord[] = [];
    const outer = AbortSignal.any([
      this.#abort.signal,
      ...(opts.signal ? [opts.signal] : []),
      AbortSignal.timeout(t.totalMs),
    ]);
    const stage = new AbortController(); // cancels the losers once connected
    const stageSignal = AbortSignal.any([outer, stage.signal]);

    const direct = (async () => {
      if (this.role === 'responder') await sleep(REVERSE_DELAY_MS, stageSignal);
      if (stageSignal.aborted) return undefined;
      // not cancelled by the stage: a dial that is landing must finish and be recorded as it ended
      const r = await this.#dial(
        this.role === 'initiator' ? 'direct' : 'reverse',
        this.#directAddrs(remote),
        this.role === 'initiator' ? t.directMs : t.reverseMs,
        outer,
      );
      attempts.push(r.rec);
      return r.conn;
    })();

    const punch = (async () => {
      const ice = this.#ice;
      const addrs = remote.ice?.candidates.map((c) => `${c.ip}:${c.port}/${c.type}`) ?? [];
      if (!ice || !remote.ice) {
        attempts.push(this.#record('hole-punch', addrs)('skipped', 'no ICE parameters on one side'));
        return undefined;
      }
      const hopeless = punchHopeless(this.localInfo.nat, remote.nat);
      if (hopeless) {
        attempts.push(this.#record('hole-punch', addrs)('skipped', hopeless));
        ice.close();
        return undefined;
      }
      // start at punchAt; and give a reachable peer's direct dial a short head start (a TCP
      // connection is cheaper than a data channel when both would work)
      const at = Math.max(opts.punchAt ?? 0, remote.addrs.length > 0 ? started + PUNCH_HEAD_START_MS : 0);
      if (at > Date.now()) await sleep(at - Date.now(), stageSignal);
      if (stageSignal.aborted) return undefined;
      // round 1 with the ICE parameters from the request/accept; further rounds (PunchSync) with
      // fresh parameters over the signaling channel when a round fails fast, with jitter
      let session: IcePunchSession = ice;
      let remoteIce = remote.ice;
      for (let round = 1; ; round++) {
        const roundStart = Date.now();
        const done = this.#record(
          'hole-punch',
          round === 1 ? addrs : remoteIce.candidates.map((c) => `${c.ip}:${c.port}/${c.type}`),
        );
        try {
          const { connection, pair, counters } = await session.connect(
            this.role === 'initiator' ? remoteIce : undefined,
            t.punchMs,
            stageSignal,
          );
          this.deps.tracker.annotate(connection, {
            pair,
            counters,
            requestId: this.requestId,
            kind: this.#punchedKind(pair, remoteIce),
          });
          attempts.push(done('ok'));
          return connection;
        } catch (err) {
          const outcome = stageSignal.aborted
            ? 'skipped'
            : Date.now() - roundStart >= t.punchMs * 0.9
              ? 'timeout'
              : 'failed';
          attempts.push(done(outcome, `round ${round}: ${(err as Error).message}`));
          session.close();
        }
        const sig = opts.signaling;
        const fastFailure = Date.now() - roundStart < t.punchMs / 2;
        if (!sig || this.role !== 'initiator' || !fastFailure || round >= MAX_PUNCH_ROUNDS || stageSignal.aborted)
          return undefined;
        await sleep(50 + Math.random() * 200, stageSignal);
        try {
          session = new IcePunchSession(this.deps.punch, this.deps.punchInit, 'initiator', this.peerId);
          this.#rounds.add(session);
          const params = await session.prepare();
          await sig.send({ ...this.localInfo, ice: params });
          const answer = await sig.receive(AbortSignal.any([stageSignal, AbortSignal.timeout(t.punchMs)]));
          if (!answer.ice) return undefined;
          remoteIce = answer.ice;
        } catch {
          session.close();
          return undefined;
        }
      }
    })();
    if (this.role === 'responder' && opts.signaling) void this.#answerRounds(opts.signaling, t, stageSignal);

    // first of: direct ok, punch ok, a connection the peer opened; undefined once both steps failed
    const early = firstDefined([direct, punch], this.#connected(stageSignal));
    // the relay starts when both failed, or after relayAfterMs while the punch goes on (a punch
    // that lands later upgrades the path; the relayed connection is then closed)
    let conn = await Promise.race([early, sleep(t.relayAfterMs, outer).then(() => undefined)]);
    if (!conn) {
      await Promise.race([sleep(300, outer), early]); // the peer's own dial may be landing right now
      conn = this.deps.tracker.bestConnection(this.peer);
    }

    if (!conn && !outer.aborted) {
      const relayAddrs = this.#relayAddrs(remote);
      const relayStep = async (): Promise<Connection | undefined> => {
        if (this.role === 'responder' && relayAddrs.length === 0) {
          // the initiator holds no reservation: it will dial our relay addresses; wait for it
          return this.#connected(AbortSignal.any([outer, AbortSignal.timeout(t.relayMs)]));
        }
        if (this.role === 'responder') {
          const c = await this.#connected(AbortSignal.any([outer, AbortSignal.timeout(REVERSE_DELAY_MS * 2)]));
          if (c) return c;
        }
        const r = await this.#dialRelays(this.role === 'initiator' ? 'relay' : 'reverse', remote, t.relayMs, outer);
        attempts.push(...r.recs);
        return r.conn ?? this.deps.tracker.bestConnection(this.peer);
      };
      conn = await firstDefined([early, relayStep()], new Promise<undefined>(() => undefined));
    }
    // the winner may be a connection seen before its own dial returned: let that step record itself
    if (conn) await Promise.race([Promise.allSettled([direct]), sleep(300)]);
    const relayedWin = conn !== undefined && this.deps.tracker.pathOf(conn).kind === 'relayed';
    if (!relayedWin)
      stage.abort(); // else let a running punch finish: it may still upgrade the path
    else void Promise.allSettled([direct, punch]).then(() => stage.abort());
    if (!conn) {
      this.#ice?.close();
      throw new LadderError(
        `could not connect to ${this.peer}: ${attempts.map((a) => `${a.method} ${a.outcome}${a.error ? ` (${a.error})` : ''}`).join('; ')}`,
        attempts,
      );
    }
    conn = this.deps.tracker.bestConnection(this.peer) ?? conn;
    const path = this.deps.tracker.pathOf(conn);
    if (path.kind !== 'hole-punched') {
      // a punched connection that lost the race still helps as a fallback; an unused agent does not
      void punch.then((p) => (p ? undefined : this.#ice?.close()));
    }
    this.#maintain();
    return { connection: conn, path, elapsedMs: Date.now() - started, attempts };
  }

  /** What an ICE connection is to the user: on-link → direct LAN; the peer's own interface
   *  address while neither side is NATed → direct WAN; anything through a NAT → hole-punched. */
  #punchedKind(pair: IcePair | undefined, remoteIce: IceParams): PathKind | undefined {
    if (!pair) return undefined;
    if (isOnLink(pair.remote.address)) return 'direct-lan';
    const remoteIsHost = remoteIce.candidates.some((c) => c.type === 'host' && c.ip === pair.remote.address);
    const meNated =
      this.localInfo.nat?.mapping === 'endpoint-independent' ||
      this.localInfo.nat?.mapping === 'endpoint-dependent' ||
      isLanIp(pair.local.address);
    return remoteIsHost && !meNated ? 'direct-wan' : 'hole-punched';
  }

  /** Responder side of further punch rounds: answer each new offer that arrives over signaling. */
  async #answerRounds(sig: Signaling, t: LadderTimeouts, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let offer: ConnectInfo;
      try {
        offer = await sig.receive(signal);
      } catch {
        return;
      }
      if (!offer.ice) continue;
      const session = new IcePunchSession(this.deps.punch, this.deps.punchInit, 'responder', this.peerId);
      this.#rounds.add(session);
      const done = this.#record(
        'hole-punch',
        offer.ice.candidates.map((c) => `${c.ip}:${c.port}/${c.type}`),
      );
      try {
        const params = await session.prepare(offer.ice);
        await sig.send({ ...this.localInfo, ice: params });
        const { connection, pair, counters } = await session.connect(undefined, t.punchMs, signal);
        this.deps.tracker.annotate(connection, {
          pair,
          counters,
          requestId: this.requestId,
          kind: this.#punchedKind(pair, offer.ice),
        });
        done('ok');
        return;
      } catch (err) {
        done(signal.aborted ? 'skipped' : 'timeout', `answered round: ${(err as Error).message}`);
        session.close();
      }
    }
  }

  /** Keep the peer connected on the best path until close(). */
  #maintain(): void {
    if (this.#maintaining) return;
    this.#maintaining = true;
    this.deps.tracker.addEventListener('path', this.#onPath);
    this.#scheduleUpgrade();
  }

  #pathChanged(ch: PathChange): void {
    if (ch.peer !== this.peer || this.#abort.signal.aborted) return;
    if (!ch.to) {
      // lost the path (relay died, peer vanished): climb the ladder again at once
      this.deps.log.info({ peer: this.peer }, 'path lost; reconnecting');
      void this.#reconnect();
      return;
    }
    if (ch.to.kind !== 'relayed') {
      this.#backoff = undefined;
      this.#closeRelayed();
    }
    this.#scheduleUpgrade();
  }

  async #reconnect(): Promise<void> {
    const remote = this.#remote;
    if (!remote) return;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(DEFAULT_TIMEOUTS.totalMs)]);
    const direct = await this.#dial(
      this.role === 'initiator' ? 'direct' : 'reverse',
      this.#directAddrs(remote),
      DEFAULT_TIMEOUTS.directMs,
      signal,
    );
    if (direct.conn || this.deps.tracker.bestConnection(this.peer) || signal.aborted) return;
    await this.#dialRelays('relay', remote, 4000, signal);
    if (!this.deps.tracker.bestConnection(this.peer) && !this.#abort.signal.aborted) {
      this.#backoff = nextBackoff(this.#backoff);
      this.deps.log.info({ peer: this.peer, retryInMs: this.#backoff }, 'reconnect failed; backing off');
      this.#upgradeTimer = setTimeout(() => void this.#reconnect(), this.#backoff);
      this.#upgradeTimer.unref();
    }
  }

  #scheduleUpgrade(): void {
    if (this.#upgradeTimer || this.#abort.signal.aborted) return;
    const best = this.deps.tracker.bestConnection(this.peer);
    if (!best || this.deps.tracker.pathOf(best).kind !== 'relayed') return;
    // the first try comes soon (the relay is the signaling channel), then back off
    const delay = this.#backoff === undefined ? 500 : this.#backoff;
    this.#upgradeTimer = setTimeout(() => {
      this.#upgradeTimer = undefined;
      void this.#upgrade().finally(() => {
        this.#backoff = nextBackoff(this.#backoff);
        this.#scheduleUpgrade();
      });
    }, delay);
    this.#upgradeTimer.unref();
  }

  /** In-band upgrade over the relayed connection: WebRTC (ICE) signaled through the relay, then a direct re-dial. */
  async #upgrade(): Promise<void> {
    const best = this.deps.tracker.bestConnection(this.peer);
    if (!best || this.deps.tracker.pathOf(best).kind !== 'relayed' || !this.#remote) return;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(DEFAULT_TIMEOUTS.punchMs + 4000)]);
    // only the initiator starts the in-band WebRTC dial (both sides racing would collide), and only
    // with a peer that offers ICE at all
    if (this.role === 'initiator' && this.#remote.ice && this.deps.punchEnabled) {
      const circuit = best.remoteAddr.toString();
      const webrtcAddr = multiaddr(circuit.replace(/\/p2p\/[^/]+$/, '')).encapsulate(`/webrtc/p2p/${this.peer}`);
      const r = await this.#dial('upgrade', [webrtcAddr], DEFAULT_TIMEOUTS.punchMs + 3000, signal);
      if (r.conn) return;
    }
    // the addresses from the connect info and those identify learned over the relayed connection
    const known = new Map(this.#directAddrs(this.#remote).map((a) => [a.toString(), a]));
    try {
      const p = await this.deps.libp2p.peerStore.get(this.peerId);
      for (const a of p.addresses) {
        const s = a.multiaddr.toString();
        if (!s.includes('p2p-circuit') && !s.includes('/webrtc/')) known.set(s, withP2p(s, this.peer));
      }
    } catch {
      /* not in the peer store */
    }
    await this.#dial('upgrade', [...known.values()], DEFAULT_TIMEOUTS.directMs, signal);
  }

  #closeRelayed(): void {
    for (const c of this.deps.libp2p.getConnections(this.peerId)) {
      if (
        this.deps.tracker.pathOf(c).kind === 'relayed' &&
        PATH_RANK[this.deps.tracker.pathOf(this.deps.tracker.bestConnection(this.peer) ?? c).kind] < PATH_RANK.relayed
      ) {
        // give streams on the relayed connection a moment to move over
        setTimeout(() => void c.close().catch(() => c.abort(new Error('upgraded'))), 2000).unref();
      }
    }
  }

  close(): void {
    this.#abort.abort();
    if (this.#upgradeTimer) clearTimeout(this.#upgradeTimer);
    this.deps.tracker.removeEventListener('path', this.#onPath);
    this.#ice?.close();
    for (const r of this.#rounds) r.close();
  }
}

/** Why a punch cannot work between these two NATs, or undefined when it may. A symmetric (EDM)
 *  side sends from a fresh port per destination: only a peer whose NAT filters by address at
 *  most (or not at all) lets those packets in. */
export function punchHopeless(a?: ConnectInfo['nat'], b?: ConnectInfo['nat']): string | undefined {
  if (a?.mapping === 'endpoint-dependent' && b?.mapping === 'endpoint-dependent')
    return 'both NATs map endpoint-dependent (symmetric)';
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    if (x?.mapping === 'endpoint-dependent' && y?.filtering === 'address-and-port-dependent') {
      return 'a symmetric NAT facing a port-restricted one (address-and-port-dependent filtering)';
    }
  }
  return undefined;
}

/** The first defined value of `steps` or `extra`; undefined once every step gave undefined. */
function firstDefined<T>(steps: Promise<T | undefined>[], extra: Promise<T | undefined>): Promise<T | undefined> {
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

/** The whole exchange over a Signaling channel (the market implements it over the ledger). */
export async function connectViaSignaling(
  prepare: (remote?: ConnectInfo) => Promise<LadderSession>,
  role: 'initiator' | 'responder',
  signaling: Signaling,
  opts: Omit<ConnectOptions, 'peer' | 'role'>,
): Promise<{ session: LadderSession; result: ConnectResult }> {
  if (role === 'initiator') {
    const session = await prepare();
    await signaling.send(session.localInfo);
    const remote = await signaling.receive(opts.signal);
    return { session, result: await session.connect(remote, { ...opts, signaling }) };
  }
  const remote = await signaling.receive(opts.signal);
  const session = await prepare(remote);
  await signaling.send(session.localInfo);
  return { session, result: await session.connect(remote, { ...opts, signaling }) };
}
