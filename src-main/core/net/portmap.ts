// Runs in: Node. Router port mapping: ask the home router to forward a public port to this node's
// TCP listen port, with NAT-PMP (RFC 6886) first and UPnP-IGD v2 second (the order Tailscale uses;
// @achingbrain/nat-port-mapper speaks both, it has no PCP). The mapping is renewed before it
// expires, made again when the network changes (another local address, another router), removed
// on stop, and its public address is announced as a direct candidate (ConnectInfo, NodeAnnounce).
// Everything the router says is checked (zod) before it is believed: a router that answers junk,
// refuses, or maps to a private address gives `state: 'none'` with the reason per protocol.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { pmpNat, upnpNat, type Gateway, type PortMapping } from '@achingbrain/nat-port-mapper';
import { z } from 'zod';
import { silentLogger, type Logger } from '../log';
import { ipScope } from './addresses';
import type { PortMapProtocol, PortMapStatus } from '../store/portmap';

export type { PortMapProtocol, PortMapStatus };

export interface PortMapperOptions {
  /** The TCP port to map (the libp2p listen port). */
  port: number;
  log?: Logger;
  /** Lease asked for (s); default 7200 for NAT-PMP; UPnP's library asks at least 3600. */
  leaseSec?: number;
  /** Time budget per protocol (ms): NAT-PMP's answer, UPnP's search + mapping. */
  pmpTimeoutMs?: number;
  upnpTimeoutMs?: number;
  /** How often local addresses are compared to notice a network change (ms); default 30 s. */
  watchIntervalMs?: number;
  /** Protocols tried, in order (default NAT-PMP, then UPnP-IGD). */
  protocols?: PortMapProtocol[];
  /** The default gateway (IPv4); default: read from /proc/net/route. */
  defaultGateway?: () => string | undefined;
  /** Called with each new status (mapped, renewed, lost, stopped). */
  onChange?: (status: PortMapStatus) => void;
}

const DESCRIPTION = 'Axon';

/** What we accept from a router as a mapping (anything else is "junk"). */
const MappingSchema = z.object({
  externalHost: z.ipv4({ error: 'external address is not an IPv4 address' }),
  externalPort: z.number().int().min(1, 'external port 0').max(65535, 'external port above 65535'),
  internalPort: z.number().int().min(1).max(65535),
  protocol: z.literal('TCP', { error: 'mapping is not TCP' }),
});

/** The IPv4 default gateway from /proc/net/route (Linux); undefined elsewhere or when there is none. */
export function defaultGatewayV4(routeTable?: string): string | undefined {
  let text = routeTable;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/net/route', 'utf8');
    } catch {
      return undefined;
    }
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[1] !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(f[2] ?? '')) continue;
    const flags = parseInt(f[3] ?? '0', 16);
    if (!(flags & 0x2)) continue; // RTF_GATEWAY
    const n = parseInt(f[2]!, 16); // little-endian
    const ip = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
    if (ip !== '0.0.0.0') return ip;
  }
  return undefined;
}

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((a, b) => ((a << 8) | Number(b)) >>> 0, 0);
}

/** Our IPv4 address on the subnet of `gateway` (the address the router forwards to). */
export function localAddressFor(gateway: string): string | undefined {
  const g = v4ToInt(gateway);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // a loopback "gateway" (tests) is served on loopback; a real one never is
      if (a.family !== 'IPv4' || (a.internal && !gateway.startsWith('127.'))) continue;
      const mask = v4ToInt(a.netmask);
      if ((v4ToInt(a.address) & mask) === (g & mask)) return a.address;
    }
  }
  return undefined;
}

/** A fingerprint of the local addresses: when it changes, the network changed. */
function addressesKey(): string {
  return Object.entries(networkInterfaces())
    .flatMap(([n, l]) => (l ?? []).filter((a) => !a.internal).map((a) => `${n}=${a.address}`))
    .sort()
    .join(',');
}

