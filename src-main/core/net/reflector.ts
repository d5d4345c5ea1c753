// Runs in: Node. The reflector role: tells a peer the address it sees the peer at.
//  - /axon/reflect/1.0.0: over a libp2p connection, answers JSON {observed: <remote multiaddr>}.
//  - a UDP Binding responder (STUN wire format): answers XOR-MAPPED-ADDRESS.
// Reflectors announce the UDP responder as /ip4/<ip>/udp/<port>/p2p/<peer> (no further protocol).
import type { Socket } from 'node:dgram';
import type { Connection, Libp2p, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from '../log';
import { multiaddrIp } from './addresses';
import { encodeBindingResponse, isBindingRequest, openUdp, parseStun, type Endpoint } from './stun';

export const REFLECT_PROTOCOL = '/axon/reflect/1.0.0';

export async function handleReflect(stream: Stream, connection: Connection): Promise<void> {
  const observed = connection.remoteAddr.toString().replace(/\/p2p\/[^/]+$/, '');
  // read the request line first, then answer one JSON line; the asker closes
  let seen = 0;
  for await (const chunk of stream) {
    seen += chunk.byteLength;
    if (chunk.subarray().includes(0x0a) || seen > 256) break;
  }
  stream.send(new TextEncoder().encode(JSON.stringify({ observed }) + '\n'));
  await stream.close().catch(() => undefined);
}

/** Ask a reflector over libp2p which address it sees us at (one connection, any of its addresses). */
export async function reflectViaPeer(
  libp2p: Libp2p,
  addrs: string | string[],
  signal?: AbortSignal,
): Promise<{ observed: Endpoint; protocol: 'tcp' | 'udp' }> {
  const sig = AbortSignal.any([signal ?? AbortSignal.timeout(5000), AbortSignal.timeout(8000)]);
  // one address at a time, TCP first: a parallel multi-address dial here was seen to hand back a
  // connection whose new stream never answered
  const list = (Array.isArray(addrs) ? addrs : [addrs]).map((a) => multiaddr(a));
  list.sort((x, y) => Number(x.toString().includes('/udp/')) - Number(y.toString().includes('/udp/')));
  let stream: Stream | undefined;
  let last: unknown;
  for (const ma of list) {
    try {
      stream = await libp2p.dialProtocol(ma, REFLECT_PROTOCOL, {
        signal: AbortSignal.any([sig, AbortSignal.timeout(3000)]),
      });
      break;
    } catch (err) {
      last = err;
      if (sig.aborted) break;
    }
  }
  if (!stream) throw last instanceof Error ? last : new Error('reflector unreachable');
  // a request line: with lazy protocol selection nothing reaches the reflector until we write
  stream.send(new TextEncoder().encode('{"want":"observed"}\n'));
  const onAbort = (): void => stream.abort(new Error('reflector did not answer in time'));
  sig.addEventListener('abort', onAbort, { once: true });
  let text = '';
  try {
    for await (const chunk of stream) {
      text += new TextDecoder().decode(chunk.subarray());
      if (text.includes('\n') || text.length > 2048) break;
    }
  } finally {
    sig.removeEventListener('abort', onAbort);
    stream.abort(new Error('done'));
  }
  const parsed = JSON.parse(text) as { observed?: unknown };
  if (typeof parsed.observed !== 'string') throw new Error('reflector answered without an observed address');
  const ma = multiaddr(parsed.observed);
  const ip = multiaddrIp(ma);
  const comps = ma.getComponents();
  const port = Number(comps[1]?.value);
  if (!ip || !Number.isInteger(port)) throw new Error(`reflector answered an unusable address: ${parsed.observed}`);
  return { observed: { ip, port }, protocol: comps[1]?.name === 'udp' ? 'udp' : 'tcp' };
}

export class ReflectorUdp {
  private constructor(
    readonly socket: Socket,
    private readonly log: Logger,
  ) {
    socket.on('message', (buf, rinfo) => this.#onMessage(buf, { ip: rinfo.address, port: rinfo.port }));
  }

  static async start(o: { host?: string; port?: number; log: Logger }): Promise<ReflectorUdp> {
    return new ReflectorUdp(await openUdp(o.port ?? 0, o.host), o.log);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** /ipX/<ip>/udp/<port>/p2p/<peer> for each announced IP address. */
  announceAddrs(libp2pAddrs: string[]): string[] {
    const out = new Set<string>();
    for (const a of libp2pAddrs) {
      const ma = multiaddr(a);
      const ip = multiaddrIp(ma);
      const peer = ma.getComponents().find((c) => c.name === 'p2p')?.value;
      if (!ip) continue;
      out.add(`/${ip.includes(':') ? 'ip6' : 'ip4'}/${ip}/udp/${this.port}${peer ? `/p2p/${peer}` : ''}`);
    }
    return [...out];
  }

  #onMessage(buf: Buffer, from: Endpoint): void {
    const m = parseStun(buf);
    if (!m || !isBindingRequest(m)) return;
    this.socket.send(encodeBindingResponse(m.txId, from), from.port, from.ip);
    this.log.debug({ from: `${from.ip}:${from.port}` }, 'reflected a UDP probe');
  }

  close(): void {
    this.socket.close();
  }
}
