// Runs in: Node. The connect ladder, run by both sides once a ServiceAccept is seen:
//   direct dial (initiator) / reverse dial (responder)  ─┐ started together (happy eyeballs),
//   ICE hole punch at punchAt                           ─┘ first success wins
//   → relay (circuit v2 via the peer's reserved relays)
//   → while relayed: background upgrade (in-band WebRTC over the relay, direct re-dial) with
//     backoff 5 s doubling to 10 min; switch when it succeeds; if the path is lost (relay died),
//     climb the ladder again at once.
// Every step is recorded (connection_attempts) and counted in the peer's status.
// Parts: ladder-attempts.ts (recorded dials), ladder-punch.ts (ICE rounds), ladder-upkeep.ts (upgrade/backoff).
import type { Connection, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { ConnectInfo } from './connect-info';
import { circuitRelay } from './addresses';
import { IcePunchSession } from './ice-punch';
import { AttemptDialer, DEFAULT_TIMEOUTS, firstDefined, type LadderDeps } from './ladder-attempts';
import { sleep } from '../sleep';
import { answerPunchRounds, runPunch, type PunchContext } from './ladder-punch';
import { PathUpkeep } from './ladder-upkeep';
import type { AttemptRecord, ConnectOptions, ConnectResult, ConnectSession, LadderTimeouts, Signaling } from './types';

// the ladder's parts, re-exported for the node and tests that import them from here
export { DEFAULT_TIMEOUTS, type LadderDeps } from './ladder-attempts';
export { MAX_PUNCH_ROUNDS, punchHopeless } from './ladder-punch';
export { BACKOFF_MAX_MS, BACKOFF_START_MS, nextBackoff } from './ladder-upkeep';

/** The responder waits this long for the initiator's direct dial before dialing back. */
const REVERSE_DELAY_MS = 400;
/**
 * A data channel (hole punch) won while the direct TCP dial is still under way: how long the
 * ladder waits for that dial before it settles for the data channel. On a busy machine the punch
 * (DTLS in libdatachannel's own threads) beat TCP + Noise (JavaScript) to loopback and LAN peers,
 * and every frame then went through the costlier transport (mesh bench: 85 of 110 links).
 */
const PREFER_DIRECT_MS = 2000;

export class LadderError extends Error {
  override name = 'LadderError';
  constructor(
    message: string,
    readonly attempts: AttemptRecord[],
  ) {
    super(message);
  }
}

/** `info` with only the relays (and circuit addresses) `allowed` accepts. */
function offeredRelays<T extends Pick<ConnectInfo, 'addrs' | 'relays'>>(
  info: T,
  allowed: (relay: string) => boolean,
): T {
  const ok = (a: string): boolean => {
    const relay = circuitRelay(a);
    return relay === undefined || allowed(relay);
  };
  return { ...info, addrs: info.addrs.filter(ok), relays: info.relays.filter(ok) };
}

export class LadderSession implements ConnectSession {
  readonly peer: string;
  readonly peerId: PeerId;
  localInfo!: ConnectInfo;
  #ice?: IcePunchSession;
  /** Why #ice could not be prepared (recorded as the punch's round-1 outcome). */
  #iceError?: string;
  readonly #rounds = new Set<IcePunchSession>();
  #remote?: ConnectInfo;
  readonly #abort = new AbortController();
  readonly #dialer: AttemptDialer;
  readonly #punchCtx: PunchContext;
  readonly #upkeep: PathUpkeep;
  #answering = false;
  /** Bumped when a punch round taught us relays of the peer's we did not know. */
  #learned = 0;
  #learnWaiters: (() => void)[] = [];

  private readonly deps: LadderDeps;

  constructor(
    deps: LadderDeps,
    peer: PeerId | string,
    readonly role: 'initiator' | 'responder',
    requestId?: string,
    relayAllowed?: (relayPeer: string) => boolean,
  ) {
    // what this session tells the peer (request/accept, punch rounds) names only relays it may use
    this.deps = relayAllowed ? { ...deps, localInfo: () => offeredRelays(deps.localInfo(), relayAllowed) } : deps;
    this.peerId = typeof peer === 'string' ? peerIdFromString(peer) : peer;
    this.peer = this.peerId.toString();
    this.#dialer = new AttemptDialer(deps, this.peerId, this.peer, requestId);
    this.#punchCtx = {
      dialer: this.#dialer,
      role,
      rounds: this.#rounds,
      localInfo: () => this.localInfo,
      learn: (info) => this.#learn(info),
    };
    this.#upkeep = new PathUpkeep(this.#dialer, role, this.#abort.signal, () => this.#remote);
  }

  /** My ConnectInfo for the peer; with ICE parameters unless `withIce` is false (a redial). */
  async prepare(remote?: ConnectInfo, withIce = true): Promise<this> {
    const base = this.deps.localInfo();
    let ice;
    const remoteHasIce = this.role === 'initiator' || remote?.ice !== undefined;
    // a TCP-only network (outbound UDP blocked) gathers nothing: no ICE, the peer skips the punch
    const udpBlocked = base.nat?.mapping === 'udp-blocked';
    if (withIce && remoteHasIce && this.deps.punchEnabled && !udpBlocked) {
      this.#ice = new IcePunchSession(this.deps.punch, this.deps.punchInit, this.role, this.peerId);
      try {
        ice = await this.#ice.prepare(remote?.ice);
      } catch (err) {
        this.deps.log.warn({ peer: this.peer, err: (err as Error).message }, 'ICE preparation failed; no hole punch');
        this.#iceError = (err as Error).message; // the punch step records it as its outcome
        this.#ice.close();
        this.#ice = undefined;
      }
    }
    this.localInfo = { ...base, ...(ice ? { ice } : {}) };
    return this;
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
      const r = await this.#dialer.dial(
        this.role === 'initiator' ? 'direct' : 'reverse',
        this.#dialer.directAddrs(remote),
        this.role === 'initiator' ? t.directMs : t.reverseMs,
        outer,
      );
      attempts.push(r.rec);
      return r.conn;
    })();

    const punch = runPunch(this.#punchCtx, {
      ice: this.#ice,
      remote,
      t,
      punchAt: opts.punchAt,
      started,
      signal: stageSignal,
      signaling: opts.signaling,
      attempts,
      // a further birthday round outlives the ladder's total budget (the relay carries the data
      // meanwhile); it ends with the session, the caller's signal, or a better path's win
      roundSignal: AbortSignal.any([this.#abort.signal, ...(opts.signal ? [opts.signal] : []), stage.signal]),
      ...(this.#iceError ? { iceError: this.#iceError } : {}),
    });
    // the responder answers further rounds (PunchSync) for as long as the session lives: the
    // initiator may start one after this ladder ended (a round that failed late, a redial)
    if (this.role === 'responder' && opts.signaling && !this.#answering) {
      this.#answering = true;
      void answerPunchRounds(this.#punchCtx, opts.signaling, t, this.#abort.signal);
    }

    // first of: direct ok, punch ok, a connection the peer opened; undefined once both steps failed
    const early = firstDefined([direct, punch], this.#dialer.connected(stageSignal));
    // the relay starts when both failed, or after relayAfterMs while the punch goes on (a punch
    // that lands later upgrades the path; the relayed connection is then closed)
    let conn = await Promise.race([early, sleep(t.relayAfterMs, outer).then(() => undefined)]);
    if (!conn) {
      await Promise.race([sleep(300, outer), early]); // the peer's own dial may be landing right now
      conn = this.deps.tracker.bestConnection(this.peer);
    }

    if (!conn && !outer.aborted) {
      const relayTry = async (): Promise<Connection | undefined> => {
        const relayAddrs = this.#dialer.relayAddrs(remote);
        if (this.role === 'responder' && relayAddrs.length === 0) {
          // the initiator holds no reservation: it will dial our relay addresses; wait for it
          return this.#dialer.connected(AbortSignal.any([outer, AbortSignal.timeout(t.relayMs)]));
        }
        if (this.role === 'responder') {
          const c = await this.#dialer.connected(AbortSignal.any([outer, AbortSignal.timeout(REVERSE_DELAY_MS * 2)]));
          if (c) return c;
        }
        const r = await this.#dialer.dialRelays(
          this.role === 'initiator' ? 'relay' : 'reverse',
          remote,
          t.relayMs,
          outer,
        );
        attempts.push(...r.recs);
        return r.conn ?? this.deps.tracker.bestConnection(this.peer);
      };
      const relayStep = async (): Promise<Connection | undefined> => {
        for (;;) {
          const seen = this.#learned;
          const c = await relayTry();
          if (c || outer.aborted) return c;
          // a further punch round may bring relays the peer had not reserved at the accept
          if (!(await this.#relaysLearnedSince(seen, outer, early))) return undefined;
        }
      };
      // bounded by the ladder's total budget whatever a step does (a dial past its signal)
      conn = await Promise.race([
        firstDefined([early, relayStep()], new Promise<undefined>(() => undefined)),
        sleep(t.totalMs, outer).then(() => undefined),
      ]);
    }
    // the winner may be a connection seen before its own dial returned: let that step record itself;
    // a punched data channel gives a direct dial still under way a little longer (cheaper per frame)
    if (conn) {
      const dataChannel = this.deps.tracker.pathOf(conn).transport === 'webrtc';
      await Promise.race([Promise.allSettled([direct]), sleep(dataChannel ? PREFER_DIRECT_MS : 300, outer)]);
    }
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
    this.#upkeep.start();
    return { connection: conn, path, elapsedMs: Date.now() - started, attempts };
  }

  /** The peer's fresh info from a punch round: relays it reserved since the request/accept join. */
  #learn(info: ConnectInfo): void {
    const remote = this.#remote;
    if (!remote) return;
    const fresh = info.relays.filter((r) => !remote.relays.includes(r));
    if (info.nat) remote.nat = info.nat;
    if (fresh.length === 0) return;
    remote.relays = [...remote.relays, ...fresh];
    this.#learned++;
    for (const w of this.#learnWaiters.splice(0)) w();
  }

  /** True once relays were learned after `seen`; false when `signal` aborts or `until` settles first. */
  #relaysLearnedSince(seen: number, signal: AbortSignal, until: Promise<unknown>): Promise<boolean> {
    if (this.#learned > seen) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => resolve(this.#learned > seen);
      this.#learnWaiters.push(done);
      signal.addEventListener('abort', done, { once: true });
      void until.then(done, done);
    });
  }

  close(): void {
    this.#abort.abort();
    this.#upkeep.stop();
    this.#ice?.close();
    for (const r of this.#rounds) r.close();
  }
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
