// Runs in: Node. Public types of the net layer (what market/api program against).
import type { Connection, PeerId } from '@libp2p/interface';
import type { Logger } from '../log';
import type { Db } from '../store/db';
import type { Identity } from '../identity/identity';
import type { ConnectInfo } from './connect-info';
import type { BirthdayBudget } from './ladder-birthday';

/** How a connection reaches the peer, as shown to users. */
export type PathKind = 'direct-lan' | 'direct-wan' | 'hole-punched' | 'relayed';

/** How the ladder got there (connection_attempts.method); 'birthday' = birthday probing EIM↔EDM,
 *  then ICE over the pair found (ladder-birthday.ts). */
export type AttemptMethod = 'direct' | 'hole-punch' | 'birthday' | 'relay' | 'reverse' | 'upgrade';
export type AttemptOutcome = 'pending' | 'ok' | 'failed' | 'timeout' | 'skipped';

export interface PathInfo {
  kind: PathKind;
  /** PeerId of the relay when kind === 'relayed'. */
  relay?: string;
  /** Remote multiaddr of the connection in use. */
  remoteAddr: string;
  /** Transport in use: tcp | webrtc-direct | webrtc (ICE) | quic | circuit. */
  transport: string;
}

export interface PeerStatus {
  peer: string;
  /** Best open connection's path; undefined when not connected. */
  path?: PathInfo;
  connected: boolean;
  /** Last ping round-trip time in ms. */
  rttMs?: number;
  bytesIn: number;
  bytesOut: number;
  /** Connect attempts made for this peer since the node started. */
  attempts: number;
  /** ms since epoch of the current path's start. */
  since?: number;
}

/** Detail of the 'path' event: the best path to `peer` changed (undefined = disconnected). */
export interface PathChange {
  peer: string;
  from?: PathInfo;
  to?: PathInfo;
}

export interface AnnounceFilterOptions {
  /** Announce 127.0.0.0/8 and ::1 (tests on loopback). Default false. */
  allowLoopback?: boolean;
  /** Announce RFC 1918 / ULA addresses (LAN peers); default true. They only go to peers in sealed connect info. */
  allowPrivate?: boolean;
  /** Interface-name prefixes never announced (default: docker, br-, veth, tun, tap, wg, virbr). */
  denyInterfaces?: string[];
}

/** 'on' = serve from the start; 'off' = never; 'auto' = serve once this node finds itself publicly
 *  reachable (net/roles.ts autoRoleDecision; the market's role directory applies it). */
export type RoleMode = 'auto' | 'on' | 'off';

export interface NetRoles {
  /** Circuit relay v2 server with limits suited to paid streaming (true/limits = 'on'). */
  relay?: boolean | RoleMode | RelayLimits;
  /** Observed-address service (/axon/reflect/1.0.0 + STUN Binding responder) (true = 'on'). */
  reflector?: boolean | RoleMode | { udpPort?: number };
  /** Limits of the relay role whatever its mode. */
  relayLimits?: RelayLimits;
}

/** One role as it stands now: the user's mode, whether it serves, and why. */
export interface RoleState {
  mode: RoleMode;
  active: boolean;
  reason: string;
}

export interface RelayLimits {
  maxReservations?: number;
  /** Per relayed connection; default 6 h. */
  durationLimitMs?: number;
  /** Per relayed connection per direction; default 8 GiB. */
  dataLimitBytes?: bigint;
  /** Reservation lifetime (the client refreshes); default 1 h. */
  reservationTtlMs?: number;
  /** All relayed circuits together, both directions, bytes/s; 0/undefined = no cap. */
  totalBytesPerSec?: number;
  /** All relayed circuits together per UTC day; spent = new reservations and circuits refused. */
  dailyBytes?: bigint;
}

