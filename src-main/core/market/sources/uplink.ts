// Runs in: Node. The uplink: buyers of a listing sending bytes up the same encrypted stream to the
// seller's source — a TCP/UDP device, a command's stdin, an MQTT topic (e.g. a MAVLink command to
// a drone). Off by default: a source accepts messages only when its config has `uplink`, from the
// buyers it names (or every buyer when it names none), within a rate limit (messages and bytes per
// second, a one-second burst). Messages go only to the source's own device / stdin / the topic the
// seller named: never anywhere else on the seller's machine. Counted per sale (SessionInfo).
import { z } from 'zod';
import { isAddress } from '@solana/kit';
import type { UplinkNotice } from '../frames';

export const UplinkConfigSchema = z
  .object({
    /** Solana addresses of the buyers allowed to send; omitted = every buyer of the listing. */
    buyers: z
      .array(z.string().refine((s) => isAddress(s), 'not a Solana address'))
      .max(1000)
      .optional(),
    messagesPerSec: z.number().int().min(1).max(10_000).default(10),
    bytesPerSec: z.number().int().min(1).max(10_000_000).default(4096),
    /** MQTT source only: the topic the buyers' messages are published to (required there). */
    topic: z
      .string()
      .min(1)
      .max(1024)
      .refine((t) => !/[+#]/.test(t) && !t.includes('\u0000'), 'a topic without + or #')
      .optional(),
    /** UDP source only: where the messages go; default: the address the last datagram came from. */
    to: z
      .object({
        host: z.string().min(1).max(253),
        port: z.number().int().min(1).max(65535),
      })
      .strict()
      .optional(),
  })
  .strict();
export type UplinkConfig = z.infer<typeof UplinkConfigSchema>;

/** What the stream server asks of an uplink, per session. */
export interface UplinkGrant {
  readonly messagesPerSec: number;
  readonly bytesPerSec: number;
  /** Hand a message to the source; a string is the reason it could not be delivered. */
  deliver(bytes: Uint8Array): string | null;
}

/** Per-session token bucket + counters; `notice()` says what was refused since the last time. */
export class UplinkMeter {
  received = 0;
  bytes = 0;
  delivered = 0;
  refused = 0;
  #msgTokens: number;
  #byteTokens: number;
  #at = Date.now();
  #pending: { code: UplinkNotice['code']; message: string; count: number } | null = null;
  #noticeAt = 0;

  constructor(readonly grant: UplinkGrant | { refused: string } | undefined) {
    const g = grant && 'deliver' in grant ? grant : null;
    this.#msgTokens = g?.messagesPerSec ?? 0;
    this.#byteTokens = g?.bytesPerSec ?? 0;
  }

  /** One message from the buyer: delivered, or refused (counted, and noted for the notice). */
  take(bytes: Uint8Array): void {
    this.received++;
    this.bytes += bytes.length;
    const g = this.grant;
    if (!g) return this.#refuse('not-allowed', 'this listing does not accept messages from its buyers');
    if ('refused' in g) return this.#refuse('not-allowed', g.refused);
    const now = Date.now();
    const dt = (now - this.#at) / 1000;
    this.#at = now;
    this.#msgTokens = Math.min(g.messagesPerSec, this.#msgTokens + dt * g.messagesPerSec);
    this.#byteTokens = Math.min(g.bytesPerSec, this.#byteTokens + dt * g.bytesPerSec);
    if (this.#msgTokens < 1 || this.#byteTokens < bytes.length)
      return this.#refuse(
        'rate-limited',
        `over the uplink limit of ${g.messagesPerSec} messages and ${g.bytesPerSec} bytes per second`,
      );
    this.#msgTokens -= 1;
    this.#byteTokens -= bytes.length;
    const why = g.deliver(bytes);
    if (why) return this.#refuse('device-unavailable', why);
    this.delivered++;
  }

  #refuse(code: UplinkNotice['code'], message: string): void {
    this.refused++;
    if (this.#pending && this.#pending.code === code) this.#pending.count++;
    else this.#pending = { code, message, count: (this.#pending?.count ?? 0) + 1 };
  }

  /** The notice to send now (at most one a second), or null. */
  notice(now = Date.now()): UplinkNotice | null {
    if (!this.#pending || now - this.#noticeAt < 1000) return null;
    const p = this.#pending;
    this.#pending = null;
    this.#noticeAt = now;
    return { t: 'uplink', code: p.code, refused: p.count, message: p.message.slice(0, 512) };
  }
}

/** The uplink a buyer gets on a stream: none (the listing takes no messages), refused (not one of
 *  the chosen buyers), or a grant delivering to the source. */
export function uplinkGrantFor(
  config: { uplink?: UplinkConfig } | object,
  source: { uplink?(bytes: Uint8Array): string | null } | null | undefined,
  buyer: string,
): UplinkGrant | { refused: string } | undefined {
  const cfg = 'uplink' in config ? config.uplink : undefined;
  const deliver = source?.uplink?.bind(source);
  if (!cfg || !deliver) return undefined;
  if (cfg.buyers?.length && !(cfg.buyers as string[]).includes(buyer))
    return { refused: 'the seller takes messages only from the buyers it chose' };
  return { messagesPerSec: cfg.messagesPerSec, bytesPerSec: cfg.bytesPerSec, deliver };
}
