// Runs in: Node. createNetNode: the js-libp2p 3 node of an Axon installation. TCP and
// WebRTC-Direct share one port number (TCP and UDP); WebRTC (ICE) serves the hole punch and the
// in-band upgrade of relayed connections; circuit relay v2 client always, server in the relay role
// with limits for paid streaming; identify, ping, DCUtR, AutoNAT. The PeerId is the identity key.
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { createLibp2p, type Libp2p } from 'libp2p';
import { noise } from '@libp2p/noise';
import { webRTC, webRTCDirect } from '@libp2p/webrtc';
import { axonTcp } from './tcp';
import { axonYamux } from './muxer';
import { identify } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { dcutr } from '@libp2p/dcutr';
import { autoNAT } from '@libp2p/autonat';
import { multiaddr } from '@multiformats/multiaddr';
import type { ComponentLogger, Connection, PeerId, Upgrader } from '@libp2p/interface';
import { silentLogger } from '../log';
import { ConnectionStore } from '../store/connections';
import { makeAnnounceFilter } from './addresses';
import type { ConnectInfo, NatFiltering, NatMapping } from './connect-info';
import { connectViaSignaling, LadderSession, type LadderDeps } from './ladder';
import { PathTracker } from './status';
import { handleReflect, ReflectorUdp, reflectViaPeer, REFLECT_PROTOCOL } from './reflector';
import { discoverAddress, udpResponder } from './discovery';
import { iceServers } from './roles';
import { stunBinding } from './stun';
import type {
  ConnectOptions,
  ConnectResult,
  ConnectSession,
  NatReport,
  NetNode,
  NetNodeOptions,
  NodeAnnounceBody,
  PeerStatus,
  PrepareOptions,
  RelayLimits,
  Signaling,
} from './types';

export const RELAY_DEFAULTS: Required<RelayLimits> = {
  maxReservations: 128,
  durationLimitMs: 6 * 3600_000,
  dataLimitBytes: 8n * 1024n ** 3n,
  reservationTtlMs: 3600_000,
};

/** Normalise 'host:port' or 'stun:host:port' to 'stun:host:port'. */
export function stunUrl(s: string): string {
  return s.startsWith('stun:') ? s : `stun:${s}`;
}