export interface NetNodeOptions {
  identity: Identity;
  /** One port for TCP and WebRTC-Direct (UDP). 0 = any free port. */
  listenPort?: number;
  /** Listen host; default 0.0.0.0. */
  host?: string;
  roles?: NetRoles;
  announceFilter?: AnnounceFilterOptions;
  /** stun:host:port URLs used by ICE and by address discovery. */
  stunServers?: string[];
  /** Extra addresses to announce (e.g. a known public ip:port). */
  announce?: string[];
  log?: Logger;
  /** Where connections and attempts are recorded; optional. */
  db?: Db;
  /** Listen and dial WebRTC-Direct (UDP) beside TCP on the one port. Default false: with it on,
   *  node-datachannel 0.33 aborted the process (pthread mutex assertion) in ~1 of 3 runs of the
   *  relay-kill test (see docs/net.md). TCP + the ICE punch cover Node↔Node without it. */
  webrtcDirect?: boolean;
  /** Offer WebRTC/ICE hole punching to peers (default true). */
  punch?: boolean;
  /** Birthday probing for EIM↔EDM pairs (part of the punch): its budgets, or false for none.
   *  Default DEFAULT_BIRTHDAY_BUDGET (ladder-birthday.ts, docs/net.md "Birthday probing"). */
  birthday?: Partial<BirthdayBudget> | false;
  /** Ping interval for RTT (ms); default 10 s. */
  pingIntervalMs?: number;
  /** Ask the router for a port mapping of the TCP listen port (NAT-PMP, then UPnP-IGD; portmap.ts).
   *  Default false here; AxonNode passes the setting `portMapping` (default true). Never on loopback. */
  portMapping?: boolean | { pmpTimeoutMs?: number; upnpTimeoutMs?: number; leaseSec?: number };
}

/** A further punch round as it travels (PunchSync on the ledger): its number and when both dial. */
export interface RoundMeta {
  round: number;
  /** Unix ms at which both sides start this round's checks. */
  punchAt: number;
}

/** The two-way channel the ladder uses to trade ConnectInfo (the market implements it over the
 *  ledger with PunchSync). `round` goes with the further punch rounds. */
export interface Signaling {
  send(info: ConnectInfo, round?: RoundMeta): Promise<void>;
  /** The next ConnectInfo from the peer (with its round, if it is one); rejects when `signal` aborts. */
  receive(signal?: AbortSignal): Promise<ConnectInfo & Partial<RoundMeta>>;
}

export interface ConnectOptions {
  peer: PeerId | string;
  /** initiator = buyer (sends its info first), responder = seller. */
  role: 'initiator' | 'responder';
  /** Unix ms: both sides act at this time (the punch; earlier steps may start at once). */
  punchAt?: number;
  /** Relay multiaddrs (ending in /p2p/<relay>) the peers may meet on. */
  relays?: string[];
  requestId?: string;
  signal?: AbortSignal;
  timeouts?: Partial<LadderTimeouts>;
  /** A channel for further punch rounds (PunchSync); connectPeer passes its own. */
  signaling?: Signaling;
}

export interface LadderTimeouts {
  directMs: number;
  punchMs: number;
  /** Start the relay this long after the ladder began if nothing connected yet (the punch goes on). */
  relayAfterMs: number;
  relayMs: number;
  reverseMs: number;
  /** Whole ladder. */
  totalMs: number;
}

export interface ConnectResult {
  connection: Connection;
  path: PathInfo;
  /** ms from the call to connected. */
  elapsedMs: number;
  attempts: AttemptRecord[];
}

export interface AttemptRecord {
  method: AttemptMethod;
  addresses: string[];
  startedAt: number;
  durationMs: number;
  outcome: AttemptOutcome;
  error?: string;
}

export type { ConnectInfo };

/** A prepared connect: my ConnectInfo is ready to be sealed and sent; then call connect(). */
export interface ConnectSession {
  readonly peer: string;
  readonly role: 'initiator' | 'responder';
  /** Put this (encodeConnectInfo → seal) into ServiceRequest / ServiceAccept. */
  readonly localInfo: ConnectInfo;
  /** Run the ladder with the peer's info (decoded from its sealed message). */
  connect(remote: ConnectInfo, opts?: Omit<ConnectOptions, 'peer' | 'role'>): Promise<ConnectResult>;
  /** Give up (frees the ICE agent). */
  close(): void;
}

export interface PrepareOptions {
  peer: PeerId | string;
  role: 'initiator' | 'responder';
  /** The responder prepares with the initiator's info (its ICE offer). */
  remote?: ConnectInfo;
  requestId?: string;
  /** Gather ICE parameters now (default true). A redial says false: it has no fresh parameters
   *  of the peer's, so its punch comes as a further round over the signaling channel. */
  ice?: boolean;
  /** Which of our relays this session may offer the peer (by relay peer id): a buyer does not
   *  offer a relay it will not pay (roles.maxRelayPrice), or the seller would reverse-dial the
   *  buyer through it. Default: all. */
  relayAllowed?: (relayPeer: string) => boolean;
}

