import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  FrameError,
  KIND_DATA,
  KIND_PING,
  MAX_FRAME_BYTES,
  encodeControl,
  encodeData,
  encodePing,
} from '../../src-main/core/market/frames';
import { StreamHub } from '../../src-main/core/market/hub';
import { greatCircleStep } from '../../src-main/core/market/sources/synthetic';
import { parseSourceSpec } from '../../src-main/core/market/sources/index';

describe('stream frames', () => {
  it('round-trips data, ping and control frames split at any byte boundary', () => {
    const payload = new TextEncoder().encode('{"hello":1}');
    const wire = Buffer.concat([
      encodeData(2 ** 40 + 7, 1_764_000_000_123, payload),
      encodePing(KIND_PING, 99),
      encodeControl({ t: 'ticket', v: 1, requestId: 'abcdefgh12', streamId: 'adsb', lastSeq: 5 }),
    ]);
    const d = new FrameDecoder();
    const out = [];
    for (const b of wire) out.push(...d.push(Uint8Array.of(b)));
    expect(out).toHaveLength(3);
    expect(out[0]).toMatchObject({ kind: KIND_DATA, seq: 2 ** 40 + 7, ts: 1_764_000_000_123 });
    expect(out[1]).toEqual({ kind: KIND_PING, ts: 99 });
    expect(out[2]).toMatchObject({ control: { t: 'ticket', requestId: 'abcdefgh12', lastSeq: 5 } });
  });

  it('decodes the same frames whatever the chunking, chunks spanning several frames included', () => {
    const payloads = [5, 300, 70_000, 1, 4096].map((n, i) =>
      Uint8Array.from({ length: n }, (_, k) => (k * 7 + i) & 0xff),
    );
    const wire = Buffer.concat(payloads.map((p, i) => encodeData(i, 1000 + i, p)));
    for (const size of [3, 7, 50, 1000, 65_536, wire.length]) {
      const d = new FrameDecoder();
      const out = [];
      for (let off = 0; off < wire.length; off += size) out.push(...d.push(wire.subarray(off, off + size)));
      expect(out.map((f) => ('seq' in f ? f.seq : -1))).toEqual([0, 1, 2, 3, 4]);
      out.forEach((f, i) =>
        expect(Buffer.from((f as { payload: Uint8Array }).payload).equals(Buffer.from(payloads[i]!))).toBe(true),
      );
      expect(d.buffered).toBe(0);
    }
  });

  it('rejects oversize frames, unknown kinds and invalid control JSON', () => {
    const big = new Uint8Array(5);
    new DataView(big.buffer).setUint32(0, MAX_FRAME_BYTES + 1);
    expect(() => new FrameDecoder().push(big)).toThrow(FrameError);
    expect(() => new FrameDecoder().push(Uint8Array.of(0, 0, 0, 1, 77))).toThrow(/unknown frame kind/);
    const bad = encodeControl({ t: 'end', reason: 'x' });
    bad[bad.length - 2] = 0x7b; // break the JSON
    expect(() => new FrameDecoder().push(bad)).toThrow(/CONTROL/);
    const evil = new TextEncoder().encode(JSON.stringify({ t: 'ticket', v: 1, requestId: '../../etc', streamId: 'a' }));
    const f = new Uint8Array(5 + evil.length);
    new DataView(f.buffer).setUint32(0, 1 + evil.length);
    f[4] = 4;
    f.set(evil, 5);
    expect(() => new FrameDecoder().push(f)).toThrow(/requestId/);
  });
});

describe('fan-out hub', () => {
  it('drops the oldest frames of a slow subscriber only, and replays on resume', () => {
    const hub = new StreamHub('s', { replayFrames: 10 });
    const slow = hub.subscribe({ maxQueueFrames: 3 }).sub;
    const fast = hub.subscribe({ maxQueueFrames: 100 }).sub;
    for (let i = 0; i < 20; i++) hub.publish(Uint8Array.of(i));
    expect(slow.length).toBe(3);
    expect(slow.dropped).toBe(17);
    expect(slow.shift()!.seq).toBe(17);
    expect(fast.length).toBe(20);
    expect(fast.dropped).toBe(0);
    const r = hub.subscribe({ lastSeq: 14 });
    expect(r.nextSeq).toBe(15);
    expect(r.missed).toBe(0);
    expect(r.sub.length).toBe(5);
    const old = hub.subscribe({ lastSeq: 2 });
    expect(old.missed).toBe(7); // 3..9 fell out of the 10-frame replay buffer
    expect(old.nextSeq).toBe(10);
  });
});

describe('sources', () => {
  it('moves along a great circle at the requested distance', () => {
    const p = greatCircleStep(50, 8, 90, 111_195);
    expect(p.lat).toBeLessThan(50);
    expect(p.lon).toBeGreaterThan(9.5);
    expect(p.lon).toBeLessThan(9.6);
    expect(p.bearing).toBeGreaterThan(90);
  });
  it('parses command-line source specs with clear errors', () => {
    expect(parseSourceSpec('adsb')).toEqual({ kind: 'adsb' });
    expect(parseSourceSpec('tcp:127.0.0.1:30003')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 30003 });
    expect(parseSourceSpec('udp:5000')).toEqual({ kind: 'udp', port: 5000 });
    expect(parseSourceSpec('cmd:echo hi')).toEqual({ kind: 'command', command: 'echo', args: ['hi'] });
    expect(() => parseSourceSpec('ftp://x')).toThrow(/unknown source/);
    expect(() => parseSourceSpec('tcp:99999')).toThrow(/bad source/);
  });
});
