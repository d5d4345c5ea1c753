// Runs in: Node. What the ICE punch (ice-punch.ts) is built from and what it reports.
import type { ComponentLogger, Upgrader } from '@libp2p/interface';
import type { AnnounceFilterOptions } from './types';

export interface IcePunchComponents {
  upgrader: Upgrader;
  logger: ComponentLogger;
}

export interface IcePunchInit {
  stunServers: string[];
  announceFilter?: AnnounceFilterOptions;
  /** Max wait for candidate gathering (STUN); default 2500 ms. */
  gatherTimeoutMs?: number;
}

/** Birthday probing in place of a hopeless punch (birthday.ts; the plan comes from ladder-birthday.ts). */
export interface BirthdayPlan {
  /** hard = behind the endpoint-dependent NAT (opens the sockets); easy = behind the EIM NAT (probes). */
  role: 'hard' | 'easy';
  /** The other side's public IPv4 address. */
  peerIp: string;
  /** hard: the easy side's public port (its server-reflexive candidate's). */
  peerPort?: number;
  /** easy: the local port to probe from (the port of my ICE agent, whose public port the peer knows). */
  localPort?: number;
  /** Probes are authenticated with this key (derived from both sealed ICE passwords). */
  key: Uint8Array;
  sockets: number;
  ratePerSec: number;
  maxProbes: number;
  /** Probing budget, ms. */
  probeMs: number;
  /** easy: start probing this long after the hard side (punchAt), so its sockets are open. */
  easyDelayMs: number;
}

/** Selected ICE pair of a punched connection, for path classification. */
export interface IcePair {
  local: { type: string; address: string; port: number };
  remote: { type: string; address: string; port: number };
}