export interface NatReport {
  publicIp?: string;
  /** 'udp-blocked': UDP servers stayed silent while reflectors answered over TCP (TCP-only network). */
  mapping: 'endpoint-independent' | 'endpoint-dependent' | 'none' | 'udp-blocked' | 'unknown';
  reachability: 'public' | 'punchable' | 'relay-only' | 'unknown';
  /** RFC 5780 filtering (a STUN server with two addresses, or a reflector's CHANGE-REQUEST test). */
  filtering?: 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';
  /** Which observations were used: 'stun:<server>' | 'reflector:<peer>' | 'ledger:<peer>'. */
  sources: string[];
  /** 0..1: share of sources agreeing with the verdict's IP, scaled by how many there were. */
  confidence: number;
  warnings: string[];
  /** Sources whose observed IP lost the vote (a lying or broken observer): never used as ICE servers. */
  outvoted?: string[];
}

export interface NodeAnnounceBody {
  type: 'NodeAnnounce';
  nonce: Uint8Array;
  expiresAt: number;
  roles: ('relay' | 'reflector')[];
  multiaddrs: string[];
}

export interface NetNode extends EventTarget {
  readonly peerId: PeerId;
  readonly libp2p: import('libp2p').Libp2p;
  /** Addresses fit to announce to remote peers (filtered), with /p2p/<self>. */
  multiaddrs(): string[];
  /** The router port mapping: whether one is held, on which protocol, why not (portmap.ts). */
  portMapping(): import('./portmap').PortMapStatus;
  /** Port TCP and WebRTC-Direct listen on. */
  readonly port: number;
  /** The reflector role's UDP (STUN) port; undefined while the role is off. */
  readonly reflectorUdpPort: number | undefined;
  prepareConnect(opts: PrepareOptions): Promise<ConnectSession>;
  /** The whole exchange over a Signaling channel: prepare → send/receive → ladder. */
  connectPeer(opts: ConnectOptions & { signaling: Signaling }): Promise<ConnectResult>;
  status(): PeerStatus[];
  peerStatus(peer: PeerId | string): PeerStatus;
  /** The connection to use with a peer — THE rule, for every layer: the best open path
   *  (direct LAN < direct WAN < hole-punched < relayed); undefined when not connected. */
  bestConnection(peer: PeerId | string): Connection | undefined;
  /** Ping the peer now on its best connection (ms; undefined when not connected). */
  ping(peer: PeerId | string, signal?: AbortSignal): Promise<number | undefined>;
  /** The relay and reflector roles now (mode, serving or not, why). */
  roleState(): { relay: RoleState; reflector: RoleState };
  /** Turn a role in mode 'auto' on or off (no effect on 'on'/'off' modes); resolves when done. */
  setAutoRole(role: 'relay' | 'reflector', active: boolean, reason: string): Promise<void>;
  /** Ask reflectors (libp2p addresses …/p2p/<id>) to dial us back on our TCP listen port at
   *  `publicIp`; true only when a dial from one of them really arrived (not its word for it). */
  requestDialback(reflectorAddrs: string[], publicIp: string, signal?: AbortSignal): Promise<boolean>;
  /** A direct (not relayed, not punched) inbound connection from another peer has arrived. */
  readonly inboundDirectSeen: boolean;
  /** NodeAnnounce for this node's roles (the market posts it); undefined when it has no role. */
  announcement(ttlSec?: number): NodeAnnounceBody | undefined;
  /** The STUN servers ICE uses now, best first (net/roles.ts iceServers: healthy reflectors of the
   *  directory + configured servers). Each punch takes the first. */
  iceServers(): string[];
  /** Where iceServers() comes from (the market's role directory); default: the configured servers. */
  setIceServerSource(source: () => string[]): void;
  /** STUN + reflectors → consensus verdict. */
  discoverAddress(opts?: { stunServers?: string[]; reflectors?: string[]; signal?: AbortSignal }): Promise<NatReport>;
  /** What the relay role carried and its caps (undefined when the relay role is off). */
  relayUse(): import('./relay-meter').RelayUse | undefined;
  /** The relay's meter: circuits open now, and credit() for a pair of peers that paid. */
  readonly relayMeter: import('./relay-meter').RelayMeter | undefined;
  /** Hold reservations on these relays (multiaddrs ending in /p2p/<relay>); returns the circuit addrs held. */
  useRelays(relays: string[], timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}
