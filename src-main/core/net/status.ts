// Runs in: Node. Per-peer path status for users: which path each peer is on (direct LAN, direct
// WAN, hole-punched, relayed via X), RTT (ping on the connection in use), bytes in/out, attempts;
// a 'path' event (CustomEvent<PathChange>) whenever a peer's best path changes. Connections are
// recorded in SQLite (store/connections.ts) when a store is given.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Connection, Libp2p } from '@libp2p/interface';
import type { Logger } from '../log';
import type { ConnectionStore } from '../store/connections';
import { isOnLink, multiaddrIp } from './addresses';
import type { IcePair } from './ice-punch-types';
import type { PathChange, PathInfo, PathKind, PeerStatus } from './types';

export const PATH_RANK: Record<PathKind, number> = { 'direct-lan': 0, 'direct-wan': 1, 'hole-punched': 2, relayed: 3 };
/**
 * Among connections of the same kind, the cheaper transport first: a data channel (WebRTC: SCTP
 * and DTLS, one native call per message) cost a rebroadcaster ~9 % of its CPU in the mesh bench
 * where the same peers over TCP cost a fraction of it.
 */
const TRANSPORT_RANK: Record<string, number> = { tcp: 0, quic: 1, 'webrtc-direct': 2, webrtc: 3, circuit: 4 };
const transportRank = (t: string): number => TRANSPORT_RANK[t] ?? 5;
/** Whether connection path `a` is better than `b`: its kind first, then its transport. */
export function betterPath(a: PathInfo, b: PathInfo): boolean {
  const k = PATH_RANK[a.kind] - PATH_RANK[b.kind];
  return k !== 0 ? k < 0 : transportRank(a.transport) < transportRank(b.transport);
}
const PING = '/ipfs/ping/1.0.0';

interface Tracked {
  conn: Connection;
  path: PathInfo;
  rowId?: number;
  bytesIn: number;
  bytesOut: number;
  openedAt: number;
  requestId?: string;
}

interface PeerState {
  bytesIn: number; // closed connections' totals
  bytesOut: number;
  attempts: number;
  rttMs?: number;
  best?: PathInfo;
  since?: number;
}

/** Classify a libp2p connection. `pair` is the selected ICE pair of a punched WebRTC connection. */
export function classifyConnection(conn: Pick<Connection, 'remoteAddr' | 'limits'>, pair?: IcePair): PathInfo {
  const remoteAddr = conn.remoteAddr.toString();
  const names = conn.remoteAddr.getComponents().map((c) => c.name);
  if (conn.limits == null && names.includes('p2p-circuit') && names.includes('webrtc')) {
    // @libp2p/webrtc signaled through a relay, then ICE connected the peers themselves
    return { kind: 'hole-punched', remoteAddr, transport: 'webrtc' };
  }
  if (conn.limits != null || names.includes('p2p-circuit')) {
    const comps = conn.remoteAddr.getComponents();
    const ci = comps.findIndex((c) => c.name === 'p2p-circuit');
    const relay = comps
      .slice(0, ci)
      .reverse()
      .find((c) => c.name === 'p2p')?.value;
    return { kind: 'relayed', ...(relay ? { relay } : {}), remoteAddr, transport: 'circuit' };
  }
  const transport = names.includes('webrtc-direct')
    ? 'webrtc-direct'
    : names.includes('webrtc')
      ? 'webrtc'
      : names.includes('quic-v1')
        ? 'quic'
        : names.includes('tcp')
          ? 'tcp'
          : (names[1] ?? 'unknown');
  const ip = pair?.remote.address ?? multiaddrIp(conn.remoteAddr);
  if (pair) {
    if (ip && isOnLink(ip)) return { kind: 'direct-lan', remoteAddr, transport };
    const bothHost = pair.local.type === 'host' && pair.remote.type === 'host';
    return { kind: bothHost ? 'direct-wan' : 'hole-punched', remoteAddr, transport };
  }
  return { kind: ip && isOnLink(ip) ? 'direct-lan' : 'direct-wan', remoteAddr, transport };
}

/** A libp2p Connection with the byte counters patches/libp2p+3.3.11.patch adds. */
type CountedConnection = Connection & { bytesRead?: unknown; bytesWritten?: unknown };

/**
 * Raw bytes received and sent on a connection so far. Throws if the counters are missing (the
 * libp2p patches were not applied): the UI must never show 0 bytes for a busy connection.
 */
