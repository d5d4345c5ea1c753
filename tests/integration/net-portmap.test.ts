// The port mapper (net/portmap.ts) against a NAT-PMP gateway on loopback (RFC 6886 wire format, a
// real UDP socket on 127.0.0.1:5351): the mapping is made, renewed before its lease ends, removed at
// stop; a gateway that answers junk, or maps to a private address, leaves no mapping and a reason —
// and never crashes the node. (UPnP is left out here: its SSDP search would leave loopback; the NAT
// lab tests it against miniupnpd, tests/natlab/portmap.test.ts.)
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, test } from 'vitest';
import { PortMapper } from '../../src-main/core/net/portmap';

interface Seen {
  op: number;
  internalPort?: number;
  lifetime?: number;
}

/** A NAT-PMP gateway: `answer` builds the reply to each request (undefined = stay silent). */
async function gateway(answer: (req: Buffer, seen: Seen) => Buffer[] | undefined): Promise<{
  seen: Seen[];
  close(): Promise<void>;
}> {
  const seen: Seen[] = [];
  const s: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (msg, rinfo) => {
    const op = msg[1] ?? -1;
    const r: Seen = op === 0 ? { op } : { op, internalPort: msg.readUInt16BE(4), lifetime: msg.readUInt32BE(8) };
    seen.push(r);
    for (const out of answer(msg, r) ?? []) s.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => s.bind(5351, '127.0.0.1', resolve));
  return { seen, close: () => new Promise<void>((r) => s.close(() => r())) };
}

const externalIpAnswer = (ip: string): Buffer => {
  const b = Buffer.alloc(12);
  b.writeUInt8(128 + 0, 1);
  b.writeUInt32BE(1, 4);
  ip.split('.').forEach((x, i) => b.writeUInt8(Number(x), 8 + i));
  return b;
};
const mapAnswer = (req: Seen, externalPort: number, result = 0): Buffer => {
  const b = Buffer.alloc(16);
  b.writeUInt8(128 + req.op, 1);
  b.writeUInt16BE(result, 2);
  b.writeUInt32BE(1, 4);
  b.writeUInt16BE(req.internalPort ?? 0, 8);
  b.writeUInt16BE(externalPort, 10);
  b.writeUInt32BE(req.lifetime ?? 0, 12);
  return b;
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const mapper = (o: { leaseSec?: number } = {}): PortMapper =>
  new PortMapper({
    port: 41234,
    protocols: ['nat-pmp'],
    defaultGateway: () => '127.0.0.1',
    pmpTimeoutMs: 1000,
    ...o,
  });

describe('port mapping against a NAT-PMP gateway on loopback', () => {
  test('mapped, renewed before the lease ends, removed at stop', async () => {
    const gw = await gateway((_req, r) =>
      r.op === 0 ? [externalIpAnswer('198.18.7.2')] : [mapAnswer(r, r.lifetime === 0 ? 0 : 51234)],
    );
    cleanup.push(gw.close);
    const m = mapper({ leaseSec: 2 });
    const st = await m.start();
    expect(st).toMatchObject({ state: 'mapped', protocol: 'nat-pmp', external: { ip: '198.18.7.2', port: 51234 } });
    expect(m.addrs()).toEqual(['/ip4/198.18.7.2/tcp/51234']);
    // renewal at half the lease: a second TCP mapping request with the same lease
    await expect
      .poll(() => gw.seen.filter((s) => s.op === 2 && s.lifetime === 2).length, { timeout: 5000 })
      .toBeGreaterThanOrEqual(2);
    expect(m.status().state).toBe('mapped');
    await m.stop();
    // removal: lifetime 0 for our port (RFC 6886 §3.4)
    expect(gw.seen.some((s) => s.op === 2 && s.lifetime === 0 && s.internalPort === 41234)).toBe(true);
    expect(m.addrs()).toEqual([]);
  });

  test('junk answers (short, wrong opcode) are ignored: no crash, no mapping, the reason is recorded', async () => {
    const gw = await gateway(() => [Buffer.from([0]), Buffer.from([0, 130, 0]), Buffer.from('hello junk')]);
    cleanup.push(gw.close);
    const m = mapper();
    cleanup.push(() => m.stop());
    const st = await m.start();
    expect(st.state).toBe('none');
    expect(st.failures).toEqual([{ protocol: 'nat-pmp', error: expect.stringMatching(/no answer within 1000 ms/) }]);
  });

  test('a gateway that refuses: its own words', async () => {
    const gw = await gateway((_req, r) => (r.op === 0 ? [externalIpAnswer('198.18.7.2')] : [mapAnswer(r, 0, 2)]));
    cleanup.push(gw.close);
    const m = mapper();
    cleanup.push(() => m.stop());
    const st = await m.start();
    expect(st.state).toBe('none');
    expect(st.failures[0]?.error).toMatch(/Not Authorized\/Refused/);
  });

  test('a mapping onto a private external address (a NAT behind a NAT) is not announced', async () => {
    const gw = await gateway((_req, r) => (r.op === 0 ? [externalIpAnswer('192.168.0.1')] : [mapAnswer(r, 51234)]));
    cleanup.push(gw.close);
    const m = mapper();
    cleanup.push(() => m.stop());
    const st = await m.start();
    expect(st.state).toBe('none');
    expect(st.failures[0]?.error).toMatch(/192\.168\.0\.1 is not public/);
    expect(m.addrs()).toEqual([]);
  });
});
