// Runs in: Node 22, inside a NAT lab namespace (tests/natlab/birthday.test.ts). One side of a
// birthday-paradox probe (src-main/core/net/birthday.ts); the test carries the addresses and the key.
//   args:   --role hard|easy --peer-ip IP [--peer-port P] [--local-port P] --key HEX
//           [--rate N] [--max N] [--sockets N] [--timeout MS]
//   stdout: {event:'ready'} then {event:'found', localPort, remote, sent, ms} or {event:'failed', error, sent}
//   stdin:  the line 'go' starts the probe (both sides at once)
import { createInterface } from 'node:readline';
import { birthdayProbe, BirthdayError } from '../../src-main/core/net/birthday';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const num = (name: string): number | undefined => (arg(name) === undefined ? undefined : Number(arg(name)));
const out = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

const rl = createInterface({ input: process.stdin });
out({ event: 'ready' });
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
      process.exit(0);
    },
    (e: Error) => {
      out({ event: 'failed', error: e.message, sent: e instanceof BirthdayError ? e.sent : 0 });
      process.exit(0);
    },
  );
});
