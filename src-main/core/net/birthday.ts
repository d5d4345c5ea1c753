// Runs in: Node. Birthday-paradox port probing between an endpoint-independent (EIM, "easy") NAT
// and an endpoint-dependent (EDM, symmetric, "hard") one — issue 15 §2, after hyperdht's
// holepuncher and Tailscale's description; the code is Axon's own.
//
// The hard side opens `sockets` UDP sockets (256) and sends a probe from each to the easy side's
// public ip:port: its NAT gives each socket its own random public port, and the easy side's NAT drops
// them (it never sent there). The easy side sends probes from ONE socket (its public port is stable)
// to random ports of the hard side's public IP at a bounded rate: each opens its own NAT's filter
// for that port, and when a probe hits one of the hard side's 256 public ports the hard NAT lets it
// in (it is the reply direction of that socket's mapping). That socket answers; both now know a
// pair of ports that passes both NATs. With 256 ports open out of ~64 500, n probes find one with
// probability 1 − (1 − 256/64 512)^n: 580 probes ≈ 90 %, 1 000 ≈ 98 %, 2 000 ≈ 99.96 %.
//
// Probes carry an HMAC over a key both peers got in their sealed, authenticated connect info, so
// a stranger's datagram (or a stale probe of another session) never counts as an answer. The pair
// found is only a path: what runs over it must still authenticate the peer (ICE with the DTLS
// fingerprint from the same sealed info).
import { createSocket, type Socket } from 'node:dgram';
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const MAGIC = Buffer.from('AXBP');
const PROBE = 1;
const ACK = 2;
const MAC_LEN = 16;
const PACKET_LEN = MAGIC.length + 1 + 8 + MAC_LEN;

export interface BirthdayOptions {
  /** hard = behind the endpoint-dependent NAT (many sockets); easy = behind the EIM NAT (probes). */
  role: 'hard' | 'easy';
  /** The other side's public IPv4 address. */
  peerIp: string;
  /** hard: the easy side's public port (its sockets send there). easy: unused. */
  peerPort?: number;
  /** Shared secret (≥ 16 bytes) from the sealed connect info: probes are authenticated with it. */
  key: Uint8Array;
  /** hard: sockets opened (default 256). */
  sockets?: number;
  /** easy: probes per second (default 100) — bounded so a router's conntrack table is not flooded. */
  ratePerSec?: number;
  /** easy: probes in all (default 1 000). */
  maxProbes?: number;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** easy: the local port to probe from (its public port with a port-preserving EIM NAT); 0 = any. */
  localPort?: number;
  /** Ports of the hard side's NAT probed (default 1024–65535, where Linux's random mapping picks). */
  portRange?: [number, number];
  /** hard: re-send from every socket this often (ms, default 1 000): keeps the mappings and lets a
   *  probe that raced ahead of the first packet be answered. */
  resendMs?: number;
  signal?: AbortSignal;
}

export interface BirthdayResult {
  /** Our local port of the pair (hard: the socket that was hit; easy: the probing socket). */
  localPort: number;
  /** The other side's public address of the pair. */
  remote: { ip: string; port: number };
  /** Probes sent (easy) or sockets opened (hard). */
  sent: number;
  ms: number;
}

export class BirthdayError extends Error {
  constructor(
    message: string,
    readonly sent: number,
  ) {
    super(message);
    this.name = 'BirthdayError';
  }
}

function packet(key: Uint8Array, type: number): Buffer {
  const head = Buffer.concat([MAGIC, Buffer.from([type]), randomBytes(8)]);
  const mac = createHmac('sha256', key).update(head).digest().subarray(0, MAC_LEN);
  return Buffer.concat([head, mac]);
}

/** The packet's type when it is an authentic probe/ack under `key`, else undefined. */
export function verifyPacket(key: Uint8Array, msg: Buffer): number | undefined {
  if (msg.length !== PACKET_LEN || !msg.subarray(0, 4).equals(MAGIC)) return undefined;
  const head = msg.subarray(0, PACKET_LEN - MAC_LEN);
  const mac = createHmac('sha256', key).update(head).digest().subarray(0, MAC_LEN);
  if (!timingSafeEqual(mac, msg.subarray(PACKET_LEN - MAC_LEN))) return undefined;
  const type = msg[4];
  return type === PROBE || type === ACK ? type : undefined;
}

