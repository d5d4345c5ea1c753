// Runs in: Node. When the ladder's punch round becomes birthday probing (issue 15 §2): an
// endpoint-independent (EIM) side facing an endpoint-dependent (EDM, symmetric) one whose ICE
// punch is hopeless because the EIM side filters by address and port. Both sides decide from the
// same data — the two connect infos as sealed in the request and the accept — so both switch at the
// same punchAt without a further message. EDM↔EDM stays relayed (no side has a stable port).
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { ConnectInfo, IceParams } from './connect-info';
import type { BirthdayPlan } from './ice-punch-types';
import { isLanIp } from './addresses';

/** The budgets (docs/net.md "Birthday probing"): bounded so a router's conntrack table is not
 *  flooded, and so a failed round costs the relay no more than the ladder's relayAfterMs. */
export interface BirthdayBudget {
  /** Sockets the hard (EDM) side opens: each one public port of its NAT. */
  sockets: number;
  /** Probes per second the easy (EIM) side sends to random ports. */
  ratePerSec: number;
  /** Probes in all. */
  maxProbes: number;
  /** The probing's whole budget, ms. */
  probeMs: number;
  /** ICE + DTLS over the pair found, ms. */
  iceMs: number;
}

/** 256 sockets; 200 probes/s, 2 000 in all (P(pair) ≈ 99.96 %; 1 000 ≈ 98 % missed once in a CI
 *  run); 10 s of probing; 5 s for ICE. */
export const DEFAULT_BIRTHDAY_BUDGET: BirthdayBudget = {
  sockets: 256,
  ratePerSec: 200,
  maxProbes: 2000,
  probeMs: 10_000,
  iceMs: 5000,
};

/** The easy side starts probing this long after punchAt: the hard side's sockets open first. */
export const EASY_DELAY_MS = 300;

type Nat = ConnectInfo['nat'];

const publicV4 = (ip: string | undefined): ip is string => !!ip && isIPv4(ip) && !isLanIp(ip);

/** True when `easy` is an EIM NAT whose filtering makes a plain punch from `hard` (EDM) hopeless. */
function fits(hard: Nat, easy: Nat): boolean {
  return (
    hard?.mapping === 'endpoint-dependent' &&
    easy?.mapping === 'endpoint-independent' &&
    easy.filtering === 'address-and-port-dependent'
  );
}

/** Why birthday probing cannot run for this pair, or undefined when it can (the pair's NATs fit). */
export function birthdayPlan(
  role: 'initiator' | 'responder',
  local: { nat: Nat; ice: IceParams; localPort: number | undefined },
  remote: { nat: Nat; ice: IceParams },
  budget: BirthdayBudget = DEFAULT_BIRTHDAY_BUDGET,
): { plan: BirthdayPlan } | { why: string } | undefined {
  const hard = fits(local.nat, remote.nat) ? 'me' : fits(remote.nat, local.nat) ? 'peer' : undefined;
  if (!hard) return undefined;
  const easyIce = hard === 'me' ? remote.ice : local.ice;
  const hardIce = hard === 'me' ? local.ice : remote.ice;
  const hardNat = hard === 'me' ? local.nat : remote.nat;
  // the easy side's public port: its server-reflexive candidate (EIM: the same towards everyone)
  const easySrflx = easyIce.candidates.find((c) => c.type === 'srflx' && publicV4(c.ip));
  const hardIp = [hardNat?.publicIp, ...hardIce.candidates.filter((c) => c.type === 'srflx').map((c) => c.ip)].find(
    publicV4,
  );
  if (!easySrflx) return { why: 'birthday probing: the EIM side has no public server-reflexive candidate' };
  if (!hardIp) return { why: 'birthday probing: the EDM side’s public IPv4 address is unknown' };
  if (hard === 'peer' && local.localPort === undefined)
    return { why: 'birthday probing: my ICE agent has no host candidate to probe from' };
  // both sealed passwords, the initiator's first: only these two peers know the key
  const [ini, res] = role === 'initiator' ? [local.ice, remote.ice] : [remote.ice, local.ice];
  const key = createHash('sha256').update('axon birthday v1\0').update(ini.pwd).update('\0').update(res.pwd).digest();
  const common = {
    key: new Uint8Array(key),
    sockets: budget.sockets,
    ratePerSec: budget.ratePerSec,
    maxProbes: budget.maxProbes,
    probeMs: budget.probeMs,
    easyDelayMs: EASY_DELAY_MS,
  };
  return {
    plan:
      hard === 'me'
        ? { ...common, role: 'hard', peerIp: easySrflx.ip, peerPort: easySrflx.port }
        : { ...common, role: 'easy', peerIp: hardIp, localPort: local.localPort },
  };
}

/** Birthday rounds in all: the first at punchAt, ONE further when the first found no pair. */
export const MAX_BIRTHDAY_ROUNDS = 2;

/**
 * Whether a birthday round that just ended is followed by a further one (issue 15): only when its
 * probing found no pair in its budget (a pair found whose ICE failed is not a miss of the probing),
 * only the initiator starts it (both starting would cross), over a signaling channel (PunchSync),
 * while the ladder session lives, and at most MAX_BIRTHDAY_ROUNDS in all. The responder needs no
 * rule of its own: it answers the offer and both sides decide it is a birthday round from the two
 * sealed infos of that round (birthdayPlan), as for the first.
 */
export function furtherBirthdayRound(o: {
  role: 'initiator' | 'responder';
  /** The round's probing ended without a pair (BirthdayError: no pair within its budget). */
  missed: boolean;
  /** Birthday rounds run so far. */
  rounds: number;
  signaling: boolean;
  aborted: boolean;
}): boolean {
  return o.missed && o.role === 'initiator' && o.signaling && !o.aborted && o.rounds < MAX_BIRTHDAY_ROUNDS;
}