async function portFree(host: string, port: number): Promise<boolean> {
  const tcpOk = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
  if (!tcpOk) return false;
  return new Promise<boolean>((resolve) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port number free for both TCP and UDP on `host`. */
export async function freeDualPort(host = '0.0.0.0'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + (randomBytes(2).readUInt16BE() % 40000);
    if (await portFree(host, port)) return port;
  }
  throw new Error('no port free for both TCP and UDP after 50 tries');
}

interface AxonComponents {
  upgrader: Upgrader;
  logger: ComponentLogger;
  transportManager: {
    listen(addrs: ReturnType<typeof multiaddr>[]): Promise<void>;
    dial(ma: ReturnType<typeof multiaddr>, o: { signal: AbortSignal }): Promise<import('@libp2p/interface').Connection>;
  };
}

class NetNodeImpl extends EventTarget implements NetNode {
  readonly peerId: PeerId;
  readonly tracker: PathTracker;
  readonly store?: ConnectionStore;
  readonly #sessions = new Set<LadderSession>();
  #nat: { mapping: NatMapping; publicIp?: string; filtering?: NatFiltering } = { mapping: 'unknown' };
  #lastReport?: NatReport;
  #iceSource?: () => string[];

  constructor(
    readonly libp2p: Libp2p,
    readonly port: number,
    private readonly opts: NetNodeOptions,
    private readonly components: AxonComponents,
    readonly reflectorUdp?: ReflectorUdp,
  ) {
    super();
    this.peerId = libp2p.peerId;
    const log = opts.log ?? silentLogger;
    this.store = opts.db ? new ConnectionStore(opts.db) : undefined;
    this.store?.closeDangling();
    this.tracker = new PathTracker(libp2p, { store: this.store, log, pingIntervalMs: opts.pingIntervalMs ?? 10_000 });
    this.tracker.addEventListener('path', (e) =>
      this.dispatchEvent(new CustomEvent('path', { detail: (e as CustomEvent).detail })),
    );
  }

  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map(String);
  }

  get reflectorUdpPort(): number | undefined {
    return this.reflectorUdp?.port;
  }

  /** Circuit addresses we hold (without /p2p/<self>). */
  relayAddrs(): string[] {
    return this.multiaddrs()
      .filter((a) => /\/p2p-circuit\/p2p\/[^/]+$/.test(a))
      .map((a) => a.replace(new RegExp(`/p2p/${this.peerId.toString()}$`), ''));
  }

  #localInfo(): Omit<ConnectInfo, 'ice'> {
    const self = `/p2p/${this.peerId.toString()}`;
    const direct = this.multiaddrs()
      .filter((a) => !a.includes('/p2p-circuit'))
      .map((a) => (a.endsWith(self) ? a.slice(0, -self.length) : a));
    // TCP first (cheapest to dial), then WebRTC-Direct; at most 6
    direct.sort((a, b) => Number(a.includes('webrtc')) - Number(b.includes('webrtc')));
    return { v: 1, addrs: direct.slice(0, 6), relays: this.relayAddrs().slice(0, 3), nat: this.#nat };
  }

  setIceServerSource(source: () => string[]): void {
    this.#iceSource = source;
  }

  iceServers(): string[] {
    const configured = (this.opts.stunServers ?? []).map(stunUrl);
    if (!this.#iceSource)
      return iceServers({ candidates: [], configured, ...(this.#lastReport ? { report: this.#lastReport } : {}) });
    try {
      return this.#iceSource();
    } catch {
      return configured;
    }
  }

  #deps(): LadderDeps {
    return {
      libp2p: this.libp2p,
      punch: this.components,
      // libjuice takes one STUN server per peer connection (at random from a list): the best one
      punchInit: { stunServers: this.iceServers().slice(0, 1), announceFilter: this.opts.announceFilter },
      tracker: this.tracker,
      store: this.store,
      log: this.opts.log ?? silentLogger,
      localInfo: () => this.#localInfo(),
      punchEnabled: this.opts.punch ?? true,
      transportDial: (ma, o) => this.components.transportManager.dial(ma, o),
    };
  }

  async prepareConnect(o: PrepareOptions): Promise<ConnectSession> {
    const s = new LadderSession(this.#deps(), o.peer, o.role, o.requestId);
    this.#sessions.add(s);
    const close = s.close.bind(s);
    s.close = () => {
      this.#sessions.delete(s);
      close();
    };
    return s.prepare(o.remote, o.ice ?? true);
  }

  async connectPeer(o: ConnectOptions & { signaling: Signaling }): Promise<ConnectResult> {
    const { result } = await connectViaSignaling(
      async (remote) =>
        (await this.prepareConnect({ peer: o.peer, role: o.role, remote, requestId: o.requestId })) as LadderSession,
      o.role,
      o.signaling,
      o,
    );
    return result;
  }

  status(): PeerStatus[] {
    return this.tracker.status();
  }

  peerStatus(peer: PeerId | string): PeerStatus {
    return this.tracker.peerStatus(peer.toString());
  }

  bestConnection(peer: PeerId | string): Connection | undefined {
    return this.tracker.bestConnection(peer.toString());
  }

  async observedProbe(token: Uint8Array, waitMs = 5000): Promise<{ ip: string; port: number } | undefined> {
    return this.reflectorUdp?.observedFor(token, waitMs);
  }

  async sendProbe(reflectorUdpAddr: string, token: Uint8Array): Promise<{ ip: string; port: number } | undefined> {
    const udp = udpResponder(reflectorUdpAddr);
    if (!udp) throw new Error(`not a reflector UDP address: ${reflectorUdpAddr}`);
    try {
      return (await stunBinding(udp.ep, { txId: token, timeoutMs: 2000 })).mapped;
    } catch {
      return undefined; // the reflector still saw the probe if it arrived; its report comes over the ledger
    }
  }

  ping(peer: PeerId | string, signal?: AbortSignal): Promise<number | undefined> {
    return this.tracker.ping(peer.toString(), signal);
  }

  announcement(ttlSec = 3600): NodeAnnounceBody | undefined {
    const roles: ('relay' | 'reflector')[] = [];
    if (this.opts.roles?.relay) roles.push('relay');
    if (this.opts.roles?.reflector) roles.push('reflector');
    if (roles.length === 0) return undefined;
    const addrs = this.multiaddrs().filter((a) => !a.includes('p2p-circuit'));
    if (this.reflectorUdp) addrs.push(...this.reflectorUdp.announceAddrs(addrs));
    return {
      type: 'NodeAnnounce',
      nonce: randomBytes(16),
      expiresAt: Math.floor(Date.now() / 1000) + ttlSec,
      roles,
      multiaddrs: addrs.slice(0, 8),
    };
  }

  async discoverAddress(
    o: { stunServers?: string[]; reflectors?: string[]; signal?: AbortSignal } = {},
  ): Promise<NatReport> {
    const report = await discoverAddress({
      stunServers: o.stunServers ?? this.opts.stunServers ?? [],
      reflectors: o.reflectors ?? [],
      reflectPeer: (addr, signal) => reflectViaPeer(this.libp2p, addr, signal),
      signal: o.signal,
    });
    this.#lastReport = report;
    this.#nat = {
      mapping: report.mapping,
      ...(report.publicIp ? { publicIp: report.publicIp } : {}),
      ...(report.filtering ? { filtering: report.filtering } : {}),
    };
    return report;
  }

  get natReport(): NatReport | undefined {
    return this.#lastReport;
  }

  async useRelays(relays: string[], timeoutMs = 10_000): Promise<string[]> {
    // one at a time: concurrent listens on the circuit transport were seen to never resolve
    for (const r of relays) {
      try {
        const circuit = multiaddr(r.includes('p2p-circuit') ? r : `${r}/p2p-circuit`);
        await Promise.race([
          this.components.transportManager.listen([circuit]),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error(`no reservation within ${timeoutMs} ms`)), timeoutMs).unref(),
          ),
        ]);
      } catch (err) {
        (this.opts.log ?? silentLogger).warn({ relay: r, err: String(err) }, 'relay reservation failed');
      }
    }
    return this.relayAddrs();
  }

  async stop(): Promise<void> {
    for (const s of this.#sessions) s.close();
    this.tracker.stop();
    this.reflectorUdp?.close();
    await this.libp2p.stop();
  }
}

export async function createNetNode(opts: NetNodeOptions): Promise<NetNode> {
  const host = opts.host ?? '0.0.0.0';
  const port = opts.listenPort && opts.listenPort > 0 ? opts.listenPort : await freeDualPort(host);
  const fam = host.includes(':') ? 'ip6' : 'ip4';
  const relayRole = opts.roles?.relay;
  const limits = { ...RELAY_DEFAULTS, ...(typeof relayRole === 'object' ? relayRole : {}) };
  const rtcConfiguration = {
    iceServers: (opts.stunServers ?? []).length ? [{ urls: (opts.stunServers ?? []).map(stunUrl) }] : [],
  };
  let captured: AxonComponents | undefined;
  const webrtcDirectOn = opts.webrtcDirect ?? false;

  const services: Record<string, (components: never) => unknown> = {
    identify: identify(),
    ping: ping({ maxInboundStreams: 8, maxOutboundStreams: 8 }),
    dcutr: dcutr(),
    autoNAT: autoNAT(),
    axon: (components: AxonComponents) => {
      captured = components;
      return {};
    },
  };
  if (relayRole) {
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: limits.maxReservations,
        reservationTtl: limits.reservationTtlMs,
        defaultDurationLimit: limits.durationLimitMs,
        defaultDataLimit: limits.dataLimitBytes,
        applyDefaultLimit: true,
      },
      maxInboundHopStreams: 256,
      maxOutboundStopStreams: 256,
    }) as never;
  }

  const libp2p = await createLibp2p({
    privateKey: opts.identity.privateKey,
    addresses: {
      listen: [
        `/${fam}/${host}/tcp/${port}`,
        ...(webrtcDirectOn ? [`/${fam}/${host}/udp/${port}/webrtc-direct`] : []),
        '/webrtc',
      ],
      announce: opts.announce ?? [],
      announceFilter: makeAnnounceFilter(opts.announceFilter) as never,
    },
    transports: [
      axonTcp(),
      ...(webrtcDirectOn ? [webRTCDirect({ rtcConfiguration })] : []),
      webRTC({ rtcConfiguration }),
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [axonYamux()],
    connectionManager: { maxConnections: 512 },
    services: services as never,
  });
  if (!captured) throw new Error('libp2p did not construct the axon service');

  let reflectorUdp: ReflectorUdp | undefined;
  if (opts.roles?.reflector) {
    await libp2p.handle(REFLECT_PROTOCOL, handleReflect, { runOnLimitedConnection: false });
    const udpPort = typeof opts.roles.reflector === 'object' ? opts.roles.reflector.udpPort : undefined;
    reflectorUdp = await ReflectorUdp.start({ host, port: udpPort ?? 0, log: opts.log ?? silentLogger });
  }
  return new NetNodeImpl(libp2p, port, opts, captured, reflectorUdp);
}
