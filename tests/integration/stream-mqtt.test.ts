// MQTT both ways against real brokers (Debian's mosquitto, started by the test with a password
// file): a seller's source subscribes to a topic filter on the seller's broker; the buyer's sink
// publishes the purchased stream to the buyer's broker under a topic of the buyer's choice. Each
// broker is restarted mid-stream; wrong credentials are a clear error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { join, delimiter } from 'node:path';
import { userInfo } from 'node:os';
import { createServer, connect, type AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import type { AxonNode } from '../../src-main/core/node';
import { runCleanups, startLedger, startNode, tempDir, waitFor } from './market-helpers';

const SOL = 1_000_000_000n;
const cleanups: (() => Promise<void> | void)[] = [];
let seller: AxonNode;
let buyer: AxonNode;

function which(cmd: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return join(d, cmd);
    } catch {
      /* next */
    }
  }
  throw new Error(`${cmd} not found (Debian package mosquitto; scripts/system-deps.mjs)`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A mosquitto on 127.0.0.1 with user `axon` / `secret` and persistence (restartable). */
class Broker {
  proc: ChildProcess | null = null;
  readonly url: string;
  readonly conf: string;
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.url = `mqtt://127.0.0.1:${port}`;
    const pw = join(dir, 'passwd');
    writeFileSync(pw, '');
    const r = spawnSync(which('mosquitto_passwd'), ['-b', pw, 'axon', 'secret']);
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
    this.conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      this.conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${pw}`,
        'persistence true',
        `persistence_location ${dir}/`,
        // run as root, mosquitto would switch to user 'mosquitto', who cannot read this temp dir
        `user ${userInfo().username}`,
        'log_dest stderr',
        '',
      ].join('\n'),
    );
  }
  async start(): Promise<void> {
    const p = spawn(which('mosquitto'), ['-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = p;
    let log = '';
    p.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    p.once('exit', (code) => {
      if (this.proc === p) throw new Error(`mosquitto exited (${code}): ${log}`);
    });
    await waitFor(
      () =>
        new Promise<boolean>((r) => {
          const s = connect(this.port, '127.0.0.1');
          s.once('connect', () => (s.destroy(), r(true)));
          s.once('error', () => r(false));
        }),
      10_000,
      'mosquitto listening',
    );
  }
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM'); // saves its persistence file on the way out
    await gone;
  }
}

async function client(url: string, o: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect(url, { username: 'axon', password: 'secret', reconnectPeriod: 200, ...o });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  cleanups.unshift(() => c.endAsync(true).then(() => undefined));
  return c;
}

let sellerBroker: Broker;
let buyerBroker: Broker;

beforeAll(async () => {
  // periods long enough that a broker restart (seconds without data) does not end the purchase
  const l = await startLedger();
  cleanups.push(l.cleanup);
  const timing = { periodSec: 10, graceSec: 10, dataStallMs: 30_000 };
  const [s, b] = await Promise.all([
    startNode(l.ledger, { airdrop: SOL, timing }),
    startNode(l.ledger, { airdrop: SOL, timing }),
  ]);
  cleanups.unshift(s.cleanup, b.cleanup);
  seller = s.node;
  buyer = b.node;
  const t1 = tempDir('axon-mqtt-');
  const t2 = tempDir('axon-mqtt-');
  sellerBroker = new Broker(t1.dir, await freePort());
  buyerBroker = new Broker(t2.dir, await freePort());
  await Promise.all([sellerBroker.start(), buyerBroker.start()]);
  cleanups.unshift(
    () => sellerBroker.stop(),
    () => buyerBroker.stop(),
    t1.cleanup,
    t2.cleanup,
  );
});
afterAll(async () => {
  await runCleanups(cleanups);
});

describe('MQTT source and sink', () => {
  it('sensor messages from the seller broker reach the buyer broker in order, across a restart of each broker', async () => {
    await seller.sell({
      streamId: 'greenhouse',
      title: 'Greenhouse sensors',
      format: 'application/json',
      source: {
        kind: 'mqtt',
        url: sellerBroker.url,
        topic: 'greenhouse/+/temp',
        qos: 1,
        username: 'axon',
        password: 'secret',
      },
      priceDirect: 60_000n,
    });
    const listingId = `${seller.identity.address}:greenhouse`;
    await waitFor(() => buyer.listings({}).find((l) => l.id === listingId), 15_000, 'listing');
    // the buyer's own consumer: a persistent QoS 1 session on the buyer's broker
    const got: string[] = [];
    const consumer = await client(buyerBroker.url, { clientId: 'buyer-dashboard', clean: false });
    await consumer.subscribeAsync('farm/temps', { qos: 1 });
    consumer.on('message', (_t, m) => got.push(m.toString()));

    const p = await buyer.buy(listingId, {
      minutes: 5,
      raw: { mqtt: { url: buyerBroker.url, topic: 'farm/temps', qos: 1, username: 'axon', password: 'secret' } },
    });
    await waitFor(() => buyer.purchase(p.id)!.state === 'streaming', 20_000, 'streaming');

    const sensor = await client(sellerBroker.url, { clientId: 'sensor-1' });
    const sent: string[] = [];
    let n = 0;
    const publish = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const m = JSON.stringify({ n: n++, house: 'a', temp_c: 20 + (n % 7) / 10 });
        sent.push(m);
        await sensor.publishAsync(`greenhouse/h${n % 3}/temp`, m, { qos: 1 });
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await publish(30);
    await waitFor(() => got.length >= 30, 15_000, 'first 30 on the buyer broker');

    // the buyer's broker restarts: frames meanwhile wait in the sink's queue
    await buyerBroker.stop();
    await publish(20);
    await buyerBroker.start();
    await publish(10);
    await waitFor(() => got.length >= 60, 20_000, 'all 60 after the buyer broker restart');
    expect(got).toEqual(sent);

    // the seller's broker restarts: the source reconnects (its QoS 1 session kept by the broker)
    await sellerBroker.stop();
    await sellerBroker.start();
    await publish(20);
    await waitFor(() => got.length >= 80, 30_000, 'all 80 after the seller broker restart');
    expect(got).toEqual(sent);
    await buyer.stop(p.id);
    await seller.unsell('greenhouse');
  });

  it('wrong credentials: the source and the sink say the broker refused them', async () => {
    // selling checks the source first: refused, with the broker's reason, and nothing is listed
    await expect(
      seller.sell({
        streamId: 'badcreds',
        title: 'Wrong password',
        source: { kind: 'mqtt', url: sellerBroker.url, topic: 'x/#', username: 'axon', password: 'wrong' },
        priceDirect: 60_000n,
      }),
    ).rejects.toThrow(
      new RegExp(`MQTT broker ${sellerBroker.url.replace(/[.]/g, '\\.')} refused the (credentials|connection)`),
    );
    expect(seller.ownStreams().some((o) => o.offer.streamId === 'badcreds')).toBe(false);

    await seller.sell({
      streamId: 'ok',
      title: 'Weather',
      source: { kind: 'weather', stations: 1, hz: 5 },
      priceDirect: 60_000n,
    });
    const listingId = `${seller.identity.address}:ok`;
    await waitFor(() => buyer.listings({}).find((l) => l.id === listingId), 15_000, 'listing');
    const p = await buyer.buy(listingId, {
      minutes: 5,
      raw: { mqtt: { url: buyerBroker.url, topic: 'w', username: 'nobody', password: 'x' } },
    });
    const err = await waitFor(() => buyer.purchaseOutputs(p.id)?.error, 15_000, 'sink error');
    expect(err).toMatch(/refused the (credentials|connection)/);
    await buyer.stop(p.id);
    await seller.unsell('ok');
  });
});
