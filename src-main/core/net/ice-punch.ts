// Runs in: Node. The hole punch that really gets through NATs from Node: WebRTC ICE
// (node-datachannel/libjuice). Each side gathers host + server-reflexive (STUN) candidates up
// front; its ICE ufrag/pwd, DTLS fingerprint and candidates travel in the sealed ConnectInfo
// (ServiceRequest / ServiceAccept), never a full SDP. The SDP each side needs is synthesized
// from those compact fields. Both ICE agents then send connectivity checks to each other's
// candidates — the simultaneous outbound packets that open the two NATs. The DTLS fingerprint
// comes from the authenticated, sealed signaling, so (as in @libp2p/webrtc private-to-private)
// the libp2p upgrade skips Noise; the remote PeerId is the ledger sender.
//
// Who sends first matters behind routers that ACCEPT unsolicited packets to themselves (no INPUT
// drop): a peer's check that reaches such a router before the host behind it sent anything to
// that peer creates a conntrack entry on the router, and the host's own packet then leaves from
// a random port — the punch fails in every round (measured, docs/natlab.md). So the initiator
// sends first, and the responder, before its ICE agent exists, sends one low-TTL packet from the
// agent's future port to the initiator's public candidates: it opens the responder's own NAT
// mapping and dies a hop behind it, so it never reaches the initiator's router. The responder
// then only answers checks (it learns the initiator as a peer-reflexive candidate) until
// RESPONDER_LAG_MS after punchAt, when it adds the initiator's candidates and checks them itself
// (what a symmetric responder needs to reach a full-cone initiator).
import { RTCPeerConnection, RTCSessionDescription, type RTCDataChannel } from 'node-datachannel/polyfill';
import { PeerConnection } from 'node-datachannel';
import { multiaddr } from '@multiformats/multiaddr';
import type { Connection, PeerId } from '@libp2p/interface';
import { toMultiaddrConnection, DataChannelMuxerFactory } from './webrtc-internals';
import type { IceCandidateInfo, IceCandidateType, IceParams } from './connect-info';
import { ipAllowed, deniedInterfaceIps } from './addresses';
import { birthdayProbe, type BirthdayResult } from './birthday';
import { createDtlsCertificate, type DtlsCertificate } from './dtls-cert';

import { candidateLines, dedupeCandidates, parseIceParams, synthesizeSdp } from './ice-sdp';
import { IceAgentError, openingPacket, openingTargets, portFree } from './ice-ports';
import type { BirthdayPlan, IcePair, IcePunchComponents, IcePunchInit } from './ice-punch-types';
import { waitFor } from './wait-for';

export const CLOSE_LINGER_MS = 0;
/** The responder checks the initiator's candidates itself this long after punchAt. */
export const RESPONDER_LAG_MS = 1000;

/** One ICE negotiation with one peer. prepare() → local params to send; connect() → libp2p Connection. */
export class IcePunchSession {
  pc!: RTCPeerConnection;
  raw!: PeerConnection;
  #muxerFactory?: DataChannelMuxerFactory;
  #initChannel?: RTCDataChannel;
  #closed = false;
  #handedOff = false;
  /** One DTLS certificate for every agent of this session: an agent made after the connect info
   *  was sealed (birthday probing) then shows the fingerprint the peer already holds. Made with the
   *  first agent, in prepare(): the constructor never throws (a failure is the round's outcome). */
  #cert?: DtlsCertificate;
  /** My ICE parameters as sealed into the connect info (prepare()). */
  #local?: IceParams;
  /** The pair birthday probing found, for the attempt's story. */
  birthdayPair?: BirthdayResult;
  /** Where a birthday round is (for the story of one that ran out of time). */
  birthdayStage = 'not started';
  /** The responder's initiator candidates, added at punchAt + RESPONDER_LAG_MS. */
  #pending: IceCandidateInfo[] = [];
  #pendingTimer?: ReturnType<typeof setTimeout>;
  /** Where the responder's opening packet went (ip:port), for the attempt's story. */
  prePunched: string[] = [];

