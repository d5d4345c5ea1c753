// Runs in: Node. A small STUN client (RFC 5389 Binding) with the RFC 5780 NAT behaviour tests
// (mapping; filtering via CHANGE-REQUEST), and the Binding responder codec the reflector uses.
// No dependency: the wire format is 20 bytes of header plus TLV attributes.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';

export const MAGIC = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR = {
  MAPPED: 0x0001,
  CHANGE_REQUEST: 0x0003,
  CHANGED: 0x0005,
  XOR_MAPPED: 0x0020,
  RESPONSE_ORIGIN: 0x802b,
  OTHER: 0x802c,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
};
/** RFC 5389 §15.5: FINGERPRINT = CRC-32 of the message up to it, XORed with this. */
const FINGERPRINT_XOR = 0x5354554e;

export interface Endpoint {
  ip: string;
  port: number;
}

export interface StunMessage {
  type: number;
  txId: Uint8Array;
  mapped?: Endpoint;
  other?: Endpoint;
  origin?: Endpoint;
  changeIp?: boolean;
  changePort?: boolean;
  /** The message carried a FINGERPRINT attribute (and it matched: a wrong one fails parseStun). */
  fingerprint?: boolean;
}

export function parseHostPort(s: string): Endpoint {
  const t = s.replace(/^stun:/, '');
  const m = t.match(/^\[?([^\]]+?)\]?:(\d+)$/);
  if (!m) return { ip: t, port: 3478 };
  return { ip: m[1]!, port: Number(m[2]) };
}

export function encodeBindingRequest(txId: Uint8Array, change?: { ip?: boolean; port?: boolean }): Buffer {
  const attrs: Buffer[] = [];
  if (change && (change.ip || change.port)) {
    const a = Buffer.alloc(8);
    a.writeUInt16BE(ATTR.CHANGE_REQUEST, 0);
    a.writeUInt16BE(4, 2);
    a.writeUInt32BE((change.ip ? 4 : 0) | (change.port ? 2 : 0), 4);
    attrs.push(a);
  }
  return stunMessage(BINDING_REQUEST, txId, Buffer.concat(attrs));
}

/** A STUN message: the 20-byte header (type, length, magic cookie, transaction id), then the body. */
function stunMessage(type: number, txId: Uint8Array, body: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(body.length, 2);
  h.writeUInt32BE(MAGIC, 4);
  Buffer.from(txId).copy(h, 8);
  return Buffer.concat([h, body]);
}

function encodeAddrAttr(type: number, ep: Endpoint, txId: Uint8Array, xor: boolean): Buffer {
  const v4 = isIPv4(ep.ip);
  const a = Buffer.alloc(4 + (v4 ? 8 : 20));
  a.writeUInt16BE(type, 0);
  a.writeUInt16BE(v4 ? 8 : 20, 2);
  a.writeUInt8(v4 ? 1 : 2, 5);
  a.writeUInt16BE(xor ? ep.port ^ (MAGIC >>> 16) : ep.port, 6);
  const ipBytes = v4 ? Buffer.from(ep.ip.split('.').map(Number)) : ipv6ToBytes(ep.ip);
  const key = Buffer.concat([Buffer.alloc(4), Buffer.from(txId)]);
  key.writeUInt32BE(MAGIC, 0);
  for (let i = 0; i < ipBytes.length; i++) a[8 + i] = xor ? ipBytes[i]! ^ key[i]! : ipBytes[i]!;
  return a;
}

const SOFTWARE = Buffer.from('axon reflector');

/**
 * The reflector's Binding success response: XOR-MAPPED-ADDRESS (what ICE agents such as libjuice
 * read), MAPPED-ADDRESS (RFC 3489 clients), SOFTWARE, and FINGERPRINT last (RFC 5389 §7.3: ICE
 * agents send it and expect it back; libjuice checks it when present).
 */
