// Runs in: a NAT lab namespace (Node 22 via tsx). One Axon net node driven by JSON lines on stdin,
// reporting JSON lines on stdout. The test process carries ConnectInfo between two peers (the
// role the sealed ledger messages play in the app): a real out-of-band channel, as the ledger is.
//   stdin:  {cmd:'discover', reflectors}  {cmd:'relays', relays}  {cmd:'prepare', peer, role, remote?}
//           {cmd:'connect', remote, punchAt?}  {cmd:'status', peer}  {cmd:'echo', peer, bytes}
//           {cmd:'round', info} (a PunchSync round from the other side)  {cmd:'reset', peer}  {cmd:'stop'}
//   stdout: {event:'ready', peerId, addrs, announce?}  {event:'nat', report}  {event:'info', info}
//           {event:'connected', path, elapsedMs, attempts}  {event:'failed', error}  {event:'path', …}
import { createInterface } from 'node:readline';
import { Identity } from '../../src-main/core/identity/identity';
import { createNetNode, decodeConnectInfo, encodeConnectInfo } from '../../src-main/core/net/index';
import type { ConnectInfo, ConnectSession, NetNode, Signaling } from '../../src-main/core/net/index';
import { createLogger } from '../../src-main/core/log';
import { peerIdFromString } from '@libp2p/peer-id';
import { waitForDrain } from '../../src-main/core/net/drain';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const out = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
const unb64 = (s: string): ConnectInfo => decodeConnectInfo(Uint8Array.from(Buffer.from(s, 'base64')));

const roles = (arg('roles') ?? '').split(',').filter(Boolean);
const node: NetNode = await createNetNode({
  identity: Identity.generate(),
  listenPort: Number(arg('port') ?? 4001),
  host: '0.0.0.0',
  stunServers: arg('stun') ? [arg('stun')!] : [],
  roles: { relay: roles.includes('relay'), reflector: roles.includes('reflector') ? { udpPort: 3479 } : false },
  log: createLogger({ level: process.env.AXON_LOG_LEVEL ?? 'warn' }),
  pingIntervalMs: 2000,
});
node.addEventListener('path', (e) => {
  const d = (e as CustomEvent).detail;
  out({
    event: 'path',
    peer: d.peer,
    from: d.from?.kind ?? null,
    to: d.to?.kind ?? null,
    relay: d.to?.relay ?? null,
    at: Date.now(),
  });
});
out({
  event: 'ready',
  peerId: node.peerId.toString(),
  addrs: node.multiaddrs(),
  announce: node.announcement()?.multiaddrs ?? null,
});

// further punch rounds arrive from the test process as {cmd:'round'}
const inbox: ConnectInfo[] = [];
const waiters: ((i: ConnectInfo) => void)[] = [];
const signaling: Signaling = {
  send: async (info) => out({ event: 'round', info: b64(encodeConnectInfo(info)) }),
  receive: (signal) =>
    new Promise((resolve, reject) => {
      const next = inbox.shift();
      if (next) return resolve(next);
      waiters.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    }),
};

await node.libp2p.handle(
  '/axon-lab/echo/1.0.0',
  async (stream) => {
    for await (const c of stream) if (!stream.send(c)) await waitForDrain(stream);
  },
  { runOnLimitedConnection: true },
);

let session: ConnectSession | undefined;
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  let cmd: Record<string, unknown>;
  try {
    cmd = JSON.parse(line);
  } catch {
    continue;
  }
  void (async () => {
    try {
      switch (cmd.cmd) {
        case 'discover':
          out({ event: 'nat', report: await node.discoverAddress({ reflectors: cmd.reflectors as string[] }) });
          break;
        case 'relays':
          out({ event: 'relays', held: await node.useRelays(cmd.relays as string[]) });
          break;
        case 'prepare':
          session = await node.prepareConnect({
            peer: cmd.peer as string,
            role: cmd.role as 'initiator' | 'responder',
            ...(cmd.remote ? { remote: unb64(cmd.remote as string) } : {}),
          });
          out({
            event: 'info',
            info: b64(encodeConnectInfo(session.localInfo)),
            bytes: encodeConnectInfo(session.localInfo).length,
          });
          break;
        case 'connect': {
          const r = await session!.connect(unb64(cmd.remote as string), {
            punchAt: cmd.punchAt as number | undefined,
            signaling,
          });
          out({ event: 'connected', path: r.path, elapsedMs: r.elapsedMs, attempts: r.attempts });
          break;
        }
        case 'round': {
          const info = unb64(cmd.info as string);
          const w = waiters.shift();
          if (w) w(info);
          else inbox.push(info);
          break;
        }
        case 'reset': {
          // end this pair's session and connections (a benchmark trial is over)
          session?.close();
          session = undefined;
          await node.libp2p.hangUp(peerIdFromString(cmd.peer as string));
          out({ event: 'reset' });
          break;
        }
        case 'ping': {
          const rtts: number[] = [];
          for (let i = 0; i < 3; i++)
            rtts.push((await node.ping(cmd.peer as string, AbortSignal.timeout(5000))) ?? NaN);
          const st = node.peerStatus(cmd.peer as string);
          out({ event: 'ping', rttMs: rtts.sort((x, y) => x - y)[1] ?? null, path: st.path?.kind ?? null });
          break;
        }
        case 'status':
          out({ event: 'status', status: node.peerStatus(cmd.peer as string) });
          break;
        case 'echo': {
          const conn = node.libp2p
            .getConnections()
            .find((c) => c.remotePeer.toString() === cmd.peer && c.status === 'open');
          if (!conn) throw new Error('not connected');
          const started = performance.now();
          const stream = await conn.newStream('/axon-lab/echo/1.0.0', { runOnLimitedConnection: true });
          const size = cmd.bytes as number;
          let got = 0;
          const reader = (async () => {
            for await (const c of stream) if ((got += c.byteLength) >= size) break;
          })();
          const chunk = new Uint8Array(16384);
          for (let sent = 0; sent < size; sent += chunk.length) if (!stream.send(chunk)) await waitForDrain(stream);
          await reader;
          stream.abort(new Error('done'));
          out({ event: 'echo', bytes: got, ms: performance.now() - started });
          break;
        }
        case 'stop':
          await node.stop();
          process.exit(0);
      }
    } catch (err) {
      out({ event: 'failed', cmd: cmd.cmd, error: (err as Error).message });
    }
  })();
}
