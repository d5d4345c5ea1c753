import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  FrameError,
  KIND_DATA,
  KIND_PING,
  KIND_SDATA,
  MAX_FRAME_BYTES,
  encodeControl,
  encodeData,
  encodePing,
} from '../../src-main/core/market/frames';
import { StreamHub, type Subscriber } from '../../src-main/core/market/hub';
import { ChainVerifier, frameChainer } from '../../src-main/core/market/frame-chain';
import { Identity } from '../../src-main/core/identity/identity';
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

  it('round-trips chained DATA frames (SDATA): a checkpoint with its chain hash and signature, a plain link with its flag', () => {
    const prev = Uint8Array.from({ length: 32 }, (_, i) => i);
    const sig = Uint8Array.from({ length: 64 }, (_, i) => 200 - i);
    const payload = new TextEncoder().encode('{"x":1}');
    const cp = encodeData(9, 1_764_000_000_000, payload, { checkpoint: { prev, sig } });
    const link = encodeData(10, 1_764_000_000_100, payload, {});
    expect(cp[4]).toBe(KIND_SDATA);
    expect(cp.length).toBe(4 + 1 + 16 + 1 + 32 + 64 + payload.length);
    expect(link.length).toBe(4 + 1 + 16 + 1 + payload.length);
    const wire = Buffer.concat([cp, link]);
    const d = new FrameDecoder();
    const out = [];
    for (const b of wire) out.push(...d.push(Uint8Array.of(b)));
    expect(out).toHaveLength(2);
    const [a, b] = out as {
      seq: number;
      chain?: { checkpoint?: { prev: Uint8Array; sig: Uint8Array } };
      payload: Uint8Array;
    }[];
    expect(a).toMatchObject({ kind: KIND_DATA, seq: 9, ts: 1_764_000_000_000 });
    expect(Buffer.from(a!.chain!.checkpoint!.prev).equals(Buffer.from(prev))).toBe(true);
    expect(Buffer.from(a!.chain!.checkpoint!.sig).equals(Buffer.from(sig))).toBe(true);
    expect(Buffer.from(a!.payload).toString()).toBe('{"x":1}');
    expect(b).toMatchObject({ kind: KIND_DATA, seq: 10, chain: {} });
    expect(b!.chain!.checkpoint).toBeUndefined();
    expect(Buffer.from(b!.payload).toString()).toBe('{"x":1}');
    // junk: an unknown flag, a checkpoint cut short, a wrong-sized signature
    const badFlag = Buffer.from(link);
    badFlag[21] = 2;
    expect(() => new FrameDecoder().push(badFlag)).toThrow(/unknown flag 2/);
    const short = Buffer.from(cp.subarray(0, 4 + 1 + 16 + 1 + 50));
    new DataView(short.buffer, short.byteOffset).setUint32(0, short.length - 4);
    expect(() => new FrameDecoder().push(short)).toThrow(/shorter than its chain hash and signature/);
    expect(() => encodeData(0, 0, payload, { checkpoint: { prev, sig: sig.subarray(1) } })).toThrow(FrameError);
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

describe('fan-out hub of a chained stream (docs/mesh.md "Tampering")', () => {
  it('a new subscriber starts at the newest checkpoint in the replay buffer; a resume at the checkpoint at or before it', () => {
    const { hub, id } = chainedHub();
    for (let i = 0; i < 25; i++) hub.publish(Buffer.from(`{"n":${i}}`), 1_700_000_000_000 + i);
    const live = hub.subscribe();
    expect(live.nextSeq).toBe(20); // checkpoints: 0, 10, 20
    expect(live.liveSeq).toBe(25); // 20..24 are replayed (the buyer keeps them out of its latency figures)
    expect(live.missed).toBe(0);
    expect(live.sub.length).toBe(5);
    expect(drain(id, live.sub)).toEqual({ seqs: [20, 21, 22, 23, 24], problem: null });
    hub.publish(Buffer.from('{"n":25}'), 1_700_000_000_025);
    expect(drain(id, live.sub, new ChainVerifier(id))).toEqual({ seqs: [25], problem: 'broken' }); // a fresh check needs a checkpoint
    const resumed = hub.subscribe({ lastSeq: 14 });
    expect(resumed.nextSeq).toBe(10);
    expect(resumed.missed).toBe(0);
    expect(drain(id, resumed.sub).seqs[0]).toBe(10);
    // before the first frame of the buffer: frames lost, the resume starts at the first checkpoint
    const small = chainedHub({ replayFrames: 8 });
    for (let i = 0; i < 25; i++) small.hub.publish(Buffer.from(`{"n":${i}}`), 1_700_000_000_000 + i);
    const old = small.hub.subscribe({ lastSeq: 3 });
    expect(old.nextSeq).toBe(20);
    expect(old.missed).toBe(16);
    expect(drain(small.id, old.sub)).toEqual({ seqs: [20, 21, 22, 23, 24], problem: null });
  });

  it('with no checkpoint to start at, a subscriber gets nothing until the next one', () => {
    const { hub, id } = chainedHub({ replayFrames: 4 });
    for (let i = 0; i < 15; i++) hub.publish(Buffer.from(`{"n":${i}}`), 1_700_000_000_000 + i);
    const late = hub.subscribe();
    expect(late.sub.length).toBe(0);
    for (let i = 15; i < 22; i++) hub.publish(Buffer.from(`{"n":${i}}`), 1_700_000_000_000 + i);
    expect(drain(id, late.sub)).toEqual({ seqs: [20, 21], problem: null });
    expect(late.sub.dropped).toBe(5);
  });

  it("a slow subscriber's overflow skips forward to the next checkpoint: its buyer's chain check still passes", () => {
    const { hub, id } = chainedHub();
    const slow = hub.subscribe({ maxQueueFrames: 3 }).sub;
    const fast = hub.subscribe({ maxQueueFrames: 100 }).sub;
    const check = new ChainVerifier(id);
    const seen: number[] = [];
    for (let i = 0; i < 45; i++) {
      hub.publish(Buffer.from(`{"n":${i}}`), 1_700_000_000_000 + i);
      // the slow buyer reads one frame in four
      if (i % 4 === 3) {
        const r = drain(id, slow, check, 1);
        expect(r.problem).toBeNull();
        seen.push(...r.seqs);
      }
    }
    const rest = drain(id, slow, check);
    expect(rest.problem).toBeNull();
    seen.push(...rest.seqs);
    expect(slow.dropped).toBeGreaterThan(0);
    expect(seen.length + slow.dropped).toBe(45);
    // after each loss the next frame it got was a checkpoint
    for (let k = 1; k < seen.length; k++) if (seen[k]! !== seen[k - 1]! + 1) expect(seen[k]! % 10).toBe(0);
    expect(drain(id, fast)).toMatchObject({ problem: null });
    expect(fast.dropped).toBe(0);
    // without the skip, frames queued after a loss break the chain at the next checkpoint: the
    // check is not vacuous
    const naive = new ChainVerifier(id);
    const all = hub.recent(45);
    const kept = [all[0]!, ...all.slice(2, 11)].map((f, seq) => naive.check({ ...f, seq }));
    expect(kept).toEqual([null, null, null, null, null, null, null, null, null, 'broken']);
  });

  it('a rebroadcast whose own stream had a gap holds the chain back until the next checkpoint (its buyers see a seq gap, no break)', () => {
    const origin = chainedHub();
    const frames = Array.from({ length: 30 }, (_, i) =>
      origin.hub.publish(Buffer.from(`{"n":${i}}`), 1_700_000_000_000 + i)!,
    );
    const rebroadcast = new StreamHub('rb');
    const buyer = rebroadcast.subscribe({ maxQueueFrames: 100 }).sub;
    const pass = (i: number): void => void rebroadcast.publish(frames[i]!.payload, frames[i]!.ts, frames[i]!.chain);
    // a fresh hub fed from mid-stream: nothing before the first checkpoint
    for (let i = 5; i < 14; i++) pass(i);
    rebroadcast.chainGap(); // frames 14..16 never came
    for (let i = 17; i < 30; i++) pass(i);
    expect(rebroadcast.chainSkipped).toBe(5 + 3);
    const r = drain(origin.id, buyer);
    expect(r.problem).toBeNull();
    // origin frames 10..13 (a checkpoint first), then after the gap 20..29: the rebroadcast's seqs
    // of the frames held back (5..9, 17..19) are used up, so its buyer sees the gaps
    expect(r.seqs).toEqual([5, 6, 7, 8, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
    expect(buyer.dropped).toBe(0);
  });
});

function chainedHub(o: { replayFrames?: number } = {}): { hub: StreamHub; id: string } {
  const origin = Identity.generate();
  const id = `${origin.address}:wx`;
  const hub = new StreamHub('wx', o);
  hub.chainer = frameChainer(origin.seed(), id, () => 0); // the clock stands still: a checkpoint every 10th frame
  return { hub, id };
}

/** What a buyer reads from a subscriber (up to `max` frames), checked like a rebroadcast's buyer. */
function drain(
  id: string,
  sub: Subscriber,
  check = new ChainVerifier(id),
  max = Infinity,
): { seqs: number[]; problem: string | null } {
  const seqs: number[] = [];
  for (let f = sub.shift(); f; f = seqs.length + 1 < max ? sub.shift() : undefined) {
    seqs.push(f.seq);
    const p = check.check(f);
    if (p) return { seqs, problem: p };
  }
  return { seqs, problem: null };
}

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