export function connectionBytes(conn: Connection): { bytesIn: number; bytesOut: number } {
  const c = conn as CountedConnection;
  if (typeof c.bytesRead !== 'number' || typeof c.bytesWritten !== 'number')
    throw new Error(
      'libp2p connection byte counters are missing: the patches in patches/ are not applied (run `npx patch-package`)',
    );
  return { bytesIn: c.bytesRead, bytesOut: c.bytesWritten };
}

export class PathTracker extends EventTarget {
  readonly #conns = new Map<string, Tracked>(); // by connection id
  readonly #peers = new Map<string, PeerState>();
  readonly #pairs = new Map<string, IcePair>(); // connection id → ICE pair
  readonly #requestIds = new Map<string, string>(); // peer → request id (for rows)
  readonly #kinds = new Map<string, PathKind>(); // connection id → kind the ladder determined
  /** Byte counters of connections whose data bypasses the maConn (WebRTC data channels). */
  readonly #counters = new Map<string, () => { bytesIn: number; bytesOut: number }>();
  #timer?: NodeJS.Timeout;
  #warnedCounters = false;

  constructor(
    private readonly libp2p: Libp2p,
    private readonly opts: { store?: ConnectionStore; log: Logger; pingIntervalMs: number },
  ) {
    super();
    // one 'path' listener per peer whose path is kept up (ladder upkeep) or awaited: a seller with
    // twenty buyers holds twenty — not a leak (Node warns past 10 by default)
    setMaxListeners(10_000, this);
    libp2p.addEventListener('connection:open', (e) => this.#onOpen(e.detail));
    libp2p.addEventListener('connection:close', (e) => this.#onClose(e.detail));
    for (const c of libp2p.getConnections()) this.#onOpen(c);
    if (opts.pingIntervalMs > 0) {
      this.#timer = setInterval(() => void this.pingAll(), opts.pingIntervalMs);
      this.#timer.unref();
    }
  }

  #peer(id: string): PeerState {
    let p = this.#peers.get(id);
    if (!p) {
      p = { bytesIn: 0, bytesOut: 0, attempts: 0 };
      this.#peers.set(id, p);
    }
    return p;
  }

  /** The ladder tells us the ICE pair of a punched connection and the request it serves. */
  annotate(
    conn: Connection,
    info: {
      pair?: IcePair;
      requestId?: string;
      counters?: () => { bytesIn: number; bytesOut: number };
      kind?: PathKind;
    },
  ): void {
    if (info.pair) this.#pairs.set(conn.id, info.pair);
    if (info.kind) this.#kinds.set(conn.id, info.kind);
    if (info.counters) this.#counters.set(conn.id, info.counters);
    if (info.requestId) this.#requestIds.set(conn.remotePeer.toString(), info.requestId);
    const t = this.#conns.get(conn.id);
    if (t) {
      t.path = this.#classify(conn);
      if (t.rowId !== undefined) this.opts.store?.updateConnection(t.rowId, { path: t.path.kind });
    }
    this.#recompute(conn.remotePeer.toString());
  }

  countAttempt(peer: string): void {
    this.#peer(peer).attempts++;
  }

  pathOf(conn: Connection): PathInfo {
    return this.#conns.get(conn.id)?.path ?? this.#classify(conn);
  }

  #classify(conn: Connection): PathInfo {
    const p = classifyConnection(conn, this.#pairs.get(conn.id));
    const kind = this.#kinds.get(conn.id);
    return kind ? { ...p, kind } : p;
  }

  #onOpen(conn: Connection): void {
    if (this.#conns.has(conn.id)) return;
    const peer = conn.remotePeer.toString();
    const path = this.#classify(conn);
    const t: Tracked = { conn, path, bytesIn: 0, bytesOut: 0, openedAt: Date.now() };
    try {
      t.rowId = this.opts.store?.openConnection({
        peerId: peer,
        requestId: this.#requestIds.get(peer),
        path: path.kind,
        relay: path.relay,
        remoteAddr: path.remoteAddr,
      });
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not record connection');
    }
    this.#conns.set(conn.id, t);
    this.#recompute(peer);
  }

  #onClose(conn: Connection): void {
    const t = this.#conns.get(conn.id);
    if (!t) return;
    const b = this.#bytes(t);
    t.bytesIn = b.bytesIn;
    t.bytesOut = b.bytesOut;
    this.#conns.delete(conn.id);
    this.#pairs.delete(conn.id);
    this.#kinds.delete(conn.id);
    this.#counters.delete(conn.id);
    const peer = conn.remotePeer.toString();
    const p = this.#peer(peer);
    p.bytesIn += t.bytesIn;
    p.bytesOut += t.bytesOut;
    if (t.rowId !== undefined) {
      try {
        this.opts.store?.updateConnection(t.rowId, { bytesIn: t.bytesIn, bytesOut: t.bytesOut });
        this.opts.store?.closeConnection(t.rowId, 'closed');
      } catch {
        /* db closed during shutdown */
      }
    }
    this.#recompute(peer);
  }

