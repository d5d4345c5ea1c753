// Byte-exact streams on the product path: a seller node reads a real device protocol (binary Beast
// over TCP, MAVLink v2 over UDP generated with node-mavlink), a buyer node on loopback buys it on
// the real local ledger, and the buyer's raw outputs (a TCP port, a UDP forwarder, a raw file)
// hand on exactly the bytes the device emitted.
import { describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MavLinkProtocolV2, minimal, common } from 'node-mavlink';
import type { AxonNode } from '../../src-main/core/node';
import type { RawSinksInput } from '../../src-main/core/market/sinks/raw';
import { tempDir, waitFor } from './market-helpers';
import { listingOnBuyer, useSellerAndBuyer } from './seller-buyer';

const SOL = 1_000_000_000n;
let seller: AxonNode;
let buyer: AxonNode;
const pair = useSellerAndBuyer(SOL, (p) => ({ seller, buyer } = p));

/** A Beast frame (as readsb/dump1090 emit on port 30005): 0x1a, type, 6-byte MLAT clock, signal,
 *  the Mode S message; every 0x1a after the start byte doubled. */
function beast(type: '1' | '2' | '3', mlat: number, signal: number, msgHex: string): Buffer {
  const body = Buffer.alloc(7);
  body.writeUIntBE(mlat, 0, 6);
  body[6] = signal;
  const raw = Buffer.concat([Buffer.from(type, 'latin1'), body, Buffer.from(msgHex, 'hex')]);
  const out: number[] = [0x1a];
  for (const b of raw) {
    out.push(b);
    if (b === 0x1a) out.push(0x1a);
  }
  return Buffer.from(out);
}

/** Real Mode S messages (airborne position, identification, velocity, short surveillance). */
const MODES = [
  '8D4840D6202CC371C32CE0576098',
  '8D40621D58C382D690C8AC2863A7',
  '8D485020994409940838175B284F',
  '5D4840D6A0A1A3',
];

function freeTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function buyAndStream(streamId: string, raw: RawSinksInput): Promise<{ id: string; tcpPort: number | null }> {
  const listingId = `${seller.identity.address}:${streamId}`;
  await listingOnBuyer(pair, streamId);
  const p = await buyer.buy(listingId, { minutes: 5, raw });
  const stats = await waitFor(() => buyer.purchaseOutputs(p.id), 20_000, 'raw outputs open');
  return { id: p.id, tcpPort: stats.tcpPort };
}

