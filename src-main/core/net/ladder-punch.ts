// Runs in: Node. The ladder's hole-punch step: ICE rounds (the first with the parameters from the
// request/accept, further ones — PunchSync — over the signaling channel), the responder answering
// those rounds, when a punch is hopeless for two NATs, and what a punched connection is to the user.
import type { Connection } from '@libp2p/interface';
import type { ConnectInfo, IceParams } from './connect-info';
import { IcePunchSession } from './ice-punch';
import { IceAgentError } from './ice-ports';
import type { BirthdayPlan, IcePair } from './ice-punch-types';
import { birthdayPlan, DEFAULT_BIRTHDAY_BUDGET, furtherBirthdayRound } from './ladder-birthday';
import { BirthdayError } from './birthday';
import { isLanIp, isOnLink } from './addresses';
import type { AttemptDialer } from './ladder-attempts';
import { sleep } from '../sleep';
import type { AttemptRecord, LadderTimeouts, PathKind, Signaling } from './types';

/** Punch rounds in all: the first with the request/accept, further ones (PunchSync) over the
 *  signaling channel, whatever made the previous one fail. */
export const MAX_PUNCH_ROUNDS = 3;
/** The punch waits this long for a direct dial when the peer offered direct addresses. */
const PUNCH_HEAD_START_MS = 250;
/** A birthday round's bound beyond its start, probing and ICE budgets: the port check, the agent
 *  and the libp2p upgrade over the pair. */
const BIRTHDAY_MARGIN_MS = 8000;
/** A further round's punchAt: this far ahead of the offer (the answer crosses the ledger first). */
const ROUND_LEAD_MS = 1500;
/** How long the initiator waits for the answer to a round's offer beyond the punch timeout. */
const ROUND_ANSWER_EXTRA_MS = 4000;

/** What the punch step needs from its ladder session. */
export interface PunchContext {
  dialer: AttemptDialer;
  role: 'initiator' | 'responder';
  /** Every extra round's session, closed with the ladder session. */
  rounds: Set<IcePunchSession>;
  /** My ConnectInfo as sent with the request/accept (with ICE). */
  localInfo(): ConnectInfo;
  /** The peer's fresh ConnectInfo from a round (relays it reserved since, its NAT verdict now). */
  learn(info: ConnectInfo): void;
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
  /** The ladder session's life (not bounded by its total budget): a further birthday round runs
   *  under it while the relay carries the data. Defaults to `signal`. */
  roundSignal?: AbortSignal;
  /** Why my ICE session for the request/accept could not be prepared (its agent failed). */
  iceError?: string;
  signal: AbortSignal;
  signaling?: Signaling;
  attempts: AttemptRecord[];
}

const candidateList = (ice: IceParams): string[] => ice.candidates.map((c) => `${c.ip}:${c.port}/${c.type}`);

/** My NAT verdict now (it may have come after the request/accept left). */
const currentNat = (ctx: PunchContext): ConnectInfo['nat'] => ctx.dialer.deps.localInfo().nat ?? ctx.localInfo().nat;

/**
 * Run the hole punch (pushing its attempts); the punched connection, or undefined. Round 1 uses
 * the ICE parameters of the request/accept; when it fails — fast or by timeout — the initiator
 * starts a further round over the signaling channel (fresh candidates, a new punchAt; the
 * responder answers in answerPunchRounds), up to MAX_PUNCH_ROUNDS. Before each round the two
 * verdicts are looked at again: a punch they call hopeless is skipped.
 */
export async function runPunch(ctx: PunchContext, step: PunchStep): Promise<Connection | undefined> {
  try {
    return await punchRounds(ctx, step);
  } catch (err) {
    // whatever a round threw (an ICE agent that could not be made, a native error) is its
    // recorded outcome: the ladder goes on to the relay, never an unhandled rejection
    step.attempts.push(
      ctx.dialer.record('hole-punch', [])(step.signal.aborted ? 'skipped' : 'failed', (err as Error).message),
    );
    step.ice?.close();
    return undefined;
  }
}

