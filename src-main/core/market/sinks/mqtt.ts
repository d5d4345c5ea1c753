// Runs in: Node. MQTT both ways, with mqtt.js (the maintained MQTT client for Node: MQTT 3.1.1 and
// 5, QoS 0–2, reconnects, TLS; docs/market.md "Sources and sinks"):
//   mqttSource  subscribes to a topic filter on a broker; one frame per message (datagrams)
//   MqttSink    publishes each frame of a purchase to the buyer's broker under a chosen topic
// A broker that refuses the credentials is a clear error (the source is restarted with backoff and
// says why; the sink reports it and stops trying until the purchase restarts). While the sink's
// broker is away it holds up to MQTT_SINK_QUEUE frames (and MQTT_SINK_QUEUE_BYTES) and publishes
// them once the broker is back; older ones are dropped and counted: that is the documented window.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Source, SourceSink } from '../sources/types';
import { UplinkConfigSchema } from '../sources/uplink';

export const MQTT_SINK_QUEUE = 10_000;
export const MQTT_SINK_QUEUE_BYTES = 8 * 1024 * 1024;
/** Largest message the source accepts from its broker (mqtt.js refuses larger packets). */
export const MQTT_MAX_MESSAGE = 4 * 1024 * 1024 - 64;

const brokerUrl = z
  .string()
  .max(2048)
  .regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'an mqtt://, mqtts://, ws:// or wss:// broker URL');
const qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);
const credentials = {
  username: z.string().max(256).optional(),
  password: z.string().max(1024).optional(),
};

/** A topic filter: MQTT wildcards allowed ('+' a level, '#' the rest). */
export const topicFilter = z
  .string()
  .min(1)
  .max(1024)
  .refine((t) => !t.includes('\u0000'), 'no NUL in a topic')
  .refine(
    (t) => t.split('/').every((lvl, i, all) => (lvl.includes('#') ? lvl === '#' && i === all.length - 1 : true)),
    "'#' only as the last level",
  )
  .refine((t) => t.split('/').every((lvl) => !lvl.includes('+') || lvl === '+'), "'+' only as a whole level");