  /**
   * Raw bytes of a connection, as counted by its MultiaddrConnection (patches/libp2p+3.3.11.patch
   * and patches/@libp2p+utils+7.4.1.patch add `bytesRead`/`bytesWritten`). WebRTC data channels
   * bypass the MultiaddrConnection: the ladder hands their counters in through `annotate`.
   */
  #bytes(t: Tracked): { bytesIn: number; bytesOut: number } {
    let own = { bytesIn: t.bytesIn, bytesOut: t.bytesOut };
    try {
      own = connectionBytes(t.conn);
    } catch (err) {
      if (!this.#warnedCounters) this.opts.log.error({ err: (err as Error).message }, 'no byte counts');
      this.#warnedCounters = true;
    }
    const c = this.#counters.get(t.conn.id)?.();
    return c ? { bytesIn: Math.max(c.bytesIn, own.bytesIn), bytesOut: Math.max(c.bytesOut, own.bytesOut) } : own;
  }

  bestConnection(peer: string): Connection | undefined {
    let best: Tracked | undefined;
    for (const t of this.#conns.values()) {
      if (t.conn.remotePeer.toString() !== peer || t.conn.status !== 'open') continue;
      if (!best || betterPath(t.path, best.path)) best = t;
    }
    return best?.conn;
  }

  #recompute(peer: string): void {
    const p = this.#peer(peer);
    const conn = this.bestConnection(peer);
    const next = conn ? this.#conns.get(conn.id)!.path : undefined;
    const prev = p.best;
    if (prev?.kind === next?.kind && prev?.remoteAddr === next?.remoteAddr) return;
    p.best = next;
    p.since = next ? Date.now() : undefined;
    this.opts.log.info({ peer, from: prev?.kind, to: next?.kind, relay: next?.relay }, 'path changed');
    this.dispatchEvent(new CustomEvent<PathChange>('path', { detail: { peer, from: prev, to: next } }));
  }

  async ping(peer: string, signal?: AbortSignal): Promise<number | undefined> {
    const conn = this.bestConnection(peer);
    if (!conn) return undefined;
    const rtt = await pingConnection(conn, signal ?? AbortSignal.timeout(5000));
    this.#peer(peer).rttMs = rtt;
    const t = this.#conns.get(conn.id);
    if (t?.rowId !== undefined) {
      try {
        this.opts.store?.updateConnection(t.rowId, { rttMs: rtt, ...this.#bytes(t) });
      } catch {
        /* ignore */
      }
    }
    return rtt;
  }

  async pingAll(): Promise<void> {
    const peers = new Set([...this.#conns.values()].map((t) => t.conn.remotePeer.toString()));
    await Promise.allSettled([...peers].map((p) => this.ping(p)));
  }

  peerStatus(peer: string): PeerStatus {
    const p = this.#peer(peer);
    let bytesIn = p.bytesIn;
    let bytesOut = p.bytesOut;
    for (const t of this.#conns.values()) {
      if (t.conn.remotePeer.toString() !== peer) continue;
      const b = this.#bytes(t);
      bytesIn += b.bytesIn;
      bytesOut += b.bytesOut;
    }
    return {
      peer,
      connected: p.best !== undefined,
      ...(p.best ? { path: p.best } : {}),
      ...(p.rttMs !== undefined ? { rttMs: p.rttMs } : {}),
      bytesIn,
      bytesOut,
      attempts: p.attempts,
      ...(p.since !== undefined ? { since: p.since } : {}),
    };
  }

  status(): PeerStatus[] {
    return [...this.#peers.keys()].map((p) => this.peerStatus(p));
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

/** libp2p ping protocol on one specific connection (also a limited/relayed one). */
export async function pingConnection(conn: Connection, signal: AbortSignal): Promise<number> {
  const stream = await conn.newStream(PING, { signal, runOnLimitedConnection: true });
  try {
    const data = randomBytes(32);
    const start = performance.now();
    stream.send(data);
    let got = 0;
    for await (const chunk of stream) {
      got += chunk.byteLength;
      if (got >= 32) break;
      if (signal.aborted) throw signal.reason;
    }
    if (got < 32) throw new Error('ping stream ended early');
    return performance.now() - start;
  } finally {
    // not a graceful close: that waits for the remote's side, which the ping handler only ends later
    stream.abort(new Error('ping done'));
  }
}
