// Runs in: Node. Relay and reflector roles seen from the market: posting this node's NodeAnnounce on
// the market topic (refreshed before its TTL), keeping a table of the relays and reflectors other
// nodes announce, health-checking them and holding relay reservations on the healthy ones (so a
// NATed node is reachable; the seller's ServiceAccept.relays come from those reservations).
import type { Address } from '@solana/kit';
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from '../log';
import type { Db } from '../store/db';
import { RoleStore } from '../store/roles';
import type { LedgerClient, NodeAnnounce, Received } from '../ledger/types';
import { addressToPeerId } from '../identity/identity';
import { RelayPayChecker } from './relay-pay';
import {
  autoRoleDecision,
  checkRelayHealth,
  iceServers,
  multiaddrIp,
  pickRoles,
  publicVerdict,
  relayAddrs,
  udpResponder,
  type AutoRoleInput,
} from '../net/index';
import type { HealthResult, NatReport, NetNode, RoleCandidate } from '../net/index';

export interface RoleTiming {
  /** NodeAnnounce TTL (s); refreshed at half of it. */
  announceTtlSec: number;
  /** Re-check the health of known relays/reflectors this often (ms). */
  healthIntervalMs: number;
  /** Hold reservations on at most this many relays. */
  maxRelays: number;
  /** A priced relay cuts a circuit whose peers have not paid this long after it opened or after
   *  its paid time ran out (ms). */
  relayGraceMs: number;
  /** A priced relay reads the shares paid to it this often while it carries circuits (ms). */
  relayPayPollMs: number;
}

/** First re-check of a relay/reflector whose health check failed (doubles with each failure). */
const RECHECK_FAILED_MS = 5000;

/** One health check (dial + ping + STUN) gets this long; all due candidates are checked at once,
 *  so a dead one (its announcement still live on the ledger) costs this much once, not a stall. */
export const HEALTH_BUDGET_MS = 4000;

export const DEFAULT_ROLE_TIMING: RoleTiming = {
  announceTtlSec: 3600,
  healthIntervalMs: 60_000,
  maxRelays: 2,
  relayGraceMs: 30_000,
  relayPayPollMs: 3000,
};

/** A NodeAnnounce may live at most this long past its landing: it bounds how far back a new
 *  node reads the market topic for the directory (market.ts) and what the directory keeps. */
export const MAX_ANNOUNCE_TTL_SEC = 2 * 3600;

/** A dial-back that did not come is asked for again after this long (not every health round). */
const DIALBACK_RETRY_MS = 10 * 60_000;

/** The NodeAnnounce list fields the ledger catalog accepts (6 addresses of ≤ 200 chars). */
const MAX_ANNOUNCE_ADDRS = 6;

/** At most 6 addresses: the reflector's UDP responders (net appends them last) must survive the cut. */
function fitAddrs(addrs: string[]): string[] {
  const ok = addrs.filter((a) => a.length <= 200);
  const udp = ok.filter((a) => udpResponder(a) !== undefined).slice(0, 2);
  return [...udp, ...ok.filter((a) => !udp.includes(a))].slice(0, MAX_ANNOUNCE_ADDRS);
}

export interface KnownRole extends RoleCandidate {
  health?: HealthResult;
  /** Unix ms of the last health check. */
  checkedAt?: number;
}

export class RoleDirectory {
  readonly #candidates = new Map<string, RoleCandidate>();
  readonly #health = new Map<string, HealthResult & { at: number; fails: number }>();
  /** A refresh sooner than the health interval, after a failed check (a busy relay, a lost packet). */
  #retryTimer: NodeJS.Timeout | null = null;
  readonly #timing: RoleTiming;
  #announceTimer: NodeJS.Timeout | null = null;
  #healthTimer: NodeJS.Timeout | null = null;
  #refreshing: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  /** The public IP a reflector's dial-back confirmed. */
  #confirmedIp: string | null = null;
  /** When a dial-back last failed (for that IP): asked again after DIALBACK_RETRY_MS only. */
  #dialbackFailed: { ip: string; at: number } | null = null;
  #autoRunning: Promise<void> | null = null;
  /** Health checks under way, by peer (callers share them). */
  readonly #checking = new Map<string, Promise<void>>();
  /** The relays we hold a reservation on (for 'peer:disconnect': a dead one is replaced at once). */
  readonly #held = new Set<string>();

