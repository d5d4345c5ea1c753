// Runs in: Node. The reflector role: tells a peer the address it sees the peer at.
//  - /axon/reflect/1.0.0: over a libp2p connection, answers JSON {observed: <remote multiaddr>};
//    on request ({dialback: /ipX/<ip>/tcp/<port>}) dials the asker back there on a new connection
//    and says {dialback: ok|failed} (the asker believes only the inbound connection it sees).
//  - a UDP Binding responder (STUN wire format, RFC 5389): answers XOR-MAPPED-ADDRESS, so ICE uses
//    reflectors as its STUN servers. It honours RFC 5780 CHANGE-REQUEST for the filtering test:
//    "change port" answers from its other port, "change IP" from a socket on a second public IPv4
//    address of its host when it has one (named in OTHER-ADDRESS; never asked for otherwise).
// Reflectors announce the UDP responder as /ip4/<ip>/udp/<port>/p2p/<peer> (no further protocol).
import type { Socket } from 'node:dgram';
import type { Connection, Libp2p, Stream } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { z } from 'zod';
import type { Logger } from '../log';
import { multiaddrIp } from './addresses';
import { encodeBindingResponse, isBindingRequest, openUdp, parseStun, type Endpoint } from './stun';
import { networkInterfaces } from 'node:os';
import { ipScope } from './addresses';

export const REFLECT_PROTOCOL = '/axon/reflect/1.0.0';

/** The request line of /axon/reflect (from a stranger: validated). */
const ReflectRequest = z
  .object({
    want: z.literal('observed').optional(),
    /** Dial me back here (…/tcp/<port>): the reflector dials only the IP it sees the asker at. */
    dialback: z.string().max(200).optional(),
  })
  .loose();

/**
 * The /axon/reflect handler: one JSON line {observed}; then, when the asker wants a dial-back, a
 * second line {dialback: 'ok' | 'failed', error?} after dialing the asker's TCP listen address on
 * a new connection (never another IP than the one the asker is seen at: no third party is dialed).
 */
export function reflectHandler(o: {
  dialBack: (ma: Multiaddr, signal: AbortSignal) => Promise<void>;
  log: Logger;
}): (stream: Stream, connection: Connection) => Promise<void> {
  return async (stream, connection) => {
    const observed = connection.remoteAddr.toString().replace(/\/p2p\/[^/]+$/, '');
    // read the request line first, then answer; the asker closes
    let text = '';
    for await (const chunk of stream) {
      text += new TextDecoder().decode(chunk.subarray());
      if (text.includes('\n') || text.length > 512) break;
    }
    stream.send(new TextEncoder().encode(JSON.stringify({ observed }) + '\n'));
    let req: z.infer<typeof ReflectRequest> = {};
    try {
      req = ReflectRequest.parse(JSON.parse(text.split('\n')[0] || '{}'));
    } catch (e) {
      o.log.info({ peer: connection.remotePeer.toString(), err: String(e).slice(0, 200) }, 'reflect: bad request line');
    }
    if (req.dialback !== undefined) {
      let answer: { dialback: 'ok' | 'failed'; error?: string };
      try {
        const target = dialbackTarget(req.dialback, connection);
        await o.dialBack(target, AbortSignal.timeout(5000));
        answer = { dialback: 'ok' };
      } catch (e) {
        answer = { dialback: 'failed', error: (e as Error).message.slice(0, 200) };
      }
      o.log.debug({ peer: connection.remotePeer.toString(), ...answer }, 'reflect: dial-back');
      stream.send(new TextEncoder().encode(JSON.stringify(answer) + '\n'));
    }
    await stream.close().catch(() => undefined);
  };
}

/** The address to dial back: /ipX/<the IP the asker is seen at>/tcp/<port>/p2p/<asker>. */
function dialbackTarget(asked: string, connection: Connection): Multiaddr {
  const ma = multiaddr(asked);
  const comps = ma.getComponents();
  const ip = multiaddrIp(ma);
  if (!ip || comps.length !== 2 || comps[1]?.name !== 'tcp')
    throw new Error(`a dial-back address is /ip4|ip6/<ip>/tcp/<port>, got ${asked}`);
  const seen = multiaddrIp(connection.remoteAddr);
  if (ip !== seen) throw new Error(`dial-back only to the address the asker is seen at (${seen}), not ${ip}`);
  return multiaddr(`${ma.toString()}/p2p/${connection.remotePeer.toString()}`);
}