async function punchRounds(ctx: PunchContext, step: PunchStep): Promise<Connection | undefined> {
  const { t, signal: stageSignal, attempts } = step;
  const { dialer } = ctx;
  const sig = step.signaling;
  let session = step.ice;
  let remoteIce = step.remote.ice;
  let remoteNat = step.remote.nat;
  // start at punchAt; and give a reachable peer's direct dial a short head start (a TCP
  // connection is cheaper than a data channel when both would work)
  let at = Math.max(step.punchAt ?? 0, step.remote.addrs.length > 0 ? step.started + PUNCH_HEAD_START_MS : 0);
  for (let round = 1; round <= MAX_PUNCH_ROUNDS; round++) {
    if (round > 1) {
      // only the initiator starts a further round (both starting would cross)
      if (!sig || ctx.role !== 'initiator' || !dialer.deps.punchEnabled || stageSignal.aborted) return undefined;
      // no further round the verdicts call hopeless (a verdict may have come since round 1)
      const hopelessNow = punchHopeless(currentNat(ctx), remoteNat);
      if (hopelessNow) {
        attempts.push(dialer.record('hole-punch', [])('skipped', `round ${round}: ${hopelessNow}`));
        return undefined;
      }
      await sleep(50 + Math.random() * 200, stageSignal);
      if (stageSignal.aborted) return undefined;
      const next = await offerRound(ctx, sig, round, t, stageSignal);
      if ('error' in next) {
        attempts.push(
          dialer.record('hole-punch', [])(stageSignal.aborted ? 'skipped' : 'failed', `round ${round}: ${next.error}`),
        );
        return undefined;
      }
      ({ session, remoteIce, remoteNat, at } = next);
    }
    const addrs = remoteIce ? candidateList(remoteIce) : [];
    const hopelessFirst = round === 1 ? punchHopeless(currentNat(ctx), remoteNat) : undefined;
    if (hopelessFirst && (!session || !remoteIce)) {
      // e.g. a TCP-only side sent no ICE parameters: no further rounds either
      attempts.push(dialer.record('hole-punch', addrs)('skipped', hopelessFirst));
      session?.close();
      return undefined;
    }
    if (round === 1 && !session && step.iceError) {
      // my ICE agent could not be made for the request/accept: a failure, with its reason
      attempts.push(dialer.record('hole-punch', addrs)('failed', `round 1: ${step.iceError}`));
      continue; // a further round makes a fresh agent
    }
    if (!session || !remoteIce) {
      attempts.push(dialer.record('hole-punch', addrs)('skipped', `round ${round}: no ICE parameters on one side`));
      session?.close();
      session = undefined;
      continue; // a further round may bring them
    }
    if (at > Date.now()) await sleep(at - Date.now(), stageSignal);
    if (stageSignal.aborted) return undefined;
    // decided at punchAt with the verdicts known now (mine may have come after the request left)
    const hopeless = punchHopeless(currentNat(ctx), remoteNat);
    if (hopeless) {
      attempts.push(dialer.record('hole-punch', addrs)('skipped', hopeless));
      // EIM↔EDM: birthday probing instead, decided from the two SEALED infos (both sides see the
      // same), in round 1 only (its parameters are the ones both sides sealed)
      const myIce = ctx.localInfo().ice;
      const bd =
        round === 1 && myIce && dialer.deps.birthday !== false
          ? birthdayPlan(
              ctx.role,
              { nat: ctx.localInfo().nat, ice: myIce, localPort: session.localPort() },
              { nat: step.remote.nat, ice: remoteIce },
              dialer.deps.birthday || DEFAULT_BIRTHDAY_BUDGET,
            )
          : undefined;
      if (bd && 'plan' in bd) {
        const first = await runBirthday(ctx, session, remoteIce, bd.plan, at, 1, stageSignal, (a) => attempts.push(a));
        if (first.connection) return first.connection;
        // no pair in the budget: ONE further birthday round (fresh sealed parameters over the
        // signaling channel) while the relay carries the data; it lives with the ladder session
        const life = step.roundSignal ?? stageSignal;
        const again = furtherBirthdayRound({
          role: ctx.role,
          missed: first.missed,
          rounds: 1,
          signaling: !!sig,
          aborted: life.aborted || dialer.deps.birthday === false,
        });
        return again && sig ? birthdayRound(ctx, step, sig, 2, life) : undefined;
      }
      if (bd) attempts.push(dialer.record('birthday', [])('skipped', bd.why));
      session.close();
      return undefined;
    }
    const roundStart = Date.now();
    const done = dialer.record('hole-punch', addrs);
    try {
      const { connection, pair, counters } = await session.connect(
        ctx.role === 'initiator' ? remoteIce : undefined,
        t.punchMs,
        stageSignal,
        at,
      );
      dialer.deps.tracker.annotate(connection, {
        pair,
        counters,
        requestId: dialer.requestId,
        kind: punchedKind(pair, remoteIce, currentNat(ctx)),
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
      session = undefined;
    }
  }
  return undefined;
}

/** A birthday round (ladder-birthday.ts): probe for a pair of ports, then ICE over it; one
 *  attempt row 'birthday' with the probes' target and outcome (`round N: …` from the second on).
 *  `missed`: the probing found no pair within its budget. */
async function runBirthday(
  ctx: PunchContext,
  session: IcePunchSession,
  remoteIce: IceParams,
  plan: BirthdayPlan,
  at: number,
  round: number,
  signal: AbortSignal,
  push: (a: AttemptRecord) => void,
): Promise<{ connection?: Connection; missed: boolean }> {
  const { dialer } = ctx;
  const budget = dialer.deps.birthday || DEFAULT_BIRTHDAY_BUDGET;
  const target =
    plan.role === 'hard'
      ? `${plan.peerIp}:${plan.peerPort} from ${plan.sockets} sockets`
      : `${plan.peerIp}:random ports, ${plan.ratePerSec}/s, ≤ ${plan.maxProbes}`;
  const done = dialer.record('birthday', [target]);
  const t0 = Date.now();
  const prefix = round > 1 ? `round ${round}: ` : '';
  // bounded whatever a step does: its start, the probing, the agent, ICE, and the upgrade
  const boundMs = Math.max(0, at - t0) + plan.easyDelayMs + plan.probeMs + budget.iceMs + BIRTHDAY_MARGIN_MS;
  const bound = AbortSignal.timeout(boundMs);
  const roundSignal = AbortSignal.any([signal, bound]);
  const log = dialer.deps.log;
  log.debug({ peer: dialer.peer, round, role: plan.role, target, startsInMs: at - t0, boundMs }, 'birthday round');
  try {
    // the round's punchAt (round 1 is there already): the hard side's sockets open at it
    if (at > Date.now()) await sleep(at - Date.now(), roundSignal);
    if (roundSignal.aborted) throw new Error('aborted before its start');
    const { connection, pair, counters } = await session.birthday(remoteIce, plan, budget.iceMs, roundSignal, at);
    dialer.deps.tracker.annotate(connection, {
      pair,
      counters,
      requestId: dialer.requestId,
      kind: punchedKind(pair, remoteIce, currentNat(ctx)) ?? 'hole-punched',
    });
    push(done('ok'));
    return { connection, missed: false };
  } catch (err) {
    const found = session.birthdayPair;
    const missed = err instanceof BirthdayError && !found && !signal.aborted && !bound.aborted;
    const why = bound.aborted
      ? `did not finish within ${boundMs} ms (${session.birthdayStage})`
      : err instanceof BirthdayError
        ? `${plan.role} side: ${err.message} (${err.sent} ${plan.role === 'hard' ? 'sockets' : 'probes'})`
        : `${found ? `pair ${found.localPort}→${found.remote.ip}:${found.remote.port} found in ${found.ms} ms; ` : ''}${(err as Error).message}`;
    const outcome =
      signal.aborted && !bound.aborted
        ? 'skipped'
        : bound.aborted || Date.now() - t0 >= budget.probeMs * 0.9 || /within/.test(why)
          ? 'timeout'
          : 'failed';
    log.debug({ peer: dialer.peer, round, outcome, why, stage: session.birthdayStage }, 'birthday round ended');
    push(done(outcome, prefix + why));
    session.close();
    return { missed };
  }
}

/** Initiator: the further birthday round — offer fresh sealed ICE parameters over the signaling
 *  channel (PunchSync), and probe at its punchAt when the two infos of THIS round call for it. */
async function birthdayRound(
  ctx: PunchContext,
  step: PunchStep,
  sig: Signaling,
  round: number,
  signal: AbortSignal,
): Promise<Connection | undefined> {
  const { dialer } = ctx;
  const push = (a: AttemptRecord): void => void step.attempts.push(a);
  await sleep(50 + Math.random() * 200, signal);
  if (signal.aborted) return undefined;
  const next = await offerRound(ctx, sig, round, step.t, signal);
  if ('error' in next) {
    push(dialer.record('birthday', [])(signal.aborted ? 'skipped' : 'failed', `round ${round}: ${next.error}`));
    return undefined;
  }
  const budget = dialer.deps.birthday || DEFAULT_BIRTHDAY_BUDGET;
  const bd = next.remoteIce
    ? birthdayPlan(
        'initiator',
        { nat: next.sent.nat, ice: next.sent.ice!, localPort: next.session.localPort() },
        { nat: next.remoteNat, ice: next.remoteIce },
        budget,
      )
    : undefined;
  if (!bd || !('plan' in bd) || !next.remoteIce) {
    const why = bd && 'why' in bd ? bd.why : 'the NAT verdicts of this round call for no birthday probing';
    push(dialer.record('birthday', [])('skipped', `round ${round}: ${next.remoteIce ? why : 'no ICE parameters'}`));
    next.session.close();
    return undefined;
  }
  return (await runBirthday(ctx, next.session, next.remoteIce, bd.plan, next.at, round, signal, push)).connection;
}

/** Initiator: offer a further round (fresh ICE parameters, a new punchAt) and wait for the answer. */
async function offerRound(
  ctx: PunchContext,
  sig: Signaling,
  round: number,
  t: LadderTimeouts,
  signal: AbortSignal,
): Promise<
  | { session: IcePunchSession; sent: ConnectInfo; remoteIce?: IceParams; remoteNat: ConnectInfo['nat']; at: number }
  | { error: string }
> {
  const { dialer } = ctx;
  const session = new IcePunchSession(dialer.deps.punch, dialer.deps.punchInit, 'initiator', dialer.peerId);
  ctx.rounds.add(session);
  let params: IceParams;
  try {
    params = await session.prepare();
  } catch (err) {
    session.close();
    return { error: (err as Error).message };
  }
  try {
    const punchAt = Date.now() + ROUND_LEAD_MS;
    const sent: ConnectInfo = { ...dialer.deps.localInfo(), ice: params };
    await sig.send(sent, { round, punchAt });
    const answer = await sig.receive(AbortSignal.any([signal, AbortSignal.timeout(t.punchMs + ROUND_ANSWER_EXTRA_MS)]));
    if (!answer.ice) {
      ctx.learn(answer);
      session.close();
      return { error: 'the peer answered without ICE parameters' };
    }
    ctx.learn(answer);
    return { session, sent, remoteIce: answer.ice, remoteNat: answer.nat, at: answer.punchAt ?? punchAt };
  } catch (err) {
    session.close();
    return { error: `no answer over the signaling channel (${(err as Error).message})` };
  }
}

/** Responder side of further punch rounds: answer each new offer that arrives over signaling,
 *  for as long as `signal` (the ladder session) lives; each answered round is an attempt. */
export async function answerPunchRounds(
  ctx: PunchContext,
  sig: Signaling,
  t: LadderTimeouts,
  signal: AbortSignal,
): Promise<void> {
  // started without awaiting (void): anything it throws is logged, never an unhandled rejection
  await answerRounds(ctx, sig, t, signal).catch((err: unknown) =>
    ctx.dialer.deps.log.warn({ peer: ctx.dialer.peer, err: (err as Error).message }, 'answering punch rounds failed'),
  );
}

async function answerRounds(ctx: PunchContext, sig: Signaling, t: LadderTimeouts, signal: AbortSignal): Promise<void> {
  const { dialer } = ctx;
  if (!dialer.deps.punchEnabled) return;
  while (!signal.aborted) {
    let offer: ConnectInfo & { round?: number; punchAt?: number };
    try {
      offer = await sig.receive(signal);
    } catch {
      return;
    }
    if (!offer.ice) {
      ctx.learn(offer);
      continue;
    }
    const round = offer.round ?? 0;
    const offered = offer.ice;
    // the round's row: 'hole-punch', unless it turns out a birthday round (runBirthday's own row)
    let done: ReturnType<typeof dialer.record> | undefined;
    const punchRow = (): ReturnType<typeof dialer.record> =>
      (done ??= dialer.record('hole-punch', candidateList(offered)));
    let session: IcePunchSession | undefined;
    try {
      ctx.learn(offer);
      session = new IcePunchSession(dialer.deps.punch, dialer.deps.punchInit, 'responder', dialer.peerId);
      ctx.rounds.add(session);
      const params = await session.prepare(offer.ice);
      const mine: ConnectInfo = { ...dialer.deps.localInfo(), ice: params };
      await sig.send(mine, { round, punchAt: offer.punchAt ?? Date.now() });
      // a birthday round when the two infos of this round call for one (the initiator decides
      // from the same two): only the initiator offers a round for such a pair after a miss
      const budget = dialer.deps.birthday;
      const bd =
        budget !== false
          ? birthdayPlan(
              'responder',
              { nat: mine.nat, ice: params, localPort: session.localPort() },
              { nat: offer.nat, ice: offer.ice },
              budget || DEFAULT_BIRTHDAY_BUDGET,
            )
          : undefined;
      if (bd && 'plan' in bd) {
        await runBirthday(
          ctx,
          session,
          offer.ice,
          bd.plan,
          offer.punchAt ?? Date.now(),
          round,
          signal,
          () => undefined,
        );
        continue;
      }
      punchRow();
      const { connection, pair, counters } = await session.connect(
        undefined,
        t.punchMs + ROUND_LEAD_MS,
        AbortSignal.any([signal]),
        offer.punchAt ?? Date.now(),
      );
      dialer.deps.tracker.annotate(connection, {
        pair,
        counters,
        requestId: dialer.requestId,
        kind: punchedKind(pair, offer.ice, currentNat(ctx)),
      });
      punchRow()('ok');
    } catch (err) {
      const outcome = signal.aborted ? 'skipped' : err instanceof IceAgentError ? 'failed' : 'timeout';
      punchRow()(outcome, `answered round ${round}: ${(err as Error).message}`);
      session?.close();
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
  if (a?.mapping === 'udp-blocked' || b?.mapping === 'udp-blocked')
    return `outbound UDP is blocked on ${a?.mapping === 'udp-blocked' ? 'this' : "the peer's"} side (TCP only)`;
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