  constructor(
    private readonly o: {
      net: NetNode;
      ledger: LedgerClient;
      marketTopic: Address;
      log: Logger;
      timing?: Partial<RoleTiming>;
      /** The latest NAT report (a public node holds no reservation; outvoted sources serve no ICE;
       *  a public verdict turns on the roles in mode 'auto'). */
      nat?: () =>
        | (Pick<NatReport, 'reachability' | 'sources' | 'mapping'> & {
            outvoted?: string[];
            publicIp?: string | null;
            filtering?: string | null;
          })
        | undefined;
      /** stun:host:port URLs from the settings, beside the reflectors. */
      stunServers?: string[];
      /** Where the directory and this node's role state are kept across restarts (migration 006). */
      db?: Db;
      /** What this node's relay charges, lamports per minute (roles.relayPrice; 0 = free). */
      relayPrice?: bigint;
      /** A reflector's health changed (one answers that did not, or one stopped answering): the
       *  node runs address discovery again when its verdict does not rest on a live reflector. */
      onReflectorHealth?: () => void;
    },
  ) {
    this.#timing = { ...DEFAULT_ROLE_TIMING, ...o.timing };
    this.#store = o.db ? new RoleStore(o.db) : undefined;
    // the relay's use today survives a restart (its daily budget is per UTC day, not per run)
    const today = this.#store?.relayUse();
    if (today) o.net.relayMeter?.seedToday(today.bytes, today.refused, today.cutUnpaid);
    // the directory of the last run: the announcements that are still alive, used at once
    const self = o.net.peerId.toString();
    for (const { fails, failedAt, ...a } of this.#store?.liveAnnouncements() ?? []) {
      if (a.peer === self || !a.roles.length) continue;
      this.#candidates.set(a.peer, a);
      // one that did not answer in the last run is skipped until its backoff is over
      if (fails && failedAt)
        this.#health.set(a.peer, { peer: a.peer, ok: false, error: 'did not answer (last run)', at: failedAt, fails });
    }
  }

  readonly #store?: RoleStore;

  /** The directory and history store (undefined without a database). */
  get store(): RoleStore | undefined {
    return this.#store;
  }

  /** The price a relay announced, lamports per minute (0n: free; undefined: not in the directory). */
  relayPrice(peer: string): bigint | undefined {
    const c = this.#candidates.get(peer);
    return c ? (c.relayPrice ?? 0n) : undefined;
  }

