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

export type { Source, SourceSink } from './types';
export { adsbSource, weatherSource, greatCircleStep } from './synthetic';
export { commandSource, fileTailSource, tcpSource, udpSource, webSocketSource, LineSplitter } from './io';

const format = z.string().min(1).max(128).optional();
const port = z.number().int().min(1).max(65535);
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
  z.object({ kind: z.literal('file'), path: z.string().min(1), fromStart: z.boolean().optional(), format }).strict(),
  z
    .object({ kind: z.literal('command'), command: z.string().min(1), args: z.array(z.string()).optional(), format })
    .strict(),
  z.object({ kind: z.literal('tcp'), host: z.string().optional(), port, format }).strict(),
  z.object({ kind: z.literal('udp'), host: z.string().optional(), port, format }).strict(),
  z
    .object({ kind: z.literal('websocket'), url: z.string().regex(/^wss?:\/\//, 'a ws:// or wss:// URL'), format })
    .strict(),
  /** Rebroadcast: frames of one of our purchases (the market wires it; no Source object). */
  z.object({ kind: z.literal('purchase'), purchaseId: z.string().min(8).max(64) }).strict(),
]);
export type SourceConfig = z.infer<typeof SourceConfigSchema>;

/**
 * Parse a source as typed on the command line: `adsb`, `weather`, `file:PATH`, `cmd:COMMAND ARGS…`,
 * `tcp:[HOST:]PORT`, `udp:[HOST:]PORT`, `ws://…` / `wss://…`.
 */
export function parseSourceSpec(spec: string): SourceConfig {
  const s = spec.trim();
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
  else
    throw new Error(
      `unknown source '${spec}': use adsb, weather, file:PATH, cmd:COMMAND, tcp:[HOST:]PORT, udp:[HOST:]PORT or ws://URL`,
    );
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
  }
}

export interface SourceHealth {
  healthy: boolean;
  restarts: number;
  lastError: string | null;
  lastDataAt: number | null;
  frames: number;
}

export interface SupervisorOptions {
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: Logger;
}

/** Runs one source into one hub; restarts it with exponential backoff; reports health. */
export class SourceSupervisor extends EventEmitter<{ health: [SourceHealth] }> {
  readonly health: SourceHealth = { healthy: false, restarts: 0, lastError: null, lastDataAt: null, frames: 0 };
  #running = false;
  #backoff: number;
  #timer: NodeJS.Timeout | null = null;
  #generation = 0;
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
    const changed = this.health.healthy !== healthy;
    this.health.healthy = healthy;
    this.health.lastError = lastError;
    if (changed) this.emit('health', { ...this.health });
  }
}