export function encodeBindingResponse(txId: Uint8Array, observed: Endpoint, other?: Endpoint): Buffer {
  const sw = Buffer.alloc(4 + Math.ceil(SOFTWARE.length / 4) * 4);
  sw.writeUInt16BE(ATTR.SOFTWARE, 0);
  sw.writeUInt16BE(SOFTWARE.length, 2);
  SOFTWARE.copy(sw, 4);
  const body = Buffer.concat([
    encodeAddrAttr(ATTR.XOR_MAPPED, observed, txId, true),
    encodeAddrAttr(ATTR.MAPPED, observed, txId, false),
    // RFC 5780: where a CHANGE-REQUEST's answer comes from (only when that is another IP)
    ...(other ? [encodeAddrAttr(ATTR.OTHER, other, txId, false)] : []),
    sw,
  ]);
  return withFingerprint(stunMessage(BINDING_SUCCESS, txId, body));
}

/** Append FINGERPRINT: the header's length counts it, the CRC covers everything before it. */
export function withFingerprint(msg: Buffer): Buffer {
  const out = Buffer.alloc(msg.length + 8);
  msg.copy(out);
  out.writeUInt16BE(msg.length - 20 + 8, 2);
  out.writeUInt16BE(ATTR.FINGERPRINT, msg.length);
  out.writeUInt16BE(4, msg.length + 2);
  out.writeUInt32BE((crc32(out.subarray(0, msg.length)) ^ FINGERPRINT_XOR) >>> 0, msg.length + 4);
  return out;
}

function ipv6ToBytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}

function bytesToIpv6(b: Buffer): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
  return g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function decodeAddr(v: Buffer, txId: Uint8Array, xor: boolean): Endpoint | undefined {
  if (v.length < 8) return undefined;
  const fam = v.readUInt8(1);
  const port = xor ? v.readUInt16BE(2) ^ (MAGIC >>> 16) : v.readUInt16BE(2);
  const key = Buffer.concat([Buffer.alloc(4), Buffer.from(txId)]);
  key.writeUInt32BE(MAGIC, 0);
  const len = fam === 1 ? 4 : fam === 2 ? 16 : 0;
  if (len === 0 || v.length < 4 + len) return undefined;
  const ip = Buffer.alloc(len);
  for (let i = 0; i < len; i++) ip[i] = xor ? v[4 + i]! ^ key[i]! : v[4 + i]!;
  return { ip: fam === 1 ? Array.from(ip).join('.') : bytesToIpv6(ip), port };
}

export function parseStun(buf: Buffer): StunMessage | undefined {
  if (buf.length < 20 || buf.readUInt32BE(4) !== MAGIC || (buf[0]! & 0xc0) !== 0) return undefined;
  const type = buf.readUInt16BE(0);
  const len = buf.readUInt16BE(2);
  if (buf.length < 20 + len) return undefined;
  const txId = Uint8Array.from(buf.subarray(8, 20));
  const msg: StunMessage = { type, txId };
  let off = 20;
  while (off + 4 <= 20 + len) {
    const t = buf.readUInt16BE(off);
    const l = buf.readUInt16BE(off + 2);
    const v = buf.subarray(off + 4, off + 4 + l);
    if (t === ATTR.XOR_MAPPED) msg.mapped = decodeAddr(v, txId, true) ?? msg.mapped;
    else if (t === ATTR.MAPPED && !msg.mapped) msg.mapped = decodeAddr(v, txId, false);
    else if (t === ATTR.OTHER || (t === ATTR.CHANGED && !msg.other)) msg.other = decodeAddr(v, txId, false);
    else if (t === ATTR.RESPONSE_ORIGIN) msg.origin = decodeAddr(v, txId, false);
    else if (t === ATTR.FINGERPRINT) {
      if (l !== 4 || off + 8 > buf.length) return undefined;
      // the CRC covers the message up to this attribute, with the header's length as sent
      if ((crc32(buf.subarray(0, off)) ^ FINGERPRINT_XOR) >>> 0 !== buf.readUInt32BE(off + 4)) return undefined;
      msg.fingerprint = true;
      break; // FINGERPRINT is the last attribute
    } else if (t === ATTR.CHANGE_REQUEST && l >= 4) {
      const f = v.readUInt32BE(0);
      msg.changeIp = (f & 4) !== 0;
      msg.changePort = (f & 2) !== 0;
    }
    off += 4 + Math.ceil(l / 4) * 4;
  }
  return msg;
}

