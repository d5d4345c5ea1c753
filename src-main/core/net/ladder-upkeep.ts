// Runs in: Node. What a ladder session does after it connected, until close(): while relayed, a
// background upgrade (in-band WebRTC over the relay, direct re-dial) with backoff 5 s doubling to
// 10 min, closing the relayed connection once a better path opens; when the path is lost (relay
// died), climbing the ladder again at once (direct, then every relay).
import { multiaddr } from '@multiformats/multiaddr';
import { PATH_RANK } from './status';
import { DEFAULT_TIMEOUTS, withP2p, type AttemptDialer } from './ladder-attempts';
import type { ConnectInfo } from './connect-info';
import type { PathChange } from './types';

export const BACKOFF_START_MS = 5000;
export const BACKOFF_MAX_MS = 10 * 60_000;

export function nextBackoff(prev: number | undefined): number {
  return prev === undefined ? BACKOFF_START_MS : Math.min(prev * 2, BACKOFF_MAX_MS);
}

/** Keeps one peer connected on the best path: upgrade loop, reconnect on loss, relay cleanup. */
export class PathUpkeep {
  #maintaining = false;
  #backoff?: number;
  #upgradeTimer?: NodeJS.Timeout;
  #onPath = (e: Event): void => this.#pathChanged((e as CustomEvent<PathChange>).detail);

  /**
   * @param signal aborted when the ladder session closes
   * @param remote the peer's ConnectInfo from the last connect (undefined before)
   */
  constructor(
    private readonly dialer: AttemptDialer,
    private readonly role: 'initiator' | 'responder',
    private readonly signal: AbortSignal,
    private readonly remote: () => ConnectInfo | undefined,
  ) {}

  get #deps() {
    return this.dialer.deps;
  }

  get #peer(): string {
    return this.dialer.peer;
  }

  /** Keep the peer connected on the best path until stop(). */
  start(): void {
    if (this.#maintaining) return;
    this.#maintaining = true;
    this.#deps.tracker.addEventListener('path', this.#onPath);
    this.#scheduleUpgrade();
  }

  stop(): void {
    if (this.#upgradeTimer) clearTimeout(this.#upgradeTimer);
    this.#deps.tracker.removeEventListener('path', this.#onPath);
  }

  #pathChanged(ch: PathChange): void {
    if (ch.peer !== this.#peer || this.signal.aborted) return;
    if (!ch.to) {
      // lost the path (relay died, peer vanished): climb the ladder again at once
      this.#deps.log.info({ peer: this.#peer }, 'path lost; reconnecting');
      void this.#reconnect();
      return;
    }
    if (ch.to.kind !== 'relayed') {
      this.#backoff = undefined;
      this.#closeRelayed();
    }
    this.#scheduleUpgrade();
  }

  async #reconnect(): Promise<void> {
    const remote = this.remote();
    if (!remote) return;
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(DEFAULT_TIMEOUTS.totalMs)]);
    const direct = await this.dialer.dial(
      this.role === 'initiator' ? 'direct' : 'reverse',
      this.dialer.directAddrs(remote),
      DEFAULT_TIMEOUTS.directMs,
      signal,
    );
    if (direct.conn || this.#deps.tracker.bestConnection(this.#peer) || signal.aborted) return;
    await this.dialer.dialRelays('relay', remote, 4000, signal);
    if (!this.#deps.tracker.bestConnection(this.#peer) && !this.signal.aborted) {
      this.#backoff = nextBackoff(this.#backoff);
      this.#deps.log.info({ peer: this.#peer, retryInMs: this.#backoff }, 'reconnect failed; backing off');
      this.#upgradeTimer = setTimeout(() => void this.#reconnect(), this.#backoff);
      this.#upgradeTimer.unref();
    }
  }

  #scheduleUpgrade(): void {
    if (this.#upgradeTimer || this.signal.aborted) return;
    const best = this.#deps.tracker.bestConnection(this.#peer);
    if (!best || this.#deps.tracker.pathOf(best).kind !== 'relayed') return;
    // the first try comes soon (the relay is the signaling channel), then back off
    const delay = this.#backoff === undefined ? 500 : this.#backoff;
    this.#upgradeTimer = setTimeout(() => {
      this.#upgradeTimer = undefined;
      void this.#upgrade().finally(() => {
        this.#backoff = nextBackoff(this.#backoff);
        this.#scheduleUpgrade();
      });
    }, delay);
    this.#upgradeTimer.unref();
  }

  /** In-band upgrade over the relayed connection: WebRTC (ICE) signaled through the relay, then a direct re-dial. */
  async #upgrade(): Promise<void> {
    const best = this.#deps.tracker.bestConnection(this.#peer);
    let remote = this.remote();
    if (!best || this.#deps.tracker.pathOf(best).kind !== 'relayed' || !remote) return;
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(DEFAULT_TIMEOUTS.punchMs + 4000)]);
    // only the initiator starts the in-band WebRTC dial (both sides racing would collide), and only
    // with a peer that offers ICE at all
    if (this.role === 'initiator' && remote.ice && this.#deps.punchEnabled) {
      const circuit = best.remoteAddr.toString();
      const webrtcAddr = multiaddr(circuit.replace(/\/p2p\/[^/]+$/, '')).encapsulate(`/webrtc/p2p/${this.#peer}`);
      const r = await this.dialer.dial('upgrade', [webrtcAddr], DEFAULT_TIMEOUTS.punchMs + 3000, signal);
      if (r.conn) return;
    }
    remote = this.remote() ?? remote; // a connect() may have run meanwhile
    // the addresses from the connect info and those identify learned over the relayed connection
    const known = new Map(this.dialer.directAddrs(remote).map((a) => [a.toString(), a]));
    try {
      const p = await this.#deps.libp2p.peerStore.get(this.dialer.peerId);
      for (const a of p.addresses) {
        const s = a.multiaddr.toString();
        if (!s.includes('p2p-circuit') && !s.includes('/webrtc/')) known.set(s, withP2p(s, this.#peer));
      }
    } catch {
      /* not in the peer store */
    }
    await this.dialer.dial('upgrade', [...known.values()], DEFAULT_TIMEOUTS.directMs, signal);
  }

  #closeRelayed(): void {
    const { libp2p, tracker } = this.#deps;
    for (const c of libp2p.getConnections(this.dialer.peerId)) {
      if (
        tracker.pathOf(c).kind === 'relayed' &&
        PATH_RANK[tracker.pathOf(tracker.bestConnection(this.#peer) ?? c).kind] < PATH_RANK.relayed
      ) {
        // give streams on the relayed connection a moment to move over
        setTimeout(() => void c.close().catch(() => c.abort(new Error('upgraded'))), 2000).unref();
      }
    }
  }
}
