// Runs in: Node 22, inside a NAT lab namespace (tests/natlab/birthday.test.ts). One side of a
// birthday-paradox probe (src-main/core/net/birthday.ts); the test carries the addresses and the key.
//   args:   --role hard|easy --peer-ip IP [--peer-port P] [--local-port P] --key HEX
//           [--rate N] [--max N] [--sockets N] [--timeout MS]
//   stdout: {event:'ready'} then {event:'found', localPort, remote, sent, ms} or {event:'failed', error, sent}
//   stdin:  the line 'go' starts the probe (both sides at once)
//   --ice: then hand the pair to ICE (libjuice, node-datachannel): an agent bound to the pair's local
//   port only (portRangeBegin = portRangeEnd) with the pair's remote address as its one remote
//   candidate; the test carries the offer/answer: stdout {event:'sdp', sdp, type}, stdin
//   {cmd:'sdp', sdp, type}; {event:'ice-open', ms, pair} when the data channel opened through both NATs
import { createInterface } from 'node:readline';
import { PeerConnection, type DataChannel } from 'node-datachannel';
import { birthdayProbe, BirthdayError, type BirthdayResult } from '../../src-main/core/net/birthday';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const num = (name: string): number | undefined => (arg(name) === undefined ? undefined : Number(arg(name)));
const out = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

const rl = createInterface({ input: process.stdin });
const iceWanted = process.argv.includes('--ice');
out({ event: 'ready' });

function handToIce(r: BirthdayResult): void {
  const t0 = Date.now();
  const pc = new PeerConnection('birthday', { iceServers: [], portRangeBegin: r.localPort, portRangeEnd: r.localPort });
  const remote = `candidate:1 1 UDP 2122260223 ${r.remote.ip} ${r.remote.port} typ host`;
  let dc: DataChannel | undefined;
  const opened = (): void => {
    const pair = pc.getSelectedCandidatePair();
    out({ event: 'ice-open', ms: Date.now() - t0, pair });
    setTimeout(() => process.exit(0), 300);
  };
  // only the description: the agent's own gathered candidates stay home, the pair is the path
  pc.onLocalDescription((sdp, type) => out({ event: 'sdp', sdp, type }));
  pc.onDataChannel((ch) => ch.onOpen(opened));
  if (arg('role') === 'easy') {
    dc = pc.createDataChannel('probe');
    dc.onOpen(opened);
  }
  rl.on('line', (line) => {
    const m = JSON.parse(line) as { cmd: string; sdp: string; type: 'offer' | 'answer' };
    if (m.cmd !== 'sdp') return;
    pc.setRemoteDescription(m.sdp, m.type);
    pc.addRemoteCandidate(remote, '0');
  });
}

rl.once('line', () => {
  const peerPort = num('peer-port');
  const localPort = num('local-port');
  const rate = num('rate');
  const max = num('max');
  const sockets = num('sockets');
  const timeout = num('timeout');
  birthdayProbe({
    role: arg('role') === 'hard' ? 'hard' : 'easy',
    peerIp: arg('peer-ip')!,
    key: Buffer.from(arg('key')!, 'hex'),
    ...(peerPort !== undefined ? { peerPort } : {}),
    ...(localPort !== undefined ? { localPort } : {}),
    ...(rate !== undefined ? { ratePerSec: rate } : {}),
    ...(max !== undefined ? { maxProbes: max } : {}),
    ...(sockets !== undefined ? { sockets } : {}),
    ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
  }).then(
    (r) => {
      out({ event: 'found', ...r });
      if (iceWanted) handToIce(r);
      else process.exit(0);
    },
    (e: Error) => {
      out({ event: 'failed', error: e.message, sent: e instanceof BirthdayError ? e.sent : 0 });
      process.exit(0);
    },
  );
});