export const isBindingRequest = (m: StunMessage): boolean => m.type === BINDING_REQUEST;

export interface StunResult {
  server: Endpoint;
  mapped: Endpoint;
  other?: Endpoint;
  localPort: number;
  rttMs: number;
}

/** Open a UDP socket bound to `port` (0 = any) on all interfaces. */
export function openUdp(port = 0, host?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: host?.includes(':') ? 'udp6' : 'udp4' });
    s.once('error', reject);
    s.bind(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** One Binding transaction (RFC 5389 retransmits: 100, 200, 400… ms) from `socket`. */
export async function stunBinding(
  server: string | Endpoint,
  o: {
    socket?: Socket;
    timeoutMs?: number;
    change?: { ip?: boolean; port?: boolean };
    signal?: AbortSignal;
    txId?: Uint8Array;
  } = {},
): Promise<StunResult> {
  const ep = typeof server === 'string' ? parseHostPort(server) : server;
  const socket = o.socket ?? (await openUdp());
  if (o.txId && o.txId.length !== 12) throw new Error(`a STUN transaction id has 12 bytes, got ${o.txId.length}`);
  const txId = o.txId ? Buffer.from(o.txId) : randomBytes(12);
  const req = encodeBindingRequest(txId, o.change);
  const timeoutMs = o.timeoutMs ?? 1500;
  const start = performance.now();
  try {
    return await new Promise<StunResult>((resolve, reject) => {
      let rto = 100;
      let timer: NodeJS.Timeout;
      const send = (): void => {
        socket.send(req, ep.port, ep.ip);
        timer = setTimeout(send, (rto = Math.min(rto * 2, 1600)));
      };
      const deadline = setTimeout(
        () => finish(new Error(`no STUN answer from ${ep.ip}:${ep.port} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onMsg = (buf: Buffer): void => {
        const m = parseStun(buf);
        if (!m || Buffer.compare(Buffer.from(m.txId), txId) !== 0) return;
        if (m.type !== BINDING_SUCCESS || !m.mapped)
          return finish(new Error(`STUN error response 0x${m.type.toString(16)} from ${ep.ip}:${ep.port}`));
        finish(undefined, {
          server: ep,
          mapped: m.mapped,
          ...(m.other ? { other: m.other } : {}),
          localPort: socket.address().port,
          rttMs: performance.now() - start,
        });
      };
      const onAbort = (): void => finish(new Error('aborted'));
      const finish = (err?: Error, r?: StunResult): void => {
        clearTimeout(timer);
        clearTimeout(deadline);
        socket.off('message', onMsg);
        o.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(r!);
      };
      socket.on('message', onMsg);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      send();
    });
  } finally {
    if (!o.socket) socket.close();
  }
}

export type MappingBehaviour =
  'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'none' | 'unknown';
export type FilteringBehaviour =
  'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';

export interface MappingTestResult {
  server: Endpoint;
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
  /** Mapped address of test I. */
  mapped?: Endpoint;
  localPort?: number;
  /** The mapped address seen by each server address tried (for the consensus). */
  observations: { server: Endpoint; mapped: Endpoint; localPort: number }[];
  error?: string;
}

/** RFC 5780 §4.3 (mapping) and §4.4 (filtering) from one local socket. Needs OTHER-ADDRESS for the full test. */
export async function stunMappingTest(
  server: string,
  o: { localIps?: string[]; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<MappingTestResult> {
  const ep = parseHostPort(server);
  const socket = await openUdp();
  const timeoutMs = o.timeoutMs ?? 1500;
  const obs: MappingTestResult['observations'] = [];
  const res: MappingTestResult = { server: ep, mapping: 'unknown', filtering: 'unknown', observations: obs };
  try {
    const t1 = await stunBinding(ep, { socket, timeoutMs, signal: o.signal });
    obs.push({ server: ep, mapped: t1.mapped, localPort: t1.localPort });
    res.mapped = t1.mapped;
    res.localPort = t1.localPort;
    const local = o.localIps ?? localIps();
    if (local.includes(t1.mapped.ip) && t1.mapped.port === t1.localPort) res.mapping = 'none';
    if (!t1.other) return res;
    if (res.mapping !== 'none') {
      const t2 = await stunBinding({ ip: t1.other.ip, port: ep.port }, { socket, timeoutMs, signal: o.signal });
      obs.push({ server: { ip: t1.other.ip, port: ep.port }, mapped: t2.mapped, localPort: t2.localPort });
      if (sameEp(t2.mapped, t1.mapped)) res.mapping = 'endpoint-independent';
      else {
        const t3 = await stunBinding(t1.other, { socket, timeoutMs, signal: o.signal });
        obs.push({ server: t1.other, mapped: t3.mapped, localPort: t3.localPort });
        res.mapping = sameEp(t3.mapped, t2.mapped) ? 'address-dependent' : 'address-and-port-dependent';
      }
    }
    // filtering: ask the server to answer from its other IP and port, then from its other port
    const ok = (change: { ip?: boolean; port?: boolean }): Promise<boolean> =>
      stunBinding(ep, { socket, timeoutMs: Math.min(timeoutMs, 800), change, signal: o.signal }).then(
        () => true,
        () => false,
      );
    if (await ok({ ip: true, port: true })) res.filtering = 'endpoint-independent';
    else res.filtering = (await ok({ port: true })) ? 'address-dependent' : 'address-and-port-dependent';
    return res;
  } catch (err) {
    res.error = (err as Error).message;
    return res;
  } finally {
    socket.close();
  }
}

/**
 * RFC 5780 §4.4 filtering against an Axon reflector (a Binding responder with two ports on one IP,
 * and a third socket on another IP when its host has one, named in OTHER-ADDRESS). From one fresh
 * socket that has sent only to `ep`: an answer from the other IP and port (test II) means
 * endpoint-independent filtering (full cone); else an answer from the other port only (test III)
 * means address-dependent filtering — or, when the reflector has one IP (`bound`), at least that:
 * it cannot tell endpoint-independent from address-dependent; no answer: address-and-port-dependent.
 */
export async function reflectorFilteringTest(
  ep: Endpoint,
  o: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ filtering: FilteringBehaviour; bound: boolean; mapped?: Endpoint; localPort?: number }> {
  const socket = await openUdp();
  const timeoutMs = o.timeoutMs ?? 1500;
  try {
    const t1 = await stunBinding(ep, { socket, timeoutMs, signal: o.signal }).catch(() => undefined);
    if (!t1) return { filtering: 'unknown', bound: false };
    const ok = (change: { ip?: boolean; port?: boolean }): Promise<boolean> =>
      stunBinding(ep, { socket, timeoutMs: Math.min(timeoutMs, 800), change, signal: o.signal }).then(
        () => true,
        () => false,
      );
    const at = { mapped: t1.mapped, localPort: t1.localPort };
    if (t1.other && t1.other.ip !== ep.ip && (await ok({ ip: true, port: true })))
      return { filtering: 'endpoint-independent', bound: false, ...at };
    // with one IP, endpoint-independent filtering looks the same as address-dependent: say the
    // lower bound (what was seen) and flag it
    if (await ok({ port: true }))
      return { filtering: 'address-dependent', bound: !t1.other || t1.other.ip === ep.ip, ...at };
    return { filtering: 'address-and-port-dependent', bound: false, ...at };
  } finally {
    socket.close();
  }
}

const sameEp = (a: Endpoint, b: Endpoint): boolean => a.ip === b.ip && a.port === b.port;

export function localIps(): string[] {
  return Object.values(networkInterfaces()).flatMap((addrs) => (addrs ?? []).map((a) => a.address));
}
