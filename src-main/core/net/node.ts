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
import type { ComponentLogger, Connection, PeerId, Stream, Upgrader } from '@libp2p/interface';
import { silentLogger, type Logger } from '../log';
import { ConnectionStore } from '../store/connections';
import { makeAnnounceFilter } from './addresses';
import type { ConnectInfo, NatFiltering, NatMapping } from './connect-info';
import { connectViaSignaling, LadderSession, type LadderDeps } from './ladder';
import { PathTracker } from './status';
import { reflectHandler, ReflectorUdp, reflectViaPeer, REFLECT_PROTOCOL } from './reflector';
import { discoverAddress, udpResponder } from './discovery';
import { iceServers } from './roles';
import { parseHostPort, stunBinding } from './stun';
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
};

/** A role option (boolean, mode or limits object) → its mode. */
export function roleMode(v: unknown): RoleMode {
  if (v === 'auto' || v === 'on' || v === 'off') return v;
  return v ? 'on' : 'off';
}

const HOP_STREAMS = {
  maxInboundStreams: 256,
  maxOutboundStreams: 256,
  runOnLimitedConnection: true,
  force: true,
} as const;

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
  #reflectorUdp?: ReflectorUdp;
  #roles: { relay: RoleState; reflector: RoleState };
  #inboundDirect = false;
  #roleChange: Promise<void> = Promise.resolve();
  #portMapper?: PortMapper;

  constructor(
    readonly libp2p: Libp2p,
    readonly port: number,
    private readonly opts: NetNodeOptions,
    private readonly components: AxonComponents,
    private readonly roleInit: { relay: RoleMode; reflector: RoleMode; udpPort?: number; host: string },
  ) {
    super();
    this.peerId = libp2p.peerId;
    const log = opts.log ?? silentLogger;
    const initial = (mode: RoleMode): RoleState => ({
      mode,
      active: false,
      reason: mode === 'off' ? 'off in the settings' : 'not started yet',
    });
    this.#roles = { relay: initial(roleInit.relay), reflector: initial(roleInit.reflector) };
    // someone dialed us directly: proof that our listen address is reachable from them
    libp2p.addEventListener('connection:open', (e) => {
      const c = e.detail;
      const a = c.remoteAddr.toString();
      if (c.direction === 'inbound' && !a.includes('p2p-circuit') && !a.includes('/webrtc')) this.#inboundDirect = true;
    });
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
    return this.#reflectorUdp?.port;
  }

  get reflectorUdp(): ReflectorUdp | undefined {
    return this.#reflectorUdp;
  }

  get inboundDirectSeen(): boolean {
    return this.#inboundDirect;
  }

  roleState(): { relay: RoleState; reflector: RoleState } {
    return { relay: { ...this.#roles.relay }, reflector: { ...this.#roles.reflector } };
  }

  /** Start or stop serving a role (serialised: concurrent calls run one after the other). */
  #setRole(role: 'relay' | 'reflector', active: boolean, reason: string): Promise<void> {
    const run = async (): Promise<void> => {
      const st = this.#roles[role];
      if (st.active !== active) {
        if (role === 'reflector') await (active ? this.#startReflector() : this.#stopReflector());
        else if (active) {
          const relay = (this.libp2p.services as { relay?: { onHop(s: Stream, c: Connection): Promise<void> } }).relay;
          if (!relay) throw new Error('the relay service was not built (mode off)');
          await this.libp2p.handle(RELAY_V2_HOP_CODEC, (s, c) => relay.onHop(s, c), HOP_STREAMS);
        } else await this.libp2p.unhandle(RELAY_V2_HOP_CODEC);
      }
      this.#roles[role] = { mode: st.mode, active, reason };
    };
    this.#roleChange = this.#roleChange.then(run, run);
    return this.#roleChange;
  }

  async #startReflector(): Promise<void> {
    const log: Logger = this.opts.log ?? silentLogger;
    this.#reflectorUdp = await ReflectorUdp.start({
      host: this.roleInit.host,
      port: this.roleInit.udpPort ?? 0,
      log,
    });
    const handler = reflectHandler({
      log,
      dialBack: async (ma, signal) => {
        const conn = await this.components.transportManager.dial(ma, { signal });
        await conn.close().catch(() => undefined);
      },
    });
    await this.libp2p.handle(REFLECT_PROTOCOL, handler, { runOnLimitedConnection: false });
  }

  async #stopReflector(): Promise<void> {
    await this.libp2p.unhandle(REFLECT_PROTOCOL);
    this.#reflectorUdp?.close();
    this.#reflectorUdp = undefined;
  }

  async startRoles(): Promise<void> {
    for (const role of ['relay', 'reflector'] as const)
      if (this.#roles[role].mode === 'on') await this.#setRole(role, true, 'on in the settings');
      else if (this.#roles[role].mode === 'auto')
        this.#roles[role].reason = 'auto: waiting until this node finds itself publicly reachable';
  }

  async setAutoRole(role: 'relay' | 'reflector', active: boolean, reason: string): Promise<void> {
    if (this.#roles[role].mode !== 'auto') return;
    await this.#setRole(role, active, `auto: ${reason}`);
  }

  async requestDialback(reflectorAddrs: string[], publicIp: string, signal?: AbortSignal): Promise<boolean> {
    const byPeer = new Map<string, string[]>();
    for (const a of reflectorAddrs) {
      const peer = /\/p2p\/([^/]+)$/.exec(a)?.[1];
      if (peer && !udpResponder(a) && peer !== this.peerId.toString())
        byPeer.set(peer, [...(byPeer.get(peer) ?? []), a]);
    }
    const target = `/${publicIp.includes(':') ? 'ip6' : 'ip4'}/${publicIp}/tcp/${this.port}`;
    for (const [peer, addrs] of byPeer) {
      let arrived = false;
      const on = (e: CustomEvent<Connection>): void => {
        const c = e.detail;
        if (
          c.direction === 'inbound' &&
          c.remotePeer.toString() === peer &&
          !c.remoteAddr.toString().includes('p2p-circuit')
        )
          arrived = true;
      };
      this.libp2p.addEventListener('connection:open', on);
      try {
        const r = await reflectViaPeer(this.libp2p, addrs, signal, { dialback: target });
        if (r.dialback?.ok && arrived) return true;
        (this.opts.log ?? silentLogger).info(
          { reflector: peer, said: r.dialback, arrived },
          'dial-back did not confirm reachability',
        );
      } catch (err) {
        (this.opts.log ?? silentLogger).info({ reflector: peer, err: String(err) }, 'dial-back request failed');
      } finally {
        this.libp2p.removeEventListener('connection:open', on);
      }
      if (signal?.aborted) break;
    }
    return false;
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

  /** The STUN server the last probe found answering (see #liveIceServer). */
  #verifiedIce: string | undefined;

  /**
   * Find the STUN server punches give ICE: libjuice takes ONE per peer connection (at random from a
   * list), so it gets the best one that answers now — the top three of iceServers() are probed at
   * once and the best-ranked that answers within 600 ms wins (a reflector that went away since its
   * last health check would otherwise cost the punch its server-reflexive candidate).
   */
  async #liveIceServer(): Promise<void> {
    const top = this.iceServers().slice(0, 3);
    if (top.length <= 1) return;
    const probes = top.map((u) =>
      stunBinding(parseHostPort(u), { timeoutMs: 600 }).then(
        () => true,
        () => false,
      ),
    );
    for (let i = 0; i < top.length; i++)
      if (await probes[i]) {
        this.#verifiedIce = top[i];
        return;
      }
  }

  /** The server for an ICE session now: the verified one while it is still listed, else the first. */
  #iceForPunch(): string[] {
    const list = this.iceServers();
    return this.#verifiedIce && list.includes(this.#verifiedIce) ? [this.#verifiedIce] : list.slice(0, 1);
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
        return { stunServers: node.#iceForPunch(), announceFilter: node.opts.announceFilter };
      },
      tracker: this.tracker,
      store: this.store,
      log: this.opts.log ?? silentLogger,
      localInfo: () => this.#localInfo(),
      punchEnabled: this.opts.punch ?? true,
      transportDial: (ma, o) => this.components.transportManager.dial(ma, o),
    };
  }

  async prepareConnect(o: PrepareOptions): Promise<ConnectSession> {
    await this.#liveIceServer();
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

  ping(peer: PeerId | string, signal?: AbortSignal): Promise<number | undefined> {
    return this.tracker.ping(peer.toString(), signal);
  }

  announcement(ttlSec = 3600): NodeAnnounceBody | undefined {
    const roles: ('relay' | 'reflector')[] = [];
    if (this.#roles.relay.active) roles.push('relay');
    if (this.#roles.reflector.active) roles.push('reflector');
    if (roles.length === 0) return undefined;
    const addrs = this.multiaddrs().filter((a) => !a.includes('p2p-circuit'));
    if (this.#reflectorUdp) addrs.push(...this.#reflectorUdp.announceAddrs(addrs));
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
    this.#reflectorUdp?.close();
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