function errText(e: unknown): string {
  if (e instanceof z.ZodError) return `junk answer: ${e.issues.map((i) => i.message).join('; ')}`;
  const m = e instanceof Error ? e.message : String(e);
  return m.length > 200 ? `${m.slice(0, 200)}…` : m;
}

async function withTimeout<T>(
  ms: number,
  what: string,
  f: (signal: AbortSignal) => Promise<T>,
  outer?: AbortSignal,
): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`${what}: no answer within ${ms} ms`)), ms);
  const stop = (): void => ac.abort(new Error(`${what}: stopped`));
  if (outer?.aborted) stop();
  else outer?.addEventListener('abort', stop, { once: true });
  try {
    return await Promise.race([
      f(ac.signal),
      new Promise<never>((_, reject) =>
        ac.signal.addEventListener('abort', () => reject(ac.signal.reason as Error), { once: true }),
      ),
    ]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', stop);
  }
}

/** Sizes of NAT-PMP answers (RFC 6886 §3.2, §3.3), by request opcode + 128. */
const PMP_ANSWER_SIZE: Record<number, number> = { 128: 12, 129: 16, 130: 16 };

/**
 * A NAT-PMP gateway of the library with its answers checked first: the library reads fields without
 * looking at the length (a short datagram would throw inside a socket handler) nor at the sender.
 */
function guardedPmp(gatewayIp: string): Gateway {
  const gw = pmpNat(gatewayIp, { autoRefresh: false, description: DESCRIPTION });
  const inner = gw as unknown as { onMessage(msg: Buffer, rinfo: { address: string; port: number }): void };
  const original = inner.onMessage.bind(gw);
  inner.onMessage = (msg, rinfo) => {
    if (rinfo.address !== gatewayIp || rinfo.port !== 5351) return;
    const op = msg.length >= 2 ? msg[1]! : -1;
    const want = PMP_ANSWER_SIZE[op];
    if (want === undefined || msg.length < want) return;
    original(msg, rinfo);
  };
  return gw;
}

interface Held {
  protocol: PortMapProtocol;
  gatewayHost: string;
  localHost: string;
  mapping: PortMapping;
  leaseSec: number;
  /** UPnP keeps its gateway object (its description URL); NAT-PMP makes a fresh one per request. */
  upnp?: Gateway;
}

export class PortMapper {
  readonly #o: Required<Omit<PortMapperOptions, 'onChange' | 'defaultGateway' | 'log' | 'protocols'>> &
    Pick<PortMapperOptions, 'onChange'>;
  readonly #log: Logger;
  readonly #gateway: () => string | undefined;
  readonly #protocols: PortMapProtocol[];
  #held?: Held;
  #status: PortMapStatus;
  #renewTimer?: NodeJS.Timeout;
  #watchTimer?: NodeJS.Timeout;
  #netKey = '';
  #running: Promise<PortMapStatus> | undefined;
  #stopped = false;
  /** Aborted by stop(): a search or renewal in flight ends at once. */
  readonly #stopping = new AbortController();

