// Runs in: Node. The relay and reflector roles as this node serves them (js-libp2p style: a small
// module with injected components): the role state (mode, serving or not, why), starting and
// stopping the circuit relay v2 hop protocol and the reflector (/axon/reflect + STUN responder),
// the dial-back a public node asks of reflectors, the NodeAnnounce body, and the STUN server a
// punch hands ICE (the directory's list, probed so a dead reflector does not cost the punch).
// net/node.ts builds it; the market's role directory (market/roles.ts) drives 'auto'.
import { randomBytes } from 'node:crypto';
import type { Libp2p } from 'libp2p';
import type { Connection, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2';
import type { Logger } from '../log';
import { reflectHandler, ReflectorUdp, reflectViaPeer, REFLECT_PROTOCOL } from './reflector';
import { udpResponder } from './discovery';
import { iceServers } from './roles';
import { parseHostPort, stunBinding } from './stun';
import { RelayMeter, type RelayCap } from './relay-meter';
import type { NatReport, NodeAnnounceBody, RoleMode, RoleState } from './types';

export const HOP_STREAMS = {
  maxInboundStreams: 256,
  maxOutboundStreams: 256,
  runOnLimitedConnection: true,
  force: true,
} as const;

/** Normalise 'host:port' or 'stun:host:port' to 'stun:host:port'. */
export function stunUrl(s: string): string {
  return s.startsWith('stun:') ? s : `stun:${s}`;
}

export interface RoleServiceComponents {
  libp2p: Libp2p;
  /** Dial one address with the transport manager (no peer-store address merging). */
  dial(ma: Multiaddr, o: { signal: AbortSignal }): Promise<Connection>;
  /** The TCP listen port (a dial-back targets it). */
  port: number;
  /** The listen host (the reflector's UDP responder binds it). */
  host: string;
  log: Logger;
  /** stun:host:port URLs from the settings. */
  stunServers: string[];
  /** The latest consensus verdict (its outvoted sources serve no ICE). */
  natReport(): NatReport | undefined;
}

export interface RoleServiceInit {
  relay: RoleMode;
  reflector: RoleMode;
  /** The reflector's STUN port (0/undefined: any free one). */
  udpPort?: number;
  /** The relay's total bandwidth cap and daily byte budget (net/relay-meter.ts). */
  relayCap?: RelayCap;
}

export class RoleService {
  #roles: { relay: RoleState; reflector: RoleState };
  #reflectorUdp?: ReflectorUdp;
  #inboundDirect = false;
  #roleChange: Promise<void> = Promise.resolve();
  #iceSource?: () => string[];
  /** The STUN server the last probe found answering (see liveIceServer). */
  #verifiedIce: string | undefined;
  /** Counts and caps what the relay role carries (built unless the relay role is off). */
  readonly relayMeter: RelayMeter | undefined;

  constructor(
    private readonly c: RoleServiceComponents,
    private readonly init: RoleServiceInit,
  ) {
    const initial = (mode: RoleMode): RoleState => ({
      mode,
      active: false,
      reason: mode === 'off' ? 'off in the settings' : 'not started yet',
    });
    this.#roles = { relay: initial(init.relay), reflector: initial(init.reflector) };
    this.relayMeter = init.relay === 'off' ? undefined : new RelayMeter(c.log, init.relayCap);
    // someone dialed us directly: proof that our listen address is reachable from them
    c.libp2p.addEventListener('connection:open', (e) => {
      const conn = e.detail;
      const a = conn.remoteAddr.toString();
      if (conn.direction === 'inbound' && !a.includes('p2p-circuit') && !a.includes('/webrtc'))
        this.#inboundDirect = true;
    });
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
        else if (active) await this.#startRelay();
        else await this.c.libp2p.unhandle(RELAY_V2_HOP_CODEC);
      }
      this.#roles[role] = { mode: st.mode, active, reason };
    };
    this.#roleChange = this.#roleChange.then(run, run);
    return this.#roleChange;
  }

  async #startRelay(): Promise<void> {
    const relay = (this.c.libp2p.services as { relay?: { onHop(s: Stream, c: Connection): Promise<void> } }).relay;
    if (!relay) throw new Error('the relay service was not built (mode off)');
    const onHop = (s: Stream, conn: Connection): Promise<void> => relay.onHop(s, conn);
    await this.c.libp2p.handle(RELAY_V2_HOP_CODEC, this.relayMeter?.wrap(onHop) ?? onHop, HOP_STREAMS);
  }

  async #startReflector(): Promise<void> {
    this.#reflectorUdp = await ReflectorUdp.start({ host: this.c.host, port: this.init.udpPort ?? 0, log: this.c.log });
    const handler = reflectHandler({
      log: this.c.log,
      dialBack: async (ma, signal) => {
        const conn = await this.c.dial(ma, { signal });
        await conn.close().catch(() => undefined);
      },
    });
    await this.c.libp2p.handle(REFLECT_PROTOCOL, handler, { runOnLimitedConnection: false });
  }

  async #stopReflector(): Promise<void> {
    await this.c.libp2p.unhandle(REFLECT_PROTOCOL);
    this.#reflectorUdp?.close();
    this.#reflectorUdp = undefined;
  }

  /** Start the roles in mode 'on'; 'auto' waits for the market's role directory. */
  async start(): Promise<void> {
    for (const role of ['relay', 'reflector'] as const)
      if (this.#roles[role].mode === 'on') await this.#setRole(role, true, 'on in the settings');
      else if (this.#roles[role].mode === 'auto')
        this.#roles[role].reason = 'auto: waiting until this node finds itself publicly reachable';
  }

  async setAutoRole(role: 'relay' | 'reflector', active: boolean, reason: string): Promise<void> {
    if (this.#roles[role].mode !== 'auto') return;
    await this.#setRole(role, active, `auto: ${reason}`);
  }

  /** Ask reflectors to dial us back at publicIp:port; true only when a dial from one really arrived. */
  async requestDialback(reflectorAddrs: string[], publicIp: string, signal?: AbortSignal): Promise<boolean> {
    const self = this.c.libp2p.peerId.toString();
    const byPeer = new Map<string, string[]>();
    for (const a of reflectorAddrs) {
      const peer = /\/p2p\/([^/]+)$/.exec(a)?.[1];
      if (peer && !udpResponder(a) && peer !== self) byPeer.set(peer, [...(byPeer.get(peer) ?? []), a]);
    }
    const target = `/${publicIp.includes(':') ? 'ip6' : 'ip4'}/${publicIp}/tcp/${this.c.port}`;
    for (const [peer, addrs] of byPeer) {
      let arrived = false;
      const on = (e: CustomEvent<Connection>): void => {
        const conn = e.detail;
        if (
          conn.direction === 'inbound' &&
          conn.remotePeer.toString() === peer &&
          !conn.remoteAddr.toString().includes('p2p-circuit')
        )
          arrived = true;
      };
      this.c.libp2p.addEventListener('connection:open', on);
      try {
        const r = await reflectViaPeer(this.c.libp2p, addrs, signal, { dialback: target });
        if (r.dialback?.ok && arrived) return true;
        this.c.log.info({ reflector: peer, said: r.dialback, arrived }, 'dial-back did not confirm reachability');
      } catch (err) {
        this.c.log.info({ reflector: peer, err: String(err) }, 'dial-back request failed');
      } finally {
        this.c.libp2p.removeEventListener('connection:open', on);
      }
      if (signal?.aborted) break;
    }
    return false;
  }

  /** NodeAnnounce for the roles served now (undefined without one): `addrs` are the listen addresses. */
  announcement(addrs: string[], ttlSec = 3600): NodeAnnounceBody | undefined {
    const roles: ('relay' | 'reflector')[] = [];
    // a relay whose daily byte budget is spent refuses new reservations: it does not offer them
    if (this.#roles.relay.active && !this.relayMeter?.overBudget()) roles.push('relay');
    if (this.#roles.reflector.active) roles.push('reflector');
    if (roles.length === 0) return undefined;
    const all = addrs.filter((a) => !a.includes('p2p-circuit'));
    if (this.#reflectorUdp) all.push(...this.#reflectorUdp.announceAddrs(all));
    return {
      type: 'NodeAnnounce',
      nonce: randomBytes(16),
      expiresAt: Math.floor(Date.now() / 1000) + ttlSec,
      roles,
      multiaddrs: all.slice(0, 8),
    };
  }

  setIceServerSource(source: () => string[]): void {
    this.#iceSource = source;
  }

  iceServers(): string[] {
    const configured = this.c.stunServers.map(stunUrl);
    const report = this.c.natReport();
    if (!this.#iceSource) return iceServers({ candidates: [], configured, ...(report ? { report } : {}) });
    try {
      return this.#iceSource();
    } catch {
      return configured;
    }
  }

  /**
   * Find the STUN server punches give ICE: libjuice takes ONE per peer connection (at random from a
   * list), so it gets the best one that answers now — the top three of iceServers() are probed at
   * once and the best-ranked that answers within 600 ms wins (a reflector that went away since its
   * last health check would otherwise cost the punch its server-reflexive candidate).
   */
  async liveIceServer(): Promise<void> {
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
  iceForPunch(): string[] {
    const list = this.iceServers();
    return this.#verifiedIce && list.includes(this.#verifiedIce) ? [this.#verifiedIce] : list.slice(0, 1);
  }

  stop(): void {
    this.relayMeter?.stop();
    this.#reflectorUdp?.close();
  }
}