describe('byte-exact streams', () => {
  it('Beast over TCP (raw framing): the raw TCP port and the raw file carry exactly the device bytes', async () => {
    // the "receiver": serves Beast on TCP like readsb's 30005, bytes written when the test says so
    const devClients = new Set<Socket>();
    const dev: Server = createServer((s) => {
      devClients.add(s);
      s.on('close', () => devClients.delete(s));
    });
    await new Promise<void>((r) => dev.listen(0, '127.0.0.1', r));
    pair.cleanups.unshift(() => new Promise<void>((r) => dev.close(() => r())));
    const devPort = (dev.address() as AddressInfo).port;
    await seller.sell({
      streamId: 'beast',
      title: 'Beast feed',
      format: 'application/x-beast',
      source: { kind: 'tcp', port: devPort, framing: 'raw' },
      priceDirect: 60_000n,
    });
    await waitFor(() => devClients.size > 0, 10_000, 'seller connected to the receiver');

    const t = tempDir();
    pair.cleanups.unshift(t.cleanup);
    const rawFile = join(t.dir, 'beast.bin');
    const { id, tcpPort } = await buyAndStream('beast', { tcp: { port: 0 }, file: rawFile });
    expect(tcpPort).toBeGreaterThan(0);
    // a tar1090-style client on the buyer's raw port
    const got: Buffer[] = [];
    const client = connect(tcpPort!, '127.0.0.1');
    client.on('data', (d: Buffer) => got.push(d));
    pair.cleanups.unshift(() => void client.destroy());
    await new Promise<void>((r) => client.once('connect', () => r()));
    await waitFor(() => buyer.purchaseOutputs(id)!.tcpClients === 1, 5000, 'client counted');
    await waitFor(() => buyer.purchase(id)!.state === 'streaming', 20_000, 'streaming');

    // 400 frames with MLAT clocks and signals that contain 0x1a (escaped), 0x0a and 0x0d bytes
    const frames: Buffer[] = [];
    for (let i = 0; i < 400; i++)
      frames.push(beast(i % 7 === 0 ? '2' : '3', 0x1a0a0d000000 + i * 0x1a, (i * 37) & 0xff, MODES[i % 4]!));
    const sent = Buffer.concat(frames);
    expect(sent.includes(Buffer.from([0x1a, 0x1a]))).toBe(true);
    // written in odd slices that cut frames (and escapes) apart, as TCP may deliver them
    for (let off = 0, k = 1; off < sent.length; k++) {
      const n = 1 + ((k * 97) % 700);
      for (const s of devClients) s.write(sent.subarray(off, off + n));
      off += n;
      if (k % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => Buffer.concat(got).length >= sent.length, 15_000, 'bytes on the raw port');
    await waitFor(
      () => existsSync(rawFile) && readFileSync(rawFile).length >= sent.length,
      10_000,
      'bytes in the raw file',
    );
    expect(Buffer.concat(got).equals(sent)).toBe(true);
    expect(readFileSync(rawFile).equals(sent)).toBe(true);
    await buyer.stop(id);
    await seller.unsell('beast');
  });

  it('MAVLink v2 over UDP (datagrams): the UDP forwarder gives back each datagram, the raw file their bytes', async () => {
    const srcPort = await freeUdpPort();
    await seller.sell({
      streamId: 'mavlink',
      title: 'Drone telemetry',
      format: 'application/x-mavlink',
      source: { kind: 'udp', port: srcPort },
      priceDirect: 60_000n,
    });
    // the buyer's ground station (QGroundControl listens on UDP 14550; here a free port)
    const gcs: UdpSocket = createSocket('udp4');
    await new Promise<void>((r) => gcs.bind(0, '127.0.0.1', r));
    pair.cleanups.unshift(() => new Promise<void>((r) => gcs.close(() => r())));
    const datagrams: Buffer[] = [];
    gcs.on('message', (m) => datagrams.push(m));
    const t = tempDir();
    pair.cleanups.unshift(t.cleanup);
    const rawFile = join(t.dir, 'mav.bin');
    const tcpPort = await freeTcpPort();
    const { id } = await buyAndStream('mavlink', {
      udp: { host: '127.0.0.1', port: gcs.address().port },
      file: rawFile,
      tcp: { port: tcpPort },
    });
    expect(buyer.purchaseOutputs(id)!.tcpPort).toBe(tcpPort);
    await waitFor(() => buyer.purchase(id)!.state === 'streaming', 20_000, 'streaming');

    const proto = new MavLinkProtocolV2(1, 1);
    const sent: Buffer[] = [];
    for (let i = 0; i < 120; i++) {
      let msg;
      if (i % 3 === 0) {
        msg = new minimal.Heartbeat();
        msg.type = minimal.MavType.QUADROTOR;
        msg.autopilot = minimal.MavAutopilot.ARDUPILOTMEGA;
        msg.baseMode = minimal.MavModeFlag.CUSTOM_MODE_ENABLED;
        msg.customMode = i;
        msg.systemStatus = minimal.MavState.ACTIVE;
        msg.mavlinkVersion = 3;
      } else {
        msg = new common.GlobalPositionInt();
        msg.timeBootMs = 1000 + i * 100;
        msg.lat = 501_100_000 + i * 1000;
        msg.lon = 86_800_000 - i * 1000;
        msg.alt = 120_000 + i;
        msg.relativeAlt = 20_000;
        msg.vx = 100;
        msg.vy = -50;
        msg.vz = 0;
        msg.hdg = (i * 300) % 36_000;
      }
      sent.push(proto.serialize(msg, i & 0xff));
    }
    const tx = createSocket('udp4');
    pair.cleanups.unshift(() => new Promise<void>((r) => tx.close(() => r())));
    for (const [i, d] of sent.entries()) {
      tx.send(d, srcPort, '127.0.0.1');
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 10)); // a drone's pace, not a flood
    }
    await waitFor(() => datagrams.length >= sent.length, 15_000, 'datagrams at the ground station');
    expect(datagrams.map((d) => d.toString('hex'))).toEqual(sent.map((d) => d.toString('hex')));
    await waitFor(() => readFileSync(rawFile).length >= Buffer.concat(sent).length, 10_000, 'raw file');
    expect(readFileSync(rawFile).equals(Buffer.concat(sent))).toBe(true);
    await buyer.stop(id);
    await seller.unsell('mavlink');
  });

  it('a raw output that cannot open (TCP port taken) fails the purchase before anything is paid', async () => {
    await seller.sell({
      streamId: 'lines',
      title: 'NMEA lines',
      source: { kind: 'weather', stations: 1, hz: 5 },
      priceDirect: 60_000n,
    });
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    pair.cleanups.unshift(() => new Promise<void>((r) => taken.close(() => r())));
    const port = (taken.address() as AddressInfo).port;
    const listingId = `${seller.identity.address}:lines`;
    await listingOnBuyer(pair, 'lines');
    await expect(buyer.buy(listingId, { raw: { tcp: { port: 70_000 } } })).rejects.toThrow(/raw\.tcp\.port|tcp\.port/);
    const p = await buyer.buy(listingId, { minutes: 5, raw: { tcp: { port } } });
    const done = await waitFor(
      () => (buyer.purchase(p.id)!.state === 'failed' ? buyer.purchase(p.id) : null),
      20_000,
      'purchase failed',
    );
    expect(done!.reason).toMatch(new RegExp(`cannot serve raw bytes on 127.0.0.1:${port}.*EADDRINUSE.*nothing paid`));
    expect(done!.spent).toBe(0n);
    await seller.unsell('lines');
  });

  it('a partial length-prefixed frame at the disconnect is reported (health warning), whole frames pass', async () => {
    const devClients = new Set<Socket>();
    const dev: Server = createServer((sock) => devClients.add(sock));
    await new Promise<void>((r) => dev.listen(0, '127.0.0.1', r));
    pair.cleanups.unshift(() => {
      for (const c of devClients) c.destroy();
      return new Promise<void>((r) => dev.close(() => r()));
    });
    const warnings: string[] = [];
    seller.on('health', (h) => h.warning && warnings.push(h.warning));
    await seller.sell({
      streamId: 'lp',
      title: 'Length-prefixed',
      source: { kind: 'tcp', port: (dev.address() as AddressInfo).port, framing: 'length-prefixed' },
      priceDirect: 60_000n,
    });
    const got: Buffer[] = [];
    const t = tempDir();
    pair.cleanups.unshift(t.cleanup);
    const { id } = await buyAndStream('lp', { file: join(t.dir, 'lp.bin') });
    buyer.on('frame', (f) => f.purchaseId === id && got.push(Buffer.from(f.payload)));
    await waitFor(() => buyer.purchase(id)!.state === 'streaming', 20_000, 'streaming');
    const frame = (body: Buffer) => Buffer.concat([Buffer.from([0, body.length]), body]);
    const whole = [frame(Buffer.from([0xff, 0x00, 0xfe])), frame(Buffer.from('héllo'))];
    for (const c of devClients) c.end(Buffer.concat([...whole, Buffer.from([0, 50, 1, 2, 3])]));
    await waitFor(() => warnings.length > 0, 10_000, 'warning');
    expect(warnings[0]).toBe('dropped a partial frame of 5 bytes at the disconnect (length-prefixed)');
    await waitFor(() => got.length >= 2, 10_000, 'whole frames');
    expect(got.slice(0, 2)).toEqual(whole);
    await buyer.stop(id);
    await seller.unsell('lp');
  });
});
