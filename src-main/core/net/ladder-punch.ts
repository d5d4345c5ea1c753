// Runs in: Node. The ladder's hole-punch step: ICE rounds (the first with the parameters from the
// request/accept, further ones — PunchSync — over the signaling channel), the responder answering
// those rounds, when a punch is hopeless for two NATs, and what a punched connection is to the user.
import type { Connection } from '@libp2p/interface';
import type { ConnectInfo, IceParams } from './connect-info';
import { IcePunchSession, type IcePair } from './ice-punch';
import { isLanIp, isOnLink } from './addresses';
import type { AttemptDialer } from './ladder-attempts';
import { sleep } from '../sleep';
import type { AttemptRecord, LadderTimeouts, PathKind, Signaling } from './types';

/** Punch rounds over the signaling channel (the first comes with the request/accept). */
export const MAX_PUNCH_ROUNDS = 3;
/** The punch waits this long for a direct dial when the peer offered direct addresses. */
const PUNCH_HEAD_START_MS = 250;

/** What the punch step needs from its ladder session. */
export interface PunchContext {
  dialer: AttemptDialer;
  role: 'initiator' | 'responder';
  /** Every extra round's session, closed with the ladder session. */
  rounds: Set<IcePunchSession>;
  /** My current ConnectInfo (with ICE). */
  localInfo(): ConnectInfo;
}

export interface PunchStep {
  /** The ICE session prepared with the request/accept (undefined: no punching on this side). */
  ice: IcePunchSession | undefined;
  remote: ConnectInfo;
  t: LadderTimeouts;
  /** Start no earlier than this (epoch ms). */
  punchAt?: number;
  /** When the ladder began (epoch ms). */
  started: number;
  signal: AbortSignal;
  signaling?: Signaling;
  attempts: AttemptRecord[];
}

const candidateList = (ice: IceParams): string[] => ice.candidates.map((c) => `${c.ip}:${c.port}/${c.type}`);

/** Run the hole punch (pushing its attempts); the punched connection, or undefined. */
export async function runPunch(ctx: PunchContext, step: PunchStep): Promise<Connection | undefined> {
  const { remote, t, signal: stageSignal, attempts } = step;
  const { dialer } = ctx;
  const ice = step.ice;
  const addrs = remote.ice ? candidateList(remote.ice) : [];
  if (!ice || !remote.ice) {
    attempts.push(dialer.record('hole-punch', addrs)('skipped', 'no ICE parameters on one side'));
    return undefined;
  }
  const hopeless = punchHopeless(ctx.localInfo().nat, remote.nat);
  if (hopeless) {
    attempts.push(dialer.record('hole-punch', addrs)('skipped', hopeless));
    ice.close();
    return undefined;
  }
  // start at punchAt; and give a reachable peer's direct dial a short head start (a TCP
  // connection is cheaper than a data channel when both would work)
  const at = Math.max(step.punchAt ?? 0, remote.addrs.length > 0 ? step.started + PUNCH_HEAD_START_MS : 0);
  if (at > Date.now()) await sleep(at - Date.now(), stageSignal);
  if (stageSignal.aborted) return undefined;
  // round 1 with the ICE parameters from the request/accept; further rounds (PunchSync) with
  // fresh parameters over the signaling channel when a round fails fast, with jitter
  let session: IcePunchSession = ice;
  let remoteIce = remote.ice;
  for (let round = 1; ; round++) {
    const roundStart = Date.now();
    const done = dialer.record('hole-punch', round === 1 ? addrs : candidateList(remoteIce));
    try {
      const { connection, pair, counters } = await session.connect(
        ctx.role === 'initiator' ? remoteIce : undefined,
        t.punchMs,
        stageSignal,
      );
      dialer.deps.tracker.annotate(connection, {
        pair,
        counters,
        requestId: dialer.requestId,
        kind: punchedKind(pair, remoteIce, ctx.localInfo().nat),
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
    const sig = step.signaling;
    const fastFailure = Date.now() - roundStart < t.punchMs / 2;
    if (!sig || ctx.role !== 'initiator' || !fastFailure || round >= MAX_PUNCH_ROUNDS || stageSignal.aborted)
      return undefined;
    await sleep(50 + Math.random() * 200, stageSignal);
    try {
      session = new IcePunchSession(dialer.deps.punch, dialer.deps.punchInit, 'initiator', dialer.peerId);
      ctx.rounds.add(session);
      const params = await session.prepare();
      await sig.send({ ...ctx.localInfo(), ice: params });
      const answer = await sig.receive(AbortSignal.any([stageSignal, AbortSignal.timeout(t.punchMs)]));
      if (!answer.ice) return undefined;
      remoteIce = answer.ice;
    } catch {
      session.close();
      return undefined;
    }
  }
}

/** Responder side of further punch rounds: answer each new offer that arrives over signaling. */
export async function answerPunchRounds(
  ctx: PunchContext,
  sig: Signaling,
  t: LadderTimeouts,
  signal: AbortSignal,
): Promise<void> {
  const { dialer } = ctx;
  while (!signal.aborted) {
    let offer: ConnectInfo;
    try {
      offer = await sig.receive(signal);
    } catch {
      return;
    }
    if (!offer.ice) continue;
    const session = new IcePunchSession(dialer.deps.punch, dialer.deps.punchInit, 'responder', dialer.peerId);
    ctx.rounds.add(session);
    const done = dialer.record('hole-punch', candidateList(offer.ice));
    try {
      const params = await session.prepare(offer.ice);
      await sig.send({ ...ctx.localInfo(), ice: params });
      const { connection, pair, counters } = await session.connect(undefined, t.punchMs, signal);
      dialer.deps.tracker.annotate(connection, {
        pair,
        counters,
        requestId: dialer.requestId,
        kind: punchedKind(pair, offer.ice, ctx.localInfo().nat),
      });
      done('ok');
      return;
    } catch (err) {
      done(signal.aborted ? 'skipped' : 'timeout', `answered round: ${(err as Error).message}`);
      session.close();
    }
  }
}

/** What an ICE connection is to the user: on-link → direct LAN; the peer's own interface
 *  address while neither side is NATed → direct WAN; anything through a NAT → hole-punched. */
export function punchedKind(
  pair: IcePair | undefined,
  remoteIce: IceParams,
  localNat: ConnectInfo['nat'],
): PathKind | undefined {
  if (!pair) return undefined;
  if (isOnLink(pair.remote.address)) return 'direct-lan';
  const remoteIsHost = remoteIce.candidates.some((c) => c.type === 'host' && c.ip === pair.remote.address);
  const meNated =
    localNat?.mapping === 'endpoint-independent' ||
    localNat?.mapping === 'endpoint-dependent' ||
    isLanIp(pair.local.address);
  return remoteIsHost && !meNated ? 'direct-wan' : 'hole-punched';
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
