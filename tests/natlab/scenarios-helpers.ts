// Runs in: Node (test harness, root). Drives two scenario peers (scenarios-peer.ts) through
// discovery, relay reservations and the connect ladder, carrying their ConnectInfo between them
// (the test process plays the ledger: an out-of-band channel), and turns the outcome into a row.
import { join } from 'node:path';
import type { LabHost, LabProcess, MatrixRow, NatLab } from './lab';
import { REPO_ROOT, expectedNat } from './lab';

export const PEER_SCRIPT = join(REPO_ROOT, 'tests/natlab/scenarios-peer.ts');

export interface Ready {
  event: 'ready';
  peerId: string;
  addrs: string[];
  announce: string[] | null;
}
export interface NatEvent {
  event: 'nat';
  report: {
    publicIp?: string;
    mapping: string;
    reachability: string;
    filtering?: string;
    warnings: string[];
    sources: string[];
  };
}
export interface ConnectedEvent {
  event: 'connected' | 'failed';
  path?: { kind: string; relay?: string; transport: string };
  elapsedMs?: number;
  attempts?: { method: string; outcome: string; error?: string; durationMs: number }[];
  error?: string;
}

export interface Infra {
  stun: string;
  reflectors: string[];
  relays: string[];
  relayProcs: Map<string, LabProcess>; // relay PeerId → process
}

export function spawnPeer(lab: NatLab, host: LabHost, stun: string, extra: string[] = []): LabProcess {
  return lab.spawnNode(host, PEER_SCRIPT, ['--stun', stun, ...extra], { label: host.name });
}

/** The lab's short name for a NAT report: public, edm, fullcone, eim, or the mapping as reported. */
export const labelOf = (r: { mapping: string; filtering?: string | null | undefined }): string =>
  r.mapping === 'none'
    ? 'public'
    : r.mapping === 'endpoint-dependent'
      ? 'edm'
      : r.mapping === 'endpoint-independent'
        ? r.filtering === 'endpoint-independent'
          ? 'fullcone'
          : 'eim'
        : r.mapping;

/** Forward PunchSync rounds printed by one peer to the other (both directions) until stopped. */
function pumpRounds(a: LabProcess, b: LabProcess): () => void {
  let stopped = false;
  const pump = async (from: LabProcess, to: LabProcess): Promise<void> => {
    for await (const e of from.jsonLines<{ event: string; info?: string }>()) {
      if (stopped) return;
      if (e.event === 'round') to.send({ cmd: 'round', info: e.info });
    }
  };
  void pump(a, b).catch(() => undefined);
  void pump(b, a).catch(() => undefined);
  return () => {
    stopped = true;
  };
}

export interface PairResult {
  row: MatrixRow;
  a: LabProcess;
  b: LabProcess;
  readyA: Ready;
  readyB: Ready;
  connA: ConnectedEvent;
}

export async function runPair(
  lab: NatLab,
  infra: Infra,
  scenario: string,
  hostA: LabHost,
  hostB: LabHost,
  expectedPath: string[],
): Promise<PairResult> {
  const a = spawnPeer(lab, hostA, infra.stun);
  const b = spawnPeer(lab, hostB, infra.stun);
  const [readyA, readyB] = await Promise.all([
    a.waitForJson<Ready>((e) => e.event === 'ready', 60_000),
    b.waitForJson<Ready>((e) => e.event === 'ready', 60_000),
  ]);
  a.send({ cmd: 'discover', reflectors: infra.reflectors });
  b.send({ cmd: 'discover', reflectors: infra.reflectors });
  const [natA, natB] = await Promise.all([
    a.waitForJson<NatEvent>((e) => e.event === 'nat', 30_000),
    b.waitForJson<NatEvent>((e) => e.event === 'nat', 30_000),
  ]);
  a.send({ cmd: 'relays', relays: infra.relays });
  b.send({ cmd: 'relays', relays: infra.relays });
  await Promise.all([
    a.waitForJson((e: { event: string }) => e.event === 'relays', 30_000),
    b.waitForJson((e: { event: string }) => e.event === 'relays', 30_000),
  ]);

  // the ledger round trip: request (initiator's info) → accept (responder's info, punchAt)
  a.send({ cmd: 'prepare', peer: readyB.peerId, role: 'initiator' });
  const infoA = await a.waitForJson<{ event: string; info: string }>((e) => e.event === 'info', 30_000);
  b.send({ cmd: 'prepare', peer: readyA.peerId, role: 'responder', remote: infoA.info });
  const infoB = await b.waitForJson<{ event: string; info: string }>((e) => e.event === 'info', 30_000);
  const stop = pumpRounds(a, b);
  const punchAt = Date.now() + 200;
  const acceptedAt = Date.now();
  b.send({ cmd: 'connect', remote: infoA.info, punchAt });
  a.send({ cmd: 'connect', remote: infoB.info, punchAt });
  const connA = await a.waitForJson<ConnectedEvent>(
    (e) => e.event === 'connected' || (e.event === 'failed' && (e as { cmd?: string }).cmd === 'connect'),
    60_000,
  );
  const timeToConnect = Date.now() - acceptedAt;
  await b
    .waitForJson<ConnectedEvent>((e) => e.event === 'connected' || e.event === 'failed', 30_000)
    .catch(() => undefined);
  stop();
  const row: MatrixRow = {
    scenario,
    verdicts: [
      { peer: hostA.name, expected: expectedNat(hostA).label, detected: labelOf(natA.report) },
      { peer: hostB.name, expected: expectedNat(hostB).label, detected: labelOf(natB.report) },
    ],
    path: connA.event === 'connected' ? (connA.path?.kind ?? null) : null,
    expectedPath,
    attempts: connA.attempts?.length ?? 0,
    timeToConnectMs: connA.event === 'connected' ? timeToConnect : null,
    note:
      connA.event === 'connected'
        ? `${connA.path?.transport}${connA.path?.relay ? ` via ${connA.path.relay.slice(-6)}` : ''}; ladder ${connA.elapsedMs} ms; ${connA.attempts?.map((x) => `${x.method}:${x.outcome}`).join(',')}`
        : `failed: ${connA.error}`,
  };
  return { row, a, b, readyA, readyB, connA };
}