  constructor(
    private readonly components: IcePunchComponents,
    private readonly init: IcePunchInit,
    readonly role: 'initiator' | 'responder',
    readonly remotePeer: PeerId,
  ) {
    // every agent is made in prepare() (the responder's on the port its opening packet used) or
    // birthday(): whatever fails there is the round's recorded outcome, never a throw from here
  }

  /** Make the ICE agent (native peer connection + polyfill + muxer); throws IceAgentError. */
  #createAgent(port?: number, birthday = false): void {
    try {
      this.#cert ??= createDtlsCertificate();
      // our own native PeerConnection under the W3C polyfill: it also reports bytes and RTT
      const raw = new PeerConnection(`axon-${this.remotePeer.toString().slice(-8)}`, {
        // the agent over a birthday pair gathers nothing: the pair is its path
        iceServers: birthday ? [] : this.init.stunServers,
        certificatePemFile: this.#cert.certPem,
        keyPemFile: this.#cert.keyPem,
        // a birthday agent sets its own (the sealed) ICE credentials, so it negotiates by hand
        ...(birthday ? { disableAutoNegotiation: true } : {}),
        ...(port ? { portRangeBegin: port, portRangeEnd: port } : {}),
      });
      const pc = new RTCPeerConnection({ peerConnection: raw } as unknown as ConstructorParameters<
        typeof RTCPeerConnection
      >[0]);
      const log = this.components.logger.forComponent('axon:net:ice');
      this.#muxerFactory = new DataChannelMuxerFactory({ peerConnection: pc as never, log });
      this.raw = raw;
      this.pc = pc;
    } catch (err) {
      throw new IceAgentError(`the ICE agent could not be made: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Close the current agent, if any (never throws). */
  #closeAgent(): void {
    try {
      this.#muxerFactory?.close();
      this.pc?.close();
    } catch {
      // a native close that failed leaves nothing to free
    }
  }

  /** Gather candidates; the responder passes the initiator's params (its offer). */
  async prepare(remote?: IceParams): Promise<IceParams> {
    if (this.role === 'initiator') {
      this.#createAgent();
      this.#initChannel = this.pc.createDataChannel('init') as unknown as RTCDataChannel;
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
    } else {
      if (!remote) throw new Error("the responder prepares with the initiator's ICE parameters");
      const targets = openingTargets(remote.candidates);
      const port = await openingPacket(targets).catch(() => undefined);
      if (port !== undefined) this.prePunched = targets.map((c) => `${c.ip}:${c.port}`);
      this.#createAgent(port);
      if (this.#closed) {
        this.#closeAgent();
        throw new Error('the ICE session was closed while preparing');
      }
      // the offer without candidates: the initiator's checks come first (see the top of the file)
      this.#pending = remote.candidates;
      await this.pc.setRemoteDescription(
        new RTCSessionDescription({ type: 'offer', sdp: synthesizeSdp({ ...remote, candidates: [] }, 'offer', false) }),
      );
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
    }
    await waitFor(
      () => this.pc.iceGatheringState === 'complete',
      this.pc,
      ['icegatheringstatechange'],
      this.init.gatherTimeoutMs ?? 2500,
    );
    const sdp = this.pc.localDescription?.sdp ?? '';
    const params = parseIceParams(sdp);
    if (this.role === 'responder' && !/a=setup:passive/.test(sdp))
      throw new Error('the ICE answer did not take the DTLS server role');
    for (const c of this.pc.ext_localCandidates) {
      // candidates gathered after the SDP snapshot
      const m = c.candidate.match(/ 1 UDP \d+ (\S+) (\d+) typ (host|srflx|prflx|relay)/i);
      if (m && !params.candidates.some((x) => x.ip === m[1] && x.port === Number(m[2]))) {
        params.candidates.push({ ip: m[1]!, port: Number(m[2]), type: m[3]!.toLowerCase() as IceCandidateType });
      }
    }
    const denied = deniedInterfaceIps(this.init.announceFilter?.denyInterfaces);
    const filter = this.init.announceFilter ?? {};
    const kept = params.candidates.filter((c) => c.type !== 'host' || ipAllowed(c.ip, filter, denied));
    // libjuice never gathers loopback; for tests on 127.0.0.1 add it on the host socket's port
    const hostPort = params.candidates.find((c) => c.type === 'host')?.port;
    if (filter.allowLoopback && hostPort !== undefined) kept.unshift({ type: 'host', ip: '127.0.0.1', port: hostPort });
    params.candidates = dedupeCandidates(kept).slice(0, 8);
    this.#local = { ...params, candidates: [...params.candidates] };
    return params;
  }

  /** The local port of my ICE agent (its host candidates' port), as sealed. */
  localPort(): number | undefined {
    return this.#local?.candidates.find((c) => c.type === 'host')?.port;
  }

  /**
   * Birthday probing in place of the punch, then ICE over the pair found: my agent is closed (its
   * port is the easy side's probe socket), the probe runs, and a new agent bound to the pair's
   * local port with the SAME ufrag, password and DTLS certificate as sealed in the connect info
   * checks the pair's remote address. The peer therefore authenticates it exactly as it would the
   * punch (the DTLS fingerprint from the authenticated, sealed ledger message).
   */
  async birthday(
    remote: IceParams,
    plan: BirthdayPlan,
    iceMs: number,
    signal?: AbortSignal,
    punchAt = Date.now(),
  ): Promise<Awaited<ReturnType<IcePunchSession['connect']>>> {
    const local = this.#local;
    if (!local) throw new Error('birthday probing needs the ICE parameters sealed in prepare()');
    clearTimeout(this.#pendingTimer);
    this.#closeAgent();
    this.birthdayStage = 'waiting for its start';
    if (plan.role === 'easy') {
      const wait = punchAt + plan.easyDelayMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    if (signal?.aborted || this.#closed) throw new Error('aborted');
    this.birthdayStage = 'probing';
    const pair = await birthdayProbe({
      role: plan.role,
      peerIp: plan.peerIp,
      key: plan.key,
      sockets: plan.sockets,
      ratePerSec: plan.ratePerSec,
      maxProbes: plan.maxProbes,
      timeoutMs: plan.probeMs,
      ...(plan.peerPort !== undefined ? { peerPort: plan.peerPort } : {}),
      ...(plan.localPort !== undefined ? { localPort: plan.localPort } : {}),
      ...(signal ? { signal } : {}),
    });
    this.birthdayPair = pair;
    if (this.#closed) throw new Error('the ICE session was closed while probing');
    // libdatachannel binds the pair's port when the agent's local description is set, in a call
    // node-datachannel does not guard: a port still taken would abort the whole process
    // (std::terminate, "Failed to gather local ICE candidates"), so it is checked first
    this.birthdayStage = 'checking the pair’s port';
    await portFree(pair.localPort);
    if (this.#closed || signal?.aborted) throw new Error('the ICE session was closed while probing');
    this.birthdayStage = 'making the agent over the pair';
    await this.#pairAgent(pair, remote, local);
    this.birthdayStage = 'ICE + DTLS over the pair';
    return this.#established(iceMs, signal);
  }

  /**
   * An agent bound to the pair's local port, with the sealed credentials, checking the pair. As in
   * the punch, the initiator checks first and the responder only answers (it learns the initiator
   * as a peer-reflexive candidate) until RESPONDER_LAG_MS later, when it adds the pair itself.
   * Why: when the responder's checks reached the initiator's new agent before that agent had
   * applied the answer, its ICE connected without a remote description and libdatachannel closed
   * it (closeTransports: the description stays, the transport is gone) — the initiator's next
   * step then failed with "Got a remote candidate without ICE transport" and both agents closed
   * (reproduced on loopback: 2 runs in 12 with the responder checking at once, 0 in 11 answering).
   */
  async #pairAgent(pair: BirthdayResult, remote: IceParams, local: IceParams): Promise<void> {
    this.#createAgent(pair.localPort, true);
    const creds = { iceUfrag: local.ufrag, icePwd: local.pwd };
    const pairCandidates: IceCandidateInfo[] = [{ type: 'srflx', ip: pair.remote.ip, port: pair.remote.port }];
    const check = (): void => {
      // never weaker than the punch: the agent must present exactly what the peer holds, sealed
      const mine = parseIceParams(this.pc.localDescription?.sdp ?? '');
      if (
        mine.ufrag !== local.ufrag ||
        mine.pwd !== local.pwd ||
        !Buffer.from(mine.fingerprint).equals(Buffer.from(local.fingerprint))
      ) {
        throw new Error('the agent over the birthday pair does not carry the sealed ICE credentials');
      }
    };
    if (this.role === 'initiator') {
      this.#initChannel = this.pc.createDataChannel('init') as unknown as RTCDataChannel;
      this.raw.setLocalDescription('offer', creds);
      await this.pc.createOffer(); // resolves with the description libdatachannel made
      check();
      // the pair inside the answer: applied in the same native call that applies the description
      await this.pc.setRemoteDescription(
        new RTCSessionDescription({
          type: 'answer',
          sdp: synthesizeSdp({ ...remote, candidates: pairCandidates }, 'answer', false),
        }),
      );
    } else {
      await this.pc.setRemoteDescription(
        new RTCSessionDescription({ type: 'offer', sdp: synthesizeSdp({ ...remote, candidates: [] }, 'offer', false) }),
      );
      this.raw.setLocalDescription('answer', creds);
      await this.pc.createAnswer();
      check();
      this.#pending = pairCandidates;
      this.#pendingTimer = setTimeout(() => this.#addPending(), RESPONDER_LAG_MS);
      this.#pendingTimer.unref?.();
    }
  }

  /** The responder adds the candidates it held back, unless already connected (or closed). */
  #addPending(): void {
    try {
      if (this.#closed || this.pc.connectionState === 'connected' || this.pc.connectionState === 'closed') return;
      for (const line of candidateLines(this.#pending)) {
        this.pc.addIceCandidate({ candidate: line, sdpMid: '0' } as never).catch(() => undefined);
      }
    } catch {
      // the agent is gone (closed natively): nothing to add to
    }
  }

  /** Run the checks until connected (or timeout) and upgrade to a libp2p connection. */
  async connect(
    remote: IceParams | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
    /** Responder: the round's punchAt (epoch ms); its own checks start RESPONDER_LAG_MS later. */
    punchAt = Date.now(),
  ): Promise<{
    connection: Connection;
    pair?: IcePair;
    counters: () => { bytesIn: number; bytesOut: number; rttMs?: number };
  }> {
    if (this.role === 'initiator') {
      if (!remote) throw new Error("the initiator connects with the responder's ICE parameters");
      try {
        // the answer without candidates, then each candidate on its own (trickle): applying them
        // inside the description raced the responder's early checks and closed the connection
        await this.pc.setRemoteDescription(
          new RTCSessionDescription({
            type: 'answer',
            sdp: synthesizeSdp({ ...remote, candidates: [] }, 'answer', false),
          }),
        );
        for (const line of candidateLines(remote.candidates)) {
          await this.pc.addIceCandidate({ candidate: line, sdpMid: '0' } as never);
        }
      } catch (err) {
        throw new Error(
          `${(err as Error).message} [state ${this.pc.connectionState}/${this.pc.iceConnectionState}/${this.pc.iceGatheringState}/${this.pc.signalingState}, closed=${this.#closed}]`,
          { cause: err },
        );
      }
    } else if (this.#pending.length > 0 && this.#pendingTimer === undefined) {
      this.#pendingTimer = setTimeout(() => this.#addPending(), Math.max(0, punchAt + RESPONDER_LAG_MS - Date.now()));
      this.#pendingTimer.unref?.();
    }
    return this.#established(timeoutMs, signal);
  }

