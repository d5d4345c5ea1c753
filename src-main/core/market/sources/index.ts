// Runs in: Node. Seller-side sources: config (validated), factory, and the supervisor that runs a
// source into a fan-out hub, restarting it with exponential backoff when it fails. While a
// source is down it is unhealthy, and the listing says so (listing.healthy).
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { Logger } from '../../log';
import { silentLogger } from '../../log';
import type { StreamHub } from '../hub';
import { adsbSource, weatherSource } from './synthetic';
import { commandSource, fileTailSource, tcpSource, udpSource, webSocketSource } from './io';
import type { Source } from './types';
import { MqttSourceSchema, mqttSource } from '../sinks/mqtt';
import { FramingSchema, LengthPrefixSchema, type Framing } from './framing';
import { UplinkConfigSchema } from './uplink';

export type { Source, SourceSink } from './types';
export { adsbSource, weatherSource, greatCircleStep } from './synthetic';
export { commandSource, fileTailSource, tcpSource, udpSource, webSocketSource } from './io';
export { FramingSchema, rawBytes, createFramer, type Framing } from './framing';

const format = z.string().min(1).max(128).optional();
const port = z.number().int().min(1).max(65535);
/** How a byte stream is cut into frames (framing.ts); default lines. */
const framing = FramingSchema.optional();
const lengthPrefix = LengthPrefixSchema.optional();
/** Buyers may send bytes to this source (off when absent; sources/uplink.ts). */
const uplink = UplinkConfigSchema.optional();
export const SourceConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('adsb'),
      aircraft: z.number().int().min(1).max(500).optional(),
      hz: z.number().min(0.1).max(1000).optional(),
      seed: z.number().int().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('weather'),
      stations: z.number().int().min(1).max(500).optional(),
      hz: z.number().min(0.01).max(100).optional(),
      seed: z.number().int().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('file'),
      path: z.string().min(1),
      fromStart: z.boolean().optional(),
      format,
      framing,
      lengthPrefix,
    })
    .strict(),
  z
    .object({
      kind: z.literal('command'),
      command: z.string().min(1),
      args: z.array(z.string()).optional(),
      format,
      framing,
      lengthPrefix,
      uplink,
    })
    .strict(),
  z
    .object({ kind: z.literal('tcp'), host: z.string().optional(), port, format, framing, lengthPrefix, uplink })
    .strict(),
  z.object({ kind: z.literal('udp'), host: z.string().optional(), port, format, uplink }).strict(),
  z
    .object({ kind: z.literal('websocket'), url: z.string().regex(/^wss?:\/\//, 'a ws:// or wss:// URL'), format })
    .strict(),
  /** Subscribe to a topic filter on an MQTT broker: one frame per message. */
  MqttSourceSchema.refine((c) => !c.uplink || c.uplink.topic, {
    message: 'an MQTT uplink names the topic the buyers publish to (uplink.topic)',
    path: ['uplink', 'topic'],
  }),
  /** Rebroadcast: frames of one of our purchases (the market wires it; no Source object). */
  z.object({ kind: z.literal('purchase'), purchaseId: z.string().min(8).max(64) }).strict(),
]);
export type SourceConfig = z.infer<typeof SourceConfigSchema>;

/**
 * Parse a source as typed on the command line: `adsb`, `weather`, `file:PATH`, `cmd:COMMAND ARGS…`,
 * `tcp:[HOST:]PORT`, `udp:[HOST:]PORT`, `ws://…` / `wss://…`; file, cmd and tcp may end in
 * `,raw`, `,lines` or `,length-prefixed` (their framing).
 */
export function parseSourceSpec(spec: string): SourceConfig {
  // a byte-stream source may name its framing after a comma: `tcp:30005,raw`, `cmd:foo,lines`
  const comma = /,(lines|raw|length-prefixed|datagrams)$/.exec(spec.trim());
  const s = comma ? spec.trim().slice(0, comma.index) : spec.trim();
  const hostPort = (v: string): { host?: string; port: number } => {
    const i = v.lastIndexOf(':');
    const p = Number(i >= 0 ? v.slice(i + 1) : v);
    return i >= 0 ? { host: v.slice(0, i), port: p } : { port: p };
  };
  let raw: unknown;
  if (s === 'adsb' || s === 'aircraft') raw = { kind: 'adsb' };
  else if (s === 'weather') raw = { kind: 'weather' };
  else if (s.startsWith('file:')) raw = { kind: 'file', path: s.slice(5) };
  else if (s.startsWith('cmd:')) {
    const parts = s.slice(4).trim().split(/\s+/);
    raw = { kind: 'command', command: parts[0] ?? '', args: parts.slice(1) };
  } else if (s.startsWith('tcp:')) raw = { kind: 'tcp', ...hostPort(s.slice(4)) };
  else if (s.startsWith('udp:')) raw = { kind: 'udp', ...hostPort(s.slice(4)) };
  else if (/^wss?:\/\//.test(s)) raw = { kind: 'websocket', url: s };
  else if (/^mqtts?:\/\//.test(s)) {
    // mqtt://[user:pass@]host[:port]/topic/filter/#
    const m = /^(mqtts?:\/\/)(?:([^:@/]*)(?::([^@/]*))?@)?([^/]+)\/(.+)$/.exec(s);
    if (!m) throw new Error(`bad source '${spec}': use mqtt://[USER:PASS@]HOST[:PORT]/TOPIC/FILTER`);
    raw = {
      kind: 'mqtt',
      url: `${m[1]}${m[4]}`,
      topic: m[5],
      ...(m[2] ? { username: decodeURIComponent(m[2]) } : {}),
      ...(m[3] !== undefined ? { password: decodeURIComponent(m[3]) } : {}),
    };
  } else
    throw new Error(
      `unknown source '${spec}': use adsb, weather, file:PATH, cmd:COMMAND, tcp:[HOST:]PORT, udp:[HOST:]PORT ws://URL or mqtt://HOST/TOPIC (byte streams may end in ,raw ,lines or ,length-prefixed)`,
    );
  if (comma) {
    if (!['file', 'command', 'tcp'].includes((raw as { kind: string }).kind))
      throw new Error(`bad source '${spec}': only file:, cmd: and tcp: sources take a framing`);
    (raw as { framing?: string }).framing = comma[1];
  }
  const r = SourceConfigSchema.safeParse(raw);
  if (!r.success) throw new Error(`bad source '${spec}': ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
}

export function createSource(c: Exclude<SourceConfig, { kind: 'purchase' }>): Source {
  switch (c.kind) {
    case 'adsb':
      return adsbSource(c);
    case 'weather':
      return weatherSource(c);
    case 'file':
      return fileTailSource(c);
    case 'command':
      return commandSource(c);
    case 'tcp':
      return tcpSource(c);
    case 'udp':
      return udpSource(c);
    case 'websocket':
      return webSocketSource(c);
    case 'mqtt':
      return mqttSource(c);
  }
}

/** The framing a configured source produces (undefined for a rebroadcast: its origin's). */
export function framingOf(c: SourceConfig): Framing | undefined {
  switch (c.kind) {
    case 'adsb':
    case 'weather':
      return 'lines';
    case 'file':
    case 'command':
    case 'tcp':
      return c.framing ?? 'lines';
    case 'udp':
    case 'websocket':
    case 'mqtt':
      return 'datagrams';
    case 'purchase':
      return undefined;
  }
}

export interface SourceHealth {
  healthy: boolean;
  restarts: number;
  lastError: string | null;
  lastDataAt: number | null;
  frames: number;
  /** Last thing dropped while the source went on (an over-long line, a partial frame), if any. */
  lastWarning: string | null;
  warnings: number;
}

export interface SupervisorOptions {
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: Logger;
}

/** Runs one source into one hub; restarts it with exponential backoff; reports health. */
export class SourceSupervisor extends EventEmitter<{ health: [SourceHealth]; warning: [string] }> {
  readonly health: SourceHealth = {
    healthy: false,
    restarts: 0,
    lastError: null,
    lastDataAt: null,
    frames: 0,
    lastWarning: null,
    warnings: 0,
  };
  #running = false;
  #backoff: number;
  #timer: NodeJS.Timeout | null = null;
  #generation = 0;
  #warnedAt = 0;
  readonly #log: Logger;

  constructor(
    readonly source: Source,
    readonly hub: StreamHub,
    readonly opts: SupervisorOptions = {},
  ) {
    super();
    this.#backoff = opts.minBackoffMs ?? 250;
    this.#log = opts.log ?? silentLogger;
  }

  async start(): Promise<void> {
    this.#running = true;
    await this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#generation++;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.source.stop().catch(() => undefined);
    this.#set(false, this.health.lastError);
  }

  async #run(): Promise<void> {
    const gen = ++this.#generation;
    try {
      await this.source.start({
        data: (payload, ts) => {
          if (gen !== this.#generation) return;
          this.health.frames++;
          this.health.lastDataAt = Date.now();
          this.#backoff = this.opts.minBackoffMs ?? 250;
          this.hub.publish(payload, ts);
        },
        fail: (err) => {
          if (gen === this.#generation) this.#failed(err);
        },
        warn: (message) => {
          if (gen !== this.#generation) return;
          this.health.warnings++;
          this.health.lastWarning = message;
          // logged and told at most once per 5 s: a flood of bad input must not flood the log
          const now = Date.now();
          if (now - this.#warnedAt < 5000) return;
          this.#warnedAt = now;
          this.#log.warn({ source: this.source.describe(), warning: message }, 'source input dropped');
          this.emit('warning', message);
        },
      });
      if (gen === this.#generation) this.#set(true, this.health.lastError);
    } catch (e) {
      if (gen === this.#generation) this.#failed(e as Error);
    }
  }

  #failed(err: Error): void {
    this.#generation++;
    this.#log.warn(
      { source: this.source.describe(), err: err.message, retryInMs: this.#backoff },
      'source failed; restarting',
    );
    this.#set(false, err.message);
    void this.source.stop().catch(() => undefined);
    if (!this.#running) return;
    const wait = this.#backoff;
    this.#backoff = Math.min(this.opts.maxBackoffMs ?? 30_000, this.#backoff * 2);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#running) return;
      this.health.restarts++;
      void this.#run();
    }, wait);
    this.#timer.unref();
  }

  #set(healthy: boolean, lastError: string | null): void {
    // a new error is news too (a source that never came up says why, e.g. refused credentials)
    const changed = this.health.healthy !== healthy || (lastError !== null && this.health.lastError !== lastError);
    this.health.healthy = healthy;
    this.health.lastError = lastError;
    if (changed) this.emit('health', { ...this.health });
  }
}