/** Ask a reflector over libp2p which address it sees us at (one connection, any of its addresses). */
export async function reflectViaPeer(
  libp2p: Libp2p,
  addrs: string | string[],
  signal?: AbortSignal,
  o: { dialback?: string } = {},
): Promise<{ observed: Endpoint; protocol: 'tcp' | 'udp'; dialback?: { ok: boolean; error?: string } }> {
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
  const want = o.dialback ? { want: 'observed', dialback: o.dialback } : { want: 'observed' };
  stream.send(new TextEncoder().encode(JSON.stringify(want) + '\n'));
  const onAbort = (): void => stream.abort(new Error('reflector did not answer in time'));
  sig.addEventListener('abort', onAbort, { once: true });
  let text = '';
  const lines = o.dialback ? 2 : 1;
  try {
    for await (const chunk of stream) {
      text += new TextDecoder().decode(chunk.subarray());
      if (text.split('\n').length > lines || text.length > 2048) break;
    }
  } catch (e) {
    if (!text.includes('\n')) throw e;
  } finally {
    sig.removeEventListener('abort', onAbort);
    stream.abort(new Error('done'));
  }
  const [first = '', second = ''] = text.split('\n');
  const parsed = JSON.parse(first) as { observed?: unknown };
  let dialback: { ok: boolean; error?: string } | undefined;
  if (o.dialback) {
    try {
      const d = JSON.parse(second) as { dialback?: unknown; error?: unknown };
      dialback = { ok: d.dialback === 'ok', ...(typeof d.error === 'string' ? { error: d.error } : {}) };
    } catch {
      dialback = { ok: false, error: 'no dial-back answer' };
    }
  }
  if (typeof parsed.observed !== 'string') throw new Error('reflector answered without an observed address');
  const ma = multiaddr(parsed.observed);
  const ip = multiaddrIp(ma);
  const comps = ma.getComponents();
  const port = Number(comps[1]?.value);
  if (!ip || !Number.isInteger(port)) throw new Error(`reflector answered an unusable address: ${parsed.observed}`);
  return {
    observed: { ip, port },
    protocol: comps[1]?.name === 'udp' ? 'udp' : 'tcp',
    ...(dialback ? { dialback } : {}),
  };
}

export class ReflectorUdp {
  /**
   * Two Binding responders on two ports: a peer that probes both from one socket learns its NAT's
   * mapping from this one reflector (the same mapped port for both = endpoint-independent), so one
   * public node is enough to tell a home's NAT.
   */
  private constructor(
    readonly socket: Socket,
    readonly alt: Socket,
    private readonly log: Logger,
    /** On a second public IPv4 address of this host: answers "change IP" requests. */
    readonly other?: { socket: Socket; ip: string },
  ) {
    for (const s of [socket, alt, ...(other ? [other.socket] : [])])
      s.on('message', (buf, rinfo) => this.#onMessage(s, buf, { ip: rinfo.address, port: rinfo.port }));
  }

  static async start(o: { host?: string; port?: number; log: Logger }): Promise<ReflectorUdp> {
    const main = await openUdp(o.port ?? 0, o.host);
    let alt: Socket | undefined;
    try {
      alt = await openUdp(0, o.host);
      // the address a 0.0.0.0 socket answers from is the primary one: the second is another
      const publics = Object.values(networkInterfaces())
        .flatMap((a) => a ?? [])
        .filter((a) => a.family === 'IPv4' && ipScope(a.address) === 'public')
        .map((a) => a.address);
      // (only for a reflector on all addresses: one bound to an address answers from that one)
      const all = o.host === undefined || o.host === '0.0.0.0' || o.host === '::';
      const second = all && publics.length > 1 ? publics[1] : undefined;
      const other = second ? { socket: await openUdp(0, second), ip: second } : undefined;
      return new ReflectorUdp(main, alt, o.log, other);
    } catch (e) {
      main.close();
      alt?.close();
      throw e;
    }
  }

  get port(): number {
    return this.socket.address().port;
  }

  get altPort(): number {
    return this.alt.address().port;
  }

  /** /ipX/<ip>/udp/<port>/p2p/<peer> per announced IP address: its main port, then its second. */
  announceAddrs(libp2pAddrs: string[]): string[] {
    const out = new Set<string>();
    for (const a of libp2pAddrs) {
      const ma = multiaddr(a);
      const ip = multiaddrIp(ma);
      const peer = ma.getComponents().find((c) => c.name === 'p2p')?.value;
      // not the second IP: our 0.0.0.0 sockets answer from the primary one (a NAT drops that), and
      // it is the "change IP" source of the filtering test
      if (!ip || ip === this.other?.ip) continue;
      for (const port of [this.port, this.altPort])
        out.add(`/${ip.includes(':') ? 'ip6' : 'ip4'}/${ip}/udp/${port}${peer ? `/p2p/${peer}` : ''}`);
    }
    return [...out];
  }

  #onMessage(socket: Socket, buf: Buffer, from: Endpoint): void {
    const m = parseStun(buf);
    if (!m || !isBindingRequest(m)) return;
    if (from.ip.includes(':') !== (socket.address().family === 'IPv6')) return;
    // CHANGE-REQUEST (RFC 5780): another IP only where we have one (else no answer: nobody was
    // told to ask), another port from our other socket
    let out = socket;
    if (m.changeIp) {
      if (!this.other || socket === this.other.socket) return;
      out = this.other.socket;
    } else if (m.changePort) out = socket === this.socket ? this.alt : this.socket;
    const otherAddr =
      this.other && socket !== this.other.socket
        ? { ip: this.other.ip, port: this.other.socket.address().port }
        : undefined;
    out.send(encodeBindingResponse(m.txId, from, otherAddr), from.port, from.ip);
    this.log.debug(
      { from: `${from.ip}:${from.port}`, changeIp: m.changeIp, changePort: m.changePort },
      'reflected a UDP probe',
    );
  }

  close(): void {
    this.socket.close();
    this.alt.close();
    this.other?.socket.close();
  }
}