  /** Wait for ICE + DTLS, then upgrade the peer connection to a libp2p connection. */
  async #established(
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{
    connection: Connection;
    pair?: IcePair;
    counters: () => { bytesIn: number; bytesOut: number; rttMs?: number };
  }> {
    const ok = await waitFor(
      () => this.pc.connectionState === 'connected' || this.pc.connectionState === 'failed',
      this.pc,
      ['connectionstatechange'],
      timeoutMs,
      signal,
    );
    if (!ok || this.pc.connectionState !== 'connected') {
      throw new Error(`ICE did not connect within ${timeoutMs} ms (state ${this.pc.connectionState})`);
    }
    if (this.#initChannel) {
      const ch = this.#initChannel;
      await waitFor(() => ch.readyState === 'open', ch as unknown as EventTarget, ['open'], 5000, signal);
      ch.close();
      await waitFor(() => ch.readyState === 'closed', ch as unknown as EventTarget, ['close'], 2000, signal);
    }
    const sel =
      (this.pc as unknown as { selectedCandidatePair(): IcePair | null }).selectedCandidatePair() ?? undefined;
    const ip = sel?.remote.address ?? '0.0.0.0';
    const fam = ip.includes(':') ? 'ip6' : 'ip4';
    const remoteAddr = multiaddr(`/${fam}/${ip}/udp/${sel?.remote.port ?? 9}/webrtc/p2p/${this.remotePeer.toString()}`);
    const muxerFactory = this.#muxerFactory;
    if (!muxerFactory) throw new Error('the ICE agent has no muxer');
    const maConn = toMultiaddrConnection({
      peerConnection: this.pc as never,
      remoteAddr,
      direction: this.role === 'initiator' ? 'outbound' : 'inbound',
      log: this.components.logger.forComponent('axon:net:ice:conn'),
    });
    const opts = {
      skipProtection: true,
      skipEncryption: true,
      remotePeer: this.remotePeer,
      muxerFactory,
      signal: signal ?? AbortSignal.timeout(10_000),
    } as const;
    this.#handedOff = true;
    this.birthdayStage = 'the libp2p upgrade';
    if (this.role === 'initiator') {
      return {
        connection: await this.components.upgrader.upgradeOutbound(maConn, opts as never),
        pair: sel,
        counters: () => this.counters(),
      };
    }
    await this.components.upgrader.upgradeInbound(maConn, opts as never);
    const connection = this.#findConnection(maConn);
    if (!connection) throw new Error('inbound WebRTC upgrade produced no connection');
    return { connection, pair: sel, counters: () => this.counters() };
  }