/** A topic to publish to: no wildcards. */
export const topicName = z
  .string()
  .min(1)
  .max(1024)
  .refine((t) => !/[+#]/.test(t) && !t.includes('\u0000'), 'a topic to publish to has no + or # (and no NUL)');

export const MqttSourceSchema = z
  .object({
    kind: z.literal('mqtt'),
    url: brokerUrl,
    topic: topicFilter,
    qos: qos.optional(),
    ...credentials,
    format: z.string().min(1).max(128).optional(),
    /** Buyers' messages are published to `uplink.topic` on the same broker (only when set). */
    uplink: UplinkConfigSchema.optional(),
  })
  .strict();
export type MqttSourceConfig = z.infer<typeof MqttSourceSchema>;

export const MqttSinkSchema = z
  .object({
    url: brokerUrl,
    topic: topicName,
    qos: qos.default(1),
    retain: z.boolean().default(false),
    ...credentials,
  })
  .strict();
export type MqttSinkConfig = z.infer<typeof MqttSinkSchema>;

/** The reason a broker refused a connection, said for a person. */
export function brokerError(url: string, e: Error & { code?: unknown }): Error {
  const code = typeof e.code === 'number' ? e.code : null;
  if (code === 4 || code === 134)
    return new Error(`MQTT broker ${url} refused the credentials: bad user name or password`);
  if (code === 5 || code === 135)
    return new Error(`MQTT broker ${url} refused the connection: not authorized (check the user name and password)`);
  return new Error(`MQTT broker ${url}: ${e.message}`);
}

/** Strip the password from a broker URL for messages and logs. */
function safeUrl(u: string): string {
  return u.replace(/\/\/[^@/]*@/, '//');
}

function clientOptions(c: { username?: string; password?: string }, clientId: string): IClientOptions {
  return {
    clientId,
    username: c.username,
    password: c.password,
    reconnectPeriod: 500,
    connectTimeout: 5_000,
    queueQoSZero: false,
    // a refused connection is a final answer for this client (the owner restarts it with backoff)
    reconnectOnConnackError: false,
  };
}

/** Subscribe to a topic filter: one frame per message. Losing the broker fails the source
 *  (the supervisor reconnects it with backoff and the listing shows it unhealthy meanwhile). */
export function mqttSource(c: MqttSourceConfig): Source {
  let client: MqttClient | null = null;
  let stopping = false;
  const url = safeUrl(c.url);
  const topic = c.uplink?.topic;
  const uplink = topic
    ? (bytes: Uint8Array): string | null => {
        if (!client?.connected) return `the MQTT broker ${url} is not connected`;
        client.publish(topic, Buffer.from(bytes), { qos: c.qos ?? 0 });
        return null;
      }
    : undefined;
  return {
    ...(uplink ? { uplink } : {}),
    describe: () => `mqtt ${url} ${c.topic}`,
    format: c.format ?? 'application/octet-stream',
    framing: 'datagrams',
    rateMilliHz: 0,
    async start(sink: SourceSink) {
      stopping = false;
      // QoS ≥ 1: a persistent session under a stable client id, so that the broker keeps what is
      // published while the source reconnects (the window is then the broker's own queue limits)
      const persistent = (c.qos ?? 0) > 0;
      const id = persistent
        ? `axon-src-${createHash('sha256').update(`${c.url}\n${c.topic}`).digest('hex').slice(0, 16)}`
        : `axon-src-${randomBytes(6).toString('hex')}`;
      const cl = mqtt.connect(c.url, { ...clientOptions(c, id), reconnectPeriod: 0, clean: !persistent });
      client = cl;
      // listen at once: a persistent session's queued messages arrive right after the connect,
      // before the subscription is confirmed
      cl.on('message', (_topic, payload) => {
        if (payload.length > MQTT_MAX_MESSAGE) {
          sink.warn?.(`dropped an MQTT message of ${payload.length} bytes: larger than ${MQTT_MAX_MESSAGE}`);
          return;
        }
        sink.data(Uint8Array.from(payload));
      });
      await new Promise<void>((resolve, reject) => {
        cl.once('connect', () => resolve());
        cl.once('error', (e) => reject(brokerError(url, e as Error & { code?: unknown })));
        cl.once('close', () => reject(new Error(`MQTT broker ${url}: connection closed before it was up`)));
      });
      cl.removeAllListeners('error');
      cl.removeAllListeners('close');
      cl.on('error', () => undefined);
      const granted = await cl.subscribeAsync(c.topic, { qos: c.qos ?? 0 });
      if (granted.some((g) => g.qos === 128))
        throw new Error(`MQTT broker ${url} refused the subscription to '${c.topic}' (not authorized?)`);
      cl.on('close', () => {
        if (!stopping) sink.fail(new Error(`MQTT broker ${url} went away`));
      });
    },
    async stop() {
      stopping = true;
      const cl = client;
      client = null;
      if (cl) await cl.endAsync(true).catch(() => undefined);
    },
  };
}

/** Publish frames to a broker; bounded queue while the broker is away. */
export class MqttSink {
  #client: MqttClient | null = null;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  dropped = 0;
  published = 0;
  error: string | null = null;
  readonly url: string;

  constructor(
    readonly c: MqttSinkConfig,
    readonly o: { clientId: string; onError?: (e: Error) => void },
  ) {
    this.url = safeUrl(c.url);
  }

  start(): void {
    const cl = mqtt.connect(this.c.url, clientOptions(this.c, this.o.clientId));
    this.#client = cl;
    cl.on('connect', () => {
      this.error = null;
      this.#flush();
    });
    cl.on('error', (e) => {
      const err = brokerError(this.url, e as Error & { code?: unknown });
      this.error = err.message;
      this.o.onError?.(err);
    });
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** Publish (or queue while the broker is away); false when a frame had to be dropped. */
  publish(payload: Uint8Array): boolean {
    if (this.#client?.connected && this.#queue.length === 0) {
      this.#send(payload);
      return true;
    }
    this.#queue.push(payload);
    this.#queuedBytes += payload.length;
    let ok = true;
    while (
      this.#queue.length > 1 &&
      (this.#queue.length > MQTT_SINK_QUEUE || this.#queuedBytes > MQTT_SINK_QUEUE_BYTES)
    ) {
      this.#queuedBytes -= this.#queue.shift()!.length;
      this.dropped++;
      ok = false;
    }
    return ok;
  }

  #send(p: Uint8Array): void {
    this.published++;
    this.#client!.publish(this.c.topic, Buffer.from(p.buffer, p.byteOffset, p.length), {
      qos: this.c.qos,
      retain: this.c.retain,
    });
  }

  #flush(): void {
    while (this.#queue.length && this.#client?.connected) {
      const p = this.#queue.shift()!;
      this.#queuedBytes -= p.length;
      this.#send(p);
    }
  }

  async close(): Promise<void> {
    const cl = this.#client;
    this.#client = null;
    // give queued QoS ≥ 1 messages a moment to be acknowledged
    if (cl) await cl.endAsync(!cl.connected).catch(() => undefined);
  }
}