function bindOnce(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, () => {
      s.off('error', reject);
      s.on('error', () => undefined); // ICMP errors of unanswered probes
      resolve(s);
    });
  });
}

/** Bind `port` (0 = any); a given port is retried for up to 1 s while it is still in use (the
 *  ICE agent that held it, closed just before, frees it from its own thread). */
async function bind(port: number): Promise<Socket> {
  for (let i = 0; ; i++) {
    try {
      return await bindOnce(port);
    } catch (err) {
      if (port === 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Probe until one pair of ports passes both NATs; rejects (BirthdayError) when none did in time. */
export async function birthdayProbe(o: BirthdayOptions): Promise<BirthdayResult> {
  if (o.key.length < 16) throw new Error('birthday probing needs a key of at least 16 bytes');
  const t0 = Date.now();
  const timeoutMs = o.timeoutMs ?? 10_000;
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  let sent = 0;
  try {
    return await new Promise<BirthdayResult>((resolve, reject) => {
      let done = false;
      const finish = (r: BirthdayResult | Error): void => {
        if (done) return;
        done = true;
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      timers.push(setTimeout(() => finish(new BirthdayError(`no pair within ${timeoutMs} ms`, sent)), timeoutMs));
      o.signal?.addEventListener('abort', () => finish(new BirthdayError('aborted', sent)), { once: true });
      const onMessage =
        (s: Socket) =>
        (msg: Buffer, rinfo: { address: string; port: number }): void => {
          if (rinfo.address !== o.peerIp) return;
          const type = verifyPacket(o.key, msg);
          if (type === undefined) return;
          // answer a probe (the other side learns the pair too), then report the pair
          if (type === PROBE) s.send(packet(o.key, ACK), rinfo.port, rinfo.address);
          finish({
            localPort: s.address().port,
            remote: { ip: rinfo.address, port: rinfo.port },
            sent,
            ms: Date.now() - t0,
          });
        };

      const start = async (): Promise<void> => {
        if (o.role === 'hard') {
          if (!o.peerPort) throw new Error('the hard side needs the easy side’s public port');
          const n = o.sockets ?? 256;
          for (let i = 0; i < n && !done; i++) {
            const s = await bind(0);
            sockets.push(s);
            s.on('message', onMessage(s));
            s.send(packet(o.key, PROBE), o.peerPort, o.peerIp);
            sent++;
          }
          const resend = setInterval(() => {
            for (const s of sockets) s.send(packet(o.key, PROBE), o.peerPort!, o.peerIp);
          }, o.resendMs ?? 1000);
          timers.push(resend);
        } else {
          const s = await bind(o.localPort ?? 0);
          sockets.push(s);
          s.on('message', onMessage(s));
          const [lo, hi] = o.portRange ?? [1024, 65535];
          const max = o.maxProbes ?? 1000;
          const rate = o.ratePerSec ?? 100;
          // paced by the clock, not by counting ticks: a busy machine fires timers late, and the
          // probes due since the start then go out in small batches (at most 50 ms worth at once),
          // so the budget's probes are sent and the average never exceeds the rate asked
          const began = Date.now();
          const burst = Math.max(1, Math.ceil(rate / 20));
          const tick = setInterval(
            () => {
              const due = Math.min(max, Math.floor(((Date.now() - began) * rate) / 1000) + 1);
              for (let i = 0; i < burst && sent < due && !done; i++) {
                s.send(packet(o.key, PROBE), randomInt(lo, hi + 1), o.peerIp);
                sent++;
              }
              if (sent >= max) clearInterval(tick);
            },
            Math.max(10, 1000 / rate),
          );
          timers.push(tick);
        }
      };
      start().catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
    });
  } finally {
    for (const t of timers) clearTimeout(t);
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