  constructor(opts: PortMapperOptions) {
    this.#o = {
      port: opts.port,
      leaseSec: opts.leaseSec ?? 7200,
      pmpTimeoutMs: opts.pmpTimeoutMs ?? 2000,
      upnpTimeoutMs: opts.upnpTimeoutMs ?? 5000,
      watchIntervalMs: opts.watchIntervalMs ?? 30_000,
      onChange: opts.onChange,
    };
    this.#log = opts.log ?? silentLogger;
    this.#gateway = opts.defaultGateway ?? (() => defaultGatewayV4());
    this.#protocols = opts.protocols ?? ['nat-pmp', 'upnp-igd'];
    this.#status = { state: 'searching', internalPort: opts.port, failures: [], at: Date.now() };
  }

  status(): PortMapStatus {
    return { ...this.#status, failures: [...this.#status.failures] };
  }

  /** The mapped public address as a multiaddr (without /p2p), or none. */
  addrs(): string[] {
    const e = this.#status.state === 'mapped' ? this.#status.external : undefined;
    return e ? [`/ip4/${e.ip}/tcp/${e.port}`] : [];
  }

  /** First mapping, then watch the network; resolves when the first attempt is over. */
  start(): Promise<PortMapStatus> {
    this.#netKey = addressesKey();
    this.#watchTimer = setInterval(() => {
      const k = addressesKey();
      if (k === this.#netKey) return;
      this.#netKey = k;
      this.#log.info({}, 'network changed: port mapping again');
      void this.refresh('network changed');
    }, this.#o.watchIntervalMs);
    this.#watchTimer.unref();
    return this.refresh('start');
  }

  /** Map again now (drops the mapping held, asks NAT-PMP then UPnP). Concurrent calls share one run. */
  refresh(why = 'asked'): Promise<PortMapStatus> {
    this.#running ??= this.#map(why).finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #map(why: string): Promise<PortMapStatus> {
    if (this.#stopped) return this.status();
    clearTimeout(this.#renewTimer);
    await this.#release().catch(() => undefined);
    const failures: PortMapStatus['failures'] = [];
    let held: Held | undefined;
    for (const protocol of this.#protocols) {
      try {
        held = protocol === 'nat-pmp' ? await this.#pmp() : await this.#upnp();
        break;
      } catch (e) {
        failures.push({ protocol, error: errText(e) });
      }
    }
    if (this.#stopped) {
      if (held) await this.#unmap(held).catch(() => undefined);
      return this.status();
    }
    this.#held = held;
    this.#status = held
      ? {
          state: 'mapped',
          protocol: held.protocol,
          external: { ip: held.mapping.externalHost, port: held.mapping.externalPort },
          internalPort: this.#o.port,
          gateway: held.gatewayHost,
          expiresAt: Date.now() + held.leaseSec * 1000,
          failures,
          at: Date.now(),
        }
      : { state: 'none', internalPort: this.#o.port, failures, at: Date.now() };
    if (held) {
      this.#log.info(
        { protocol: held.protocol, external: this.#status.external, port: this.#o.port, why },
        'router port mapping held',
      );
      this.#renewTimer = setTimeout(() => void this.#renew(), (held.leaseSec * 1000) / 2);
      this.#renewTimer.unref();
    } else this.#log.info({ failures, why }, 'no router port mapping');
    this.#o.onChange?.(this.status());
    return this.status();
  }

  /** Renew the mapping held (same protocol); when the router no longer grants it, search again. */
  async #renew(): Promise<void> {
    const held = this.#held;
    if (!held || this.#stopped) return;
    try {
      const m = held.protocol === 'nat-pmp' ? await this.#pmpRequest(held.gatewayHost, held.localHost) : undefined;
      if (held.protocol === 'upnp-igd' && held.upnp) {
        const again = await withTimeout(
          this.#o.upnpTimeoutMs,
          'UPnP renewal',
          (signal) => held.upnp!.map(this.#o.port, held.localHost, this.#mapOpts(signal)),
          this.#stopping.signal,
        );
        this.#check(again);
        if (again.externalPort !== held.mapping.externalPort) throw new Error('router moved the mapping');
      } else if (m && m.externalPort !== held.mapping.externalPort) throw new Error('router moved the mapping');
      this.#status = { ...this.#status, expiresAt: Date.now() + held.leaseSec * 1000, at: Date.now() };
      this.#o.onChange?.(this.status());
      this.#renewTimer = setTimeout(() => void this.#renew(), (held.leaseSec * 1000) / 2);
      this.#renewTimer.unref();
    } catch (e) {
      this.#log.warn({ protocol: held.protocol, err: errText(e) }, 'port mapping renewal failed: mapping again');
      await this.refresh(`renewal failed: ${errText(e)}`);
    }
  }

  #mapOpts(signal: AbortSignal): {
    protocol: 'TCP';
    ttl: number;
    description: string;
    autoRefresh: false;
    externalPort: number;
    signal: AbortSignal;
  } {
    return {
      protocol: 'TCP',
      ttl: this.#o.leaseSec * 1000,
      description: DESCRIPTION,
      autoRefresh: false,
      externalPort: this.#o.port,
      signal,
    };
  }

  #check(m: PortMapping): PortMapping {
    const ok = MappingSchema.parse(m);
    if (ipScope(ok.externalHost) !== 'public')
      throw new Error(`router's external address ${ok.externalHost} is not public (a NAT behind a NAT)`);
    return m;
  }

  async #pmpRequest(gatewayIp: string, localHost: string): Promise<PortMapping> {
    const gw = guardedPmp(gatewayIp);
    try {
      return await withTimeout(
        this.#o.pmpTimeoutMs,
        `NAT-PMP at ${gatewayIp}`,
        async (signal) =>
          // NAT-PMP's library writes `ttl` as it gets it into the lifetime field (seconds)
          this.#check(await gw.map(this.#o.port, localHost, { ...this.#mapOpts(signal), ttl: this.#o.leaseSec })),
        this.#stopping.signal,
      );
    } finally {
      await gw.stop().catch(() => undefined);
    }
  }

  async #pmp(): Promise<Held> {
    const gatewayIp = this.#gateway();
    if (!gatewayIp) throw new Error('no IPv4 default gateway');
    const localHost = localAddressFor(gatewayIp);
    if (!localHost) throw new Error(`no local address on the gateway ${gatewayIp}'s subnet`);
    const mapping = await this.#pmpRequest(gatewayIp, localHost);
    return { protocol: 'nat-pmp', gatewayHost: gatewayIp, localHost, mapping, leaseSec: this.#o.leaseSec };
  }

  async #upnp(): Promise<Held> {
    const client = upnpNat({ autoRefresh: false, description: DESCRIPTION });
    return withTimeout(
      this.#o.upnpTimeoutMs,
      'UPnP-IGD',
      async (signal) => {
        let found = false;
        for await (const gw of client.findGateways({ signal, searchInterval: 1000 })) {
          found = true;
          const localHost = localAddressFor(gw.host);
          if (!localHost) continue;
          try {
            const mapping = this.#check(await gw.map(this.#o.port, localHost, this.#mapOpts(signal)));
            // the library asks at least an hour (UPnP routers often refuse shorter leases)
            return {
              protocol: 'upnp-igd' as const,
              gatewayHost: gw.host,
              localHost,
              mapping,
              leaseSec: Math.max(3600, this.#o.leaseSec),
              upnp: gw,
            };
          } catch (e) {
            await gw.stop().catch(() => undefined);
            throw e;
          }
        }
        throw new Error(found ? 'no IGD on a local subnet' : 'no UPnP-IGD v2 gateway answered the search');
      },
      this.#stopping.signal,
    );
  }

  async #unmap(h: Held): Promise<void> {
    if (h.protocol === 'nat-pmp') {
      const gw = guardedPmp(h.gatewayHost);
      try {
        await withTimeout(this.#o.pmpTimeoutMs, 'NAT-PMP unmap', (signal) => gw.unmap(this.#o.port, { signal }));
      } finally {
        // nothing is left in the library's refresh table: stop() only closes the socket
        await gw.stop().catch(() => undefined);
      }
    } else if (h.upnp) {
      const gw = h.upnp;
      await withTimeout(this.#o.upnpTimeoutMs, 'UPnP unmap', (signal) => gw.stop({ signal }));
    }
  }

  async #release(): Promise<void> {
    const h = this.#held;
    this.#held = undefined;
    if (h) await this.#unmap(h);
  }

  /** Remove the mapping from the router and stop watching. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    clearTimeout(this.#renewTimer);
    clearInterval(this.#watchTimer);
    await this.#running?.catch(() => undefined);
    await this.#release().catch((e: unknown) =>
      this.#log.info({ err: errText(e) }, 'port mapping not removed (it lapses by itself)'),
    );
    // the store keeps the last status: `axon status` shows it as "at the last run"
    this.#status = { state: 'none', internalPort: this.#o.port, failures: [], at: Date.now() };
  }
}

/** The status of a node whose setting turned port mapping off. */
export function portMapOff(port: number): PortMapStatus {
  return { state: 'off', internalPort: port, failures: [], at: Date.now() };
}
