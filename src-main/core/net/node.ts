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
import { circuitRelayServer, circuitRelayTransport, RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2';
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
import { DEFAULT_BIRTHDAY_BUDGET } from './ladder-birthday';
import { type ReflectorUdp, reflectViaPeer } from './reflector';
import { discoverAddress } from './discovery';
import { RoleService, stunUrl, type RoleServiceInit } from './role-service';
import type { RelayMeter, RelayUse } from './relay-meter';
import { PortMapper, portMapOff, type PortMapStatus } from './portmap';
import { PortMapStore } from '../store/portmap';
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
  RoleMode,
  RoleState,
  Signaling,
} from './types';

export const RELAY_DEFAULTS: Required<RelayLimits> = {
  maxReservations: 128,
  durationLimitMs: 6 * 3600_000,
  dataLimitBytes: 8n * 1024n ** 3n,
  reservationTtlMs: 3600_000,
  totalBytesPerSec: 0,
  dailyBytes: 0n,
};

/** A role option (boolean, mode or limits object) → its mode. */
export function roleMode(v: unknown): RoleMode {
  if (v === 'auto' || v === 'on' || v === 'off') return v;
  return v ? 'on' : 'off';
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
  readonly roles: RoleService;
  readonly #sessions = new Set<LadderSession>();
  #nat: { mapping: NatMapping; publicIp?: string; filtering?: NatFiltering } = { mapping: 'unknown' };
  #lastReport?: NatReport;
  #portMapper?: PortMapper;

  constructor(
    readonly libp2p: Libp2p,
    readonly port: number,
    private readonly opts: NetNodeOptions,
    private readonly components: AxonComponents,
    roleInit: RoleServiceInit & { host: string },
  ) {
    super();
    this.peerId = libp2p.peerId;
    const log = opts.log ?? silentLogger;
    this.roles = new RoleService(
      {
        libp2p,
        dial: (ma, o) => components.transportManager.dial(ma, o),
        port,
        host: roleInit.host,
        log,
        stunServers: opts.stunServers ?? [],
        natReport: () => this.#lastReport,
      },
      roleInit,
    );
    this.store = opts.db ? new ConnectionStore(opts.db) : undefined;
    this.store?.closeDangling();
    this.tracker = new PathTracker(libp2p, { store: this.store, log, pingIntervalMs: opts.pingIntervalMs ?? 10_000 });
    this.tracker.addEventListener('path', (e) =>
      this.dispatchEvent(new CustomEvent('path', { detail: (e as CustomEvent).detail })),
    );
  }

  multiaddrs(): string[] {
    // the router's mapped port first: the one direct address a stranger can dial (portmap.ts)
    const mapped = (this.#portMapper?.addrs() ?? []).map((a) => `${a}/p2p/${this.peerId.toString()}`);
    return [
      ...mapped,
      ...this.libp2p
        .getMultiaddrs()
        .map(String)
        .filter((a) => !mapped.includes(a)),
    ];
  }

  /** Ask the router for a port mapping (NAT-PMP, then UPnP-IGD) and keep it; portmap.ts. */
  startPortMapping(o: ConstructorParameters<typeof PortMapper>[0]): Promise<PortMapStatus> {
    this.#portMapper = new PortMapper(o);
    return this.#portMapper.start();
  }

  portMapping(): PortMapStatus {
    return this.#portMapper?.status() ?? portMapOff(this.port);
  }

  get reflectorUdpPort(): number | undefined {
    return this.roles.reflectorUdp?.port;
  }

  get reflectorUdp(): ReflectorUdp | undefined {
    return this.roles.reflectorUdp;
  }

  get inboundDirectSeen(): boolean {
    return this.roles.inboundDirectSeen;
  }

  roleState(): { relay: RoleState; reflector: RoleState } {
    return this.roles.roleState();
  }

  get relayMeter(): RelayMeter | undefined {
    return this.roles.relayMeter;
  }

  relayUse(): RelayUse | undefined {
    return this.roles.relayMeter?.use();
  }

  startRoles(): Promise<void> {
    return this.roles.start();
  }

  setAutoRole(role: 'relay' | 'reflector', active: boolean, reason: string): Promise<void> {
    return this.roles.setAutoRole(role, active, reason);
  }

  requestDialback(reflectorAddrs: string[], publicIp: string, signal?: AbortSignal): Promise<boolean> {
    return this.roles.requestDialback(reflectorAddrs, publicIp, signal);
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
    this.roles.setIceServerSource(source);
  }

  iceServers(): string[] {
    return this.roles.iceServers();
  }

  #deps(): LadderDeps {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below has its own `this`
    const node = this;
    return {
      libp2p: this.libp2p,
      punch: this.components,
      // libjuice takes one STUN server per peer connection (at random from a list): the best one —
      // looked up at each use, so a further punch round gathers with the servers known by then
      get punchInit() {
        return { stunServers: node.roles.iceForPunch(), announceFilter: node.opts.announceFilter };
      },
      tracker: this.tracker,
      store: this.store,
      log: this.opts.log ?? silentLogger,
      localInfo: () => this.#localInfo(),
      punchEnabled: this.opts.punch ?? true,
      birthday: this.opts.birthday === false ? false : { ...DEFAULT_BIRTHDAY_BUDGET, ...this.opts.birthday },
      transportDial: (ma, o) => this.components.transportManager.dial(ma, o),
    };
  }

  async prepareConnect(o: PrepareOptions): Promise<ConnectSession> {
    await this.roles.liveIceServer();
    const s = new LadderSession(this.#deps(), o.peer, o.role, o.requestId, o.relayAllowed);
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

  ping(peer: PeerId | string, signal?: AbortSignal): Promise<number | undefined> {
    return this.tracker.ping(peer.toString(), signal);
  }

  announcement(ttlSec = 3600): NodeAnnounceBody | undefined {
    return this.roles.announcement(this.multiaddrs(), ttlSec);
  }

  async discoverAddress(
    o: { stunServers?: string[]; reflectors?: string[]; signal?: AbortSignal } = {},
  ): Promise<NatReport> {
    const report = await discoverAddress({
      stunServers: o.stunServers ?? this.opts.stunServers ?? [],
      reflectors: o.reflectors ?? [],
      reflectPeer: (addr, signal) => reflectViaPeer(this.libp2p, addr, signal),
      signal: o.signal,
      ...(this.#lastReport ? { previous: this.#lastReport } : {}),
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
    this.roles.stop();
    await this.#portMapper?.stop();
    await this.libp2p.stop();
  }
}

function saveQuietly(store: PortMapStore, st: PortMapStatus): void {
  try {
    store.save(st);
  } catch {
    /* the database closed under a late renewal: nothing to show it to */
  }
}

export async function createNetNode(opts: NetNodeOptions): Promise<NetNode> {
  const host = opts.host ?? '0.0.0.0';
  const port = opts.listenPort && opts.listenPort > 0 ? opts.listenPort : await freeDualPort(host);
  const fam = host.includes(':') ? 'ip6' : 'ip4';
  const relayRole = opts.roles?.relay;
  const relayMode = roleMode(relayRole);
  const reflectorRole = opts.roles?.reflector;
  const reflectorMode = roleMode(reflectorRole);
  const limits = {
    ...RELAY_DEFAULTS,
    ...(typeof relayRole === 'object' ? relayRole : {}),
    ...opts.roles?.relayLimits,
  };
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
  // built unless 'off'; in 'auto' its hop protocol is registered only while the role serves
  if (relayMode !== 'off') {
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
    // libp2p's connection monitor pings every connection every 10 s and ABORTS it when a ping
    // takes more than ~5 s: on a busy machine that killed healthy connections carrying streams
    // (mesh bench: rebroadcasters' buyers lost their stream "aborted due to timeout" and failed
    // over). Liveness is decided where it is known: the stream protocol's own PING/PONG and stall
    // watchdogs (market), the ladder's upkeep; RTT for the Connections screen is PathTracker's.
    connectionMonitor: { enabled: false },
    services: services as never,
  });
  if (!captured) throw new Error('libp2p did not construct the axon service');

  if (relayMode === 'auto') await libp2p.unhandle(RELAY_V2_HOP_CODEC);
  const udpPort = typeof reflectorRole === 'object' ? reflectorRole.udpPort : undefined;
  const node = new NetNodeImpl(libp2p, port, opts, captured, {
    relay: relayMode,
    reflector: reflectorMode,
    host,
    ...(udpPort !== undefined ? { udpPort } : {}),
    relayCap: {
      ...(limits.totalBytesPerSec ? { bytesPerSec: limits.totalBytesPerSec } : {}),
      ...(limits.dailyBytes ? { dailyBytes: limits.dailyBytes } : {}),
    },
  });
  try {
    await node.startRoles();
  } catch (e) {
    await node.stop().catch(() => undefined);
    throw e;
  }
  // a node listening on loopback only has nothing a router could forward to
  const pm = opts.portMapping;
  const pmStore = opts.db ? new PortMapStore(opts.db) : undefined;
  if (pm && !/^(127\.|::1$|localhost$)/.test(host)) {
    void node.startPortMapping({
      port,
      ...(opts.log ? { log: opts.log.child({ mod: 'portmap' }) } : {}),
      ...(typeof pm === 'object' ? pm : {}),
      ...(pmStore ? { onChange: (st: PortMapStatus) => saveQuietly(pmStore, st) } : {}),
    });
  } else if (pmStore) saveQuietly(pmStore, portMapOff(port));
  return node;
}
