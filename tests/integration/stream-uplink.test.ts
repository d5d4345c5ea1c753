// The uplink on the product path: a buyer sends bytes up the purchase's encrypted stream to the
// seller's source — a TCP device (a MAVLink command to a "drone"), a command's stdin — only when
// the listing takes them, only from the buyers the seller chose, rate limited, and refused with a
// reason otherwise. A flood from the buyer does not stop the data flowing down.
import { beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { MavLinkProtocolV2, common } from 'node-mavlink';
import type { AxonNode } from '../../src-main/core/node';
import type { RawSinksInput } from '../../src-main/core/market/sinks/raw';
import { Identity } from '../../src-main/core/identity/identity';
import { waitFor } from './market-helpers';
import { listingOnBuyer, useSellerAndBuyer } from './seller-buyer';

const SOL = 1_000_000_000n;
let seller: AxonNode;
let buyer: AxonNode;
const pair = useSellerAndBuyer(SOL, (p) => ({ seller, buyer } = p));
const notices: { purchaseId: string; code: string; refused: number; message: string }[] = [];

beforeAll(() => {
  buyer.on('uplink', (n) => notices.push(n));
});

/** A "drone" on TCP: sends telemetry lines every 50 ms, records every byte it is sent. */
async function drone(): Promise<{ port: number; received: () => Buffer }> {
  const got: Buffer[] = [];
  const socks = new Set<Socket>();
  const srv: Server = createServer((s) => {
    socks.add(s);
    s.on('data', (d: Buffer) => got.push(d));
    s.on('close', () => socks.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  let n = 0;
  const t = setInterval(() => {
    for (const s of socks) s.write(`telemetry ${n++}\n`);
  }, 50);
  pair.cleanups.unshift(() => {
    clearInterval(t);
    for (const s of socks) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return { port: (srv.address() as AddressInfo).port, received: () => Buffer.concat(got) };
}

async function streaming(streamId: string, raw?: RawSinksInput): Promise<string> {
  const listingId = `${seller.identity.address}:${streamId}`;
  await listingOnBuyer(pair, streamId);
  const p = await buyer.buy(listingId, { minutes: 5, ...(raw ? { raw } : {}) });
  await waitFor(() => buyer.purchase(p.id)!.state === 'streaming', 20_000, 'streaming');
  return p.id;
}

function commandLong(seq: number): Buffer {
  const c = new common.CommandLong();
  c.targetSystem = 1;
  c.targetComponent = 1;
  c.command = common.MavCmd.NAV_RETURN_TO_LAUNCH;
  c.confirmation = 0;
  return new MavLinkProtocolV2(255, 190).serialize(c, seq);
}

describe('uplink', () => {
  it('off by default: a message is refused with a reason, and the data keeps flowing', async () => {
    const d = await drone();
    await seller.sell({
      streamId: 'noup',
      title: 'No uplink',
      source: { kind: 'tcp', port: d.port },
      priceDirect: 60_000n,
    });
    const frames: number[] = [];
    const id = await streaming('noup');
    buyer.on('frame', (f) => f.purchaseId === id && frames.push(f.seq));
    buyer.uplink(id, commandLong(1));
    const n = await waitFor(() => notices.find((x) => x.purchaseId === id), 10_000, 'refusal notice');
    expect(n.code).toBe('not-allowed');
    expect(n.message).toMatch(/does not accept messages from its buyers/);
    const before = frames.length;
    await waitFor(() => frames.length > before + 5, 10_000, 'frames after the refusal');
    expect(d.received().length).toBe(0);
    await buyer.stop(id);
    await seller.unsell('noup');
  });

  it('a chosen buyer sends MAVLink commands to the TCP device, byte for byte, directly and from its ground station', async () => {
    const d = await drone();
    await seller.sell({
      streamId: 'drone',
      title: 'Drone link',
      source: {
        kind: 'tcp',
        port: d.port,
        framing: 'raw',
        uplink: { buyers: [buyer.identity.address], messagesPerSec: 20, bytesPerSec: 4096 },
      },
      priceDirect: 60_000n,
    });
    const id = await streaming('drone', { tcp: { port: 0 } });
    const cmds = [commandLong(1), commandLong(2), commandLong(3)];
    for (const c of cmds.slice(0, 2)) buyer.uplink(id, c);
    // the buyer's ground station on the raw TCP port talks back: its bytes go up too
    const gcs = connect(buyer.purchaseOutputs(id)!.tcpPort!, '127.0.0.1');
    pair.cleanups.unshift(() => void gcs.destroy());
    await new Promise<void>((r) => gcs.once('connect', () => r()));
    gcs.write(cmds[2]!);
    const want = Buffer.concat(cmds);
    await waitFor(() => d.received().length >= want.length, 10_000, 'commands at the device');
    expect(d.received().equals(want)).toBe(true);
    expect(notices.filter((x) => x.purchaseId === id)).toEqual([]);
    await buyer.stop(id);
    await seller.unsell('drone');
  });

  it('a flood is cut to the rate limit and told; the stream goes on', async () => {
    const d = await drone();
    await seller.sell({
      streamId: 'flood',
      title: 'Rate limited',
      source: { kind: 'tcp', port: d.port, uplink: { messagesPerSec: 5, bytesPerSec: 100_000 } },
      priceDirect: 60_000n,
    });
    const frames: number[] = [];
    const id = await streaming('flood');
    buyer.on('frame', (f) => f.purchaseId === id && frames.push(f.seq));
    const started = Date.now();
    for (let i = 0; i < 500; i++) buyer.uplink(id, Buffer.from(`cmd ${i}\n`));
    const n = await waitFor(
      () => notices.find((x) => x.purchaseId === id && x.code === 'rate-limited'),
      10_000,
      'rate notice',
    );
    expect(n.message).toMatch(/over the uplink limit of 5 messages/);
    const before = frames.length;
    await waitFor(() => frames.length > before + 5, 10_000, 'frames during the flood');
    const elapsed = (Date.now() - started) / 1000;
    const lines = d.received().toString().split('\n').filter(Boolean);
    // a one-second burst plus the rate over the time it took, never the 500
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(5 + Math.ceil(elapsed * 5) + 1);
    expect(lines[0]).toBe('cmd 0');
    await buyer.stop(id);
    await seller.unsell('flood');
  });

  it("a buyer the seller did not choose is refused; a command's stdin gets the chosen buyer's bytes", async () => {
    await seller.sell({
      streamId: 'echo',
      title: 'Echo',
      source: {
        kind: 'command',
        command: 'cat',
        uplink: { buyers: [Identity.generate().address] },
      },
      priceDirect: 60_000n,
    });
    const id = await streaming('echo');
    buyer.uplink(id, Buffer.from('hello\n'));
    const n = await waitFor(() => notices.find((x) => x.purchaseId === id), 10_000, 'refusal');
    expect(n.message).toMatch(/only from the buyers it chose/);
    await buyer.stop(id);

    await seller.sell({
      streamId: 'echo2',
      title: 'Echo',
      source: { kind: 'command', command: 'cat', uplink: { buyers: [buyer.identity.address] } },
      priceDirect: 60_000n,
    });
    const got: string[] = [];
    const id2 = await streaming('echo2');
    buyer.on('frame', (f) => f.purchaseId === id2 && got.push(Buffer.from(f.payload).toString()));
    buyer.uplink(id2, Buffer.from('ping 1\nping 2\n'));
    await waitFor(() => got.length >= 2, 10_000, 'echo through the command');
    expect(got.slice(0, 2)).toEqual(['ping 1', 'ping 2']);
    await buyer.stop(id2);
    await seller.unsell('echo');
    await seller.unsell('echo2');
  });
});