  /** Keep what the relay role carried today (for `axon status` and the daily budget across restarts). */
  saveRelayUse(): void {
    const u = this.o.net.relayUse();
    if (!u || !this.#store) return;
    try {
      this.#store.saveRelayUse({
        day: Math.floor(Date.now() / 86_400_000),
        bytes: u.bytesToday,
        refused: u.refused,
        cutUnpaid: u.cutUnpaid,
        rate: u.bytesPerSec,
      });
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not keep the relay use');
    }
  }

  #payChecker: RelayPayChecker | null = null;

  start(): void {
    const meter = this.o.net.relayMeter;
    if (meter && (this.o.relayPrice ?? 0n) > 0n) {
      this.#payChecker = new RelayPayChecker({
        ledger: this.o.ledger,
        meter,
        pricePerMin: this.o.relayPrice!,
        graceMs: this.#timing.relayGraceMs,
        libp2p: this.o.net.libp2p,
        pollMs: this.#timing.relayPayPollMs,
        ...(this.#store ? { store: this.#store } : {}),
        log: this.o.log,
      });
      this.#payChecker.start();
    }
    this.#saveRoleState();
    this.o.net.libp2p.addEventListener('peer:disconnect', this.#onDisconnect);
    void this.announce();
    if (this.#candidates.size > 0) void this.refresh(); // health-check and reserve on the stored ones now
    this.#healthTimer = setInterval(() => this.refresh(), this.#timing.healthIntervalMs);
    this.#healthTimer.unref();
  }

  stop(): void {
    this.o.net.libp2p.removeEventListener('peer:disconnect', this.#onDisconnect);
    this.saveRelayUse();
    this.#payChecker?.stop();
    this.#stopped = true;
    if (this.#announceTimer) clearTimeout(this.#announceTimer);
    if (this.#healthTimer) clearInterval(this.#healthTimer);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#announceTimer = this.#healthTimer = this.#retryTimer = null;
  }

  /** Post our NodeAnnounce now (no-op without a role); schedules the next refresh. Resolves true when posted. */
  async announce(): Promise<boolean> {
    if (this.#stopped) return false;
    if (this.#announceTimer) clearTimeout(this.#announceTimer);
    this.#announceTimer = null;
    const body = this.o.net.announcement(this.#timing.announceTtlSec);
    if (!body) return false;
    const msg: NodeAnnounce = {
      type: 'NodeAnnounce',
      nonce: body.nonce,
      expiresAt: body.expiresAt,
      roles: body.roles,
      multiaddrs: fitAddrs(body.multiaddrs),
      ...(body.roles.includes('relay') && (this.o.relayPrice ?? 0n) > 0n ? { relayPrice: this.o.relayPrice } : {}),
    };
    let next = (this.#timing.announceTtlSec * 1000) / 2;
    let ok = false;
    try {
      await this.o.ledger.post(this.o.marketTopic, msg);
      ok = true;
      this.o.log.info({ roles: msg.roles, addrs: msg.multiaddrs.length }, 'NodeAnnounce posted');
    } catch (e) {
      next = Math.min(next, 10_000); // e.g. no balance yet: try again soon
      this.o.log.warn({ err: (e as Error).message, retryMs: next }, 'NodeAnnounce post failed');
    }
    if (!this.#stopped) {
      this.#announceTimer = setTimeout(() => void this.announce(), next);
      this.#announceTimer.unref();
    }
    return ok;
  }

  /** A NodeAnnounce from the market topic. */
  onAnnounce(rx: Received<NodeAnnounce>): void {
    const m = rx.message;
    let peer: string;
    try {
      peer = addressToPeerId(rx.sender).toString();
    } catch {
      this.o.log.warn({ sender: rx.sender }, 'NodeAnnounce from an address that is no key: skipped');
      return;
    }
    if (peer === this.o.net.peerId.toString()) return;
    const roles = m.roles.filter((r): r is 'relay' | 'reflector' => r === 'relay' || r === 'reflector');
    if (roles.length === 0 || m.expiresAt * 1000 <= Date.now()) return;
    const landed = rx.blockTime ?? Math.floor(Date.now() / 1000);
    if (m.expiresAt > landed + MAX_ANNOUNCE_TTL_SEC) {
      this.o.log.info(
        { sender: rx.sender, expiresAt: m.expiresAt, landed },
        `NodeAnnounce living more than ${MAX_ANNOUNCE_TTL_SEC} s: skipped`,
      );
      return;
    }
    const prev = this.#candidates.get(peer);
    if (prev && prev.expiresAt >= m.expiresAt) return;
    const entry = {
      peer,
      roles,
      multiaddrs: m.multiaddrs,
      expiresAt: m.expiresAt,
      ...(m.relayPrice && roles.includes('relay') ? { relayPrice: m.relayPrice } : {}),
    };
    this.#candidates.set(peer, entry);
    try {
      this.#store?.saveAnnouncement(entry);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not keep a NodeAnnounce');
    }
    if (!prev || prev.multiaddrs.join() !== m.multiaddrs.join() || prev.roles.join() !== m.roles.join())
      this.#health.delete(peer); // new addresses or a new role (e.g. it now relays): check it again now
    this.refresh();
  }

  /** Every fresh relay/reflector we know, with its last health check. */
  known(): KnownRole[] {
    const now = Math.floor(Date.now() / 1000);
    return [...this.#candidates.values()]
      .filter((c) => c.expiresAt > now)
      .map((c) => {
        const h = this.#health.get(c.peer);
        return {
          ...c,
          ...(h ? { health: { peer: h.peer, ok: h.ok, rttMs: h.rttMs, error: h.error }, checkedAt: h.at } : {}),
        };
      });
  }

  /** A relay we hold a reservation on went away: check it again and reserve elsewhere now (not at
   *  the next health round). */
  readonly #onDisconnect = (e: CustomEvent<{ toString(): string }>): void => {
    const peer = e.detail.toString();
    if (this.#stopped || !this.#held.has(peer)) return;
    this.#held.delete(peer);
    this.#health.delete(peer);
    this.o.log.info({ relay: peer }, 'lost the connection to a reserved relay: reserving again');
    void this.refresh();
  };

  /**
   * Health-check, at once, every announced node with `role` that was never checked (or is due),
   * waiting at most `budgetMs`: address discovery asks the live ones then, not announcements
   * whose node died.
   */
  async probe(role: 'relay' | 'reflector', budgetMs = HEALTH_BUDGET_MS + 500): Promise<void> {
    const due = this.#due().filter((c) => c.roles.includes(role));
    if (due.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#checkAll(due),
      new Promise<void>((r) => {
        timer = setTimeout(r, budgetMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  /** Healthy relays, the free ones first (then the cheapest), best first within a price. */
  relays(count = this.#timing.maxRelays): RoleCandidate[] {
    const healthy = pickRoles([...this.#candidates.values()], 'relay', { health: this.#health, count: 64 }).filter(
      (c) => this.#health.get(c.peer)?.ok,
    );
    const price = (c: RoleCandidate): bigint => c.relayPrice ?? 0n;
    return healthy.sort((a, b) => (price(a) < price(b) ? -1 : price(a) > price(b) ? 1 : 0)).slice(0, count);
  }

  /** Addresses of healthy reflectors for discoverAddress (not yet checked ones only to fill up;
   *  ones that failed their last check never). */
  reflectorAddrs(count = 5): string[] {
    return this.#reflectors(count).flatMap((c) => [
      ...c.multiaddrs.filter((a) => udpResponder(a) !== undefined),
      ...relayAddrs(c),
    ]);
  }

  /** Reflectors to ask: the healthy ones (best first), then unchecked ones up to `count`. */
  #reflectors(count: number): RoleCandidate[] {
    const self = this.o.net.peerId.toString();
    const all = pickRoles([...this.#candidates.values()], 'reflector', { health: this.#health, self, count: 64 });
    const healthy = all.filter((c) => this.#health.get(c.peer)?.ok);
    return [...healthy, ...all.filter((c) => !this.#health.has(c.peer))].slice(0, count);
  }

  /** PeerIds of the reflectors whose last health check passed. */
  healthyReflectors(): string[] {
    return this.#reflectors(64)
      .filter((c) => this.#health.get(c.peer)?.ok)
      .map((c) => c.peer);
  }

  /**
   * Apply the 'auto' role rule (net/roles.ts autoRoleDecision) to the latest verdict: ask a
   * reflector for a dial-back when the verdict says public, then start or stop the roles and
   * announce the change. Called after each address discovery and each health round.
   */
  autoRoles(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#autoRunning ??= this.#autoRoles().finally(() => {
      this.#autoRunning = null;
    });
    return this.#autoRunning;
  }

  async #autoRoles(): Promise<void> {
    const net = this.o.net;
    const before = net.roleState();
    if (before.relay.mode !== 'auto' && before.reflector.mode !== 'auto') return;
    const r = this.o.nat?.();
    const report: AutoRoleInput['report'] = r
      ? {
          mapping: r.mapping,
          reachability: r.reachability,
          sources: r.sources,
          ...(r.publicIp ? { publicIp: r.publicIp } : {}),
          ...(r.filtering ? { filtering: r.filtering } : {}),
        }
      : undefined;
    const reflectors = this.#reflectors(5);
    let confirmed = net.inboundDirectSeen || (!!r?.publicIp && this.#confirmedIp === r.publicIp);
    const failed = this.#dialbackFailed;
    const retry = !failed || failed.ip !== r?.publicIp || Date.now() - failed.at >= DIALBACK_RETRY_MS;
    if (!confirmed && retry && r?.publicIp && publicVerdict(report) && reflectors.length > 0) {
      const ok = await net.requestDialback(reflectors.flatMap(relayAddrs), r.publicIp, AbortSignal.timeout(20_000));
      if (ok) this.#confirmedIp = r.publicIp;
      this.#dialbackFailed = ok ? null : { ip: r.publicIp, at: Date.now() };
      confirmed = ok || net.inboundDirectSeen;
    }
    if (this.#stopped) return;
    const listenIps = net
      .multiaddrs()
      .filter((a) => !a.includes('p2p-circuit'))
      .map((a) => multiaddrIp(multiaddr(a)))
      .filter((ip): ip is string => !!ip);
    const d = autoRoleDecision({ report, listenIps, confirmed, reflectorsKnown: reflectors.length });
    await net.setAutoRole('relay', d.relay, d.reason);
    await net.setAutoRole('reflector', d.reflector, d.reason);
    const after = net.roleState();
    if (after.relay.reason !== before.relay.reason || after.reflector.reason !== before.reflector.reason)
      this.#saveRoleState();
    if (after.relay.active !== before.relay.active || after.reflector.active !== before.reflector.active) {
      this.o.log.info({ relay: after.relay, reflector: after.reflector }, 'roles changed');
      void this.announce();
    }
  }

  #saveRoleState(): void {
    if (!this.#store) return;
    try {
      const st = this.o.net.roleState();
      for (const role of ['relay', 'reflector'] as const) this.#store.saveRoleState({ role, ...st[role] });
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not keep the role state');
    }
  }

  /** The STUN servers ICE should use now, best first (net/roles.ts iceServers). */
  iceServers(): string[] {
    const report = this.o.nat?.();
    return iceServers({
      candidates: [...this.#candidates.values()],
      health: this.#health,
      configured: this.o.stunServers ?? [],
      self: this.o.net.peerId.toString(),
      ...(report ? { report } : {}),
    });
  }

  /** Health-check what is due, then hold reservations on the healthy relays. Coalesces calls. */
  refresh(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        await this.#checkHealth();
        await this.#reserve();
        await this.autoRoles();
        this.saveRelayUse();
      } while (this.#again && !this.#stopped);
    })()
      .catch((e) => this.o.log.warn({ err: (e as Error).message }, 'role refresh failed'))
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  /** Fresh candidates never checked, or whose last check is older than its recheck time. */
  #due(): RoleCandidate[] {
    const now = Date.now();
    return this.known().filter((c) => {
      const h = this.#health.get(c.peer);
      return !h || now - h.at >= this.#recheckMs(h);
    });
  }

  /** Check these candidates, all at once (a check already under way for one is shared). */
  async #checkAll(due: RoleCandidate[]): Promise<void> {
    let reflectorChanged = false;
    await Promise.all(
      due.map((c) => {
        let run = this.#checking.get(c.peer);
        if (!run) {
          run = (async () => {
            const h = await checkRelayHealth(this.o.net.libp2p, c, HEALTH_BUDGET_MS);
            if (this.#stopped) return;
            const before = this.#health.get(c.peer);
            const fails = h.ok ? 0 : (before?.fails ?? 0) + 1;
            this.#health.set(c.peer, { ...h, at: Date.now(), fails });
            if (c.roles.includes('reflector') && before?.ok !== h.ok) reflectorChanged = true;
            if (!h.ok) this.o.log.info({ peer: c.peer, err: h.error, fails }, 'relay/reflector unhealthy');
            if (!before || before.ok !== h.ok || !h.ok)
              try {
                this.#store?.saveHealth(c.peer, h.ok);
              } catch (e) {
                this.o.log.warn({ err: (e as Error).message }, 'could not keep a health check');
              }
          })().finally(() => this.#checking.delete(c.peer));
          this.#checking.set(c.peer, run);
        }
        return run;
      }),
    );
    if (reflectorChanged && !this.#stopped) this.o.onReflectorHealth?.();
  }

  async #checkHealth(): Promise<void> {
    await this.#checkAll(this.#due());
    // a failed check is tried again soon (5 s, 10 s, 20 s … up to the health interval), so one
    // check that failed while a relay or this machine was busy does not strand us without relays
    const soonest = Math.min(
      ...[...this.#health.values()].filter((h) => !h.ok).map((h) => h.at + this.#recheckMs(h) - Date.now()),
    );
    if (Number.isFinite(soonest) && !this.#stopped && !this.#retryTimer) {
      this.#retryTimer = setTimeout(
        () => {
          this.#retryTimer = null;
          void this.refresh();
        },
        Math.max(1000, soonest),
      );
      this.#retryTimer.unref();
    }
  }

  /** How long a health result holds: the interval when healthy; after n failures 5 s · 2^(n−1). */
  #recheckMs(h: { ok: boolean; fails: number }): number {
    if (h.ok) return this.#timing.healthIntervalMs;
    return Math.min(this.#timing.healthIntervalMs, RECHECK_FAILED_MS * 2 ** Math.max(0, h.fails - 1));
  }

  /** Hold reservations on up to maxRelays healthy relays: one after the other, best first, going
   *  on down the list past any that refuses or does not answer (it counts as a failed check). */
  async #reserve(): Promise<void> {
    if (this.#stopped || this.o.nat?.()?.reachability === 'public') return;
    const held = new Set(this.heldRelays());
    for (const p of held) this.#held.add(p);
    let room = this.#timing.maxRelays - held.size;
    if (room <= 0) return;
    const got: string[] = [];
    for (const c of this.relays(64).filter((r) => !held.has(r.peer))) {
      if (room <= 0 || this.#stopped) break;
      const addr = relayAddrs(c)[0];
      if (!addr) continue;
      const ok = (await this.o.net.useRelays([addr], HEALTH_BUDGET_MS * 2)).length > 0;
      if (ok) {
        got.push(c.peer);
        this.#held.add(c.peer);
        room--;
        continue;
      }
      const fails = (this.#health.get(c.peer)?.fails ?? 0) + 1;
      this.#health.set(c.peer, { peer: c.peer, ok: false, error: 'reservation failed', at: Date.now(), fails });
      this.o.log.info({ relay: c.peer, fails }, 'relay reservation failed: trying the next one');
    }
    if (got.length) this.o.log.info({ relays: got }, 'relay reservations');
  }

  /** PeerIds of the relays we hold a reservation on (from our /p2p-circuit addresses). */
  heldRelays(): string[] {
    const out = new Set<string>();
    for (const a of this.o.net.multiaddrs()) {
      const m = /\/p2p\/([^/]+)\/p2p-circuit/.exec(a);
      if (m) out.add(m[1]!);
    }
    return [...out];
  }
}