  /** Bytes and RTT as the native peer connection counts them (SCTP over DTLS over ICE). */
  counters(): { bytesIn: number; bytesOut: number; rttMs?: number } {
    try {
      const rtt = this.raw.rtt();
      return { bytesIn: this.raw.bytesReceived(), bytesOut: this.raw.bytesSent(), ...(rtt >= 0 ? { rttMs: rtt } : {}) };
    } catch {
      return { bytesIn: 0, bytesOut: 0 };
    }
  }

  /** upgradeInbound returns nothing: find the connection the connection manager now holds. */
  #findConnection(maConn: { remoteAddr: { toString(): string } }): Connection | undefined {
    const cm = (this.components as unknown as { connectionManager?: { getConnections(p: PeerId): Connection[] } })
      .connectionManager;
    const addr = maConn.remoteAddr.toString();
    return cm
      ?.getConnections(this.remotePeer)
      .find((c) => c.remoteAddr.toString().startsWith(addr.replace(/\/p2p\/[^/]+$/, '')));
  }

  /** Free the agent (optionally after a quiet period). */
  close(lingerMs = CLOSE_LINGER_MS): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pendingTimer);
    if (this.#handedOff || !this.pc) return;
    const shut = (): void => this.#closeAgent();
    if (lingerMs <= 0) shut();
    else setTimeout(shut, lingerMs).unref();
  }
}
