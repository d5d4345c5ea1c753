// Framings of byte-stream sources (market/sources/framing.ts): every framing gives back the exact
// bytes; bad input (a 100 MB line, invalid UTF-8, a partial frame at the disconnect, an absurd
// length) is reported and never buffered whole.
import { describe, expect, it } from 'vitest';
import { createFramer, rawBytes, type Framing } from '../../src-main/core/market/sources/framing';

function run(framing: Framing, chunks: Uint8Array[], o = {}) {
  const frames: Uint8Array[] = [];
  const warnings: string[] = [];
  const f = createFramer(framing, { frame: (p) => frames.push(p), warn: (m) => warnings.push(m) }, o);
  for (const c of chunks) f.push(c);
  return { f, frames, warnings };
}
const cat = (framing: Framing, frames: Uint8Array[]) => Buffer.concat(frames.flatMap((p) => rawBytes(framing, p)));

/** Cut bytes into slices of varying size (1..n). */
function slices(b: Buffer, n = 13): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, k = 1; off < b.length; k++) {
    const len = 1 + ((k * 7) % n);
    out.push(b.subarray(off, off + len));
    off += len;
  }
  return out;
}

describe('framings', () => {
  it('lines: CRLF, empty lines and invalid UTF-8 come back byte for byte', () => {
    const input = Buffer.concat([
      Buffer.from('MSG,3,1,1,4840D6,1,2026/12/06,05:00:00.000,,,35000,,,51.1,8.7,,,0,0,0,0\r\n'),
      Buffer.from('\n\r\n'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x0a]), // not UTF-8
      Buffer.from('{"a":1}\n'),
    ]);
    const { frames, warnings } = run('lines', slices(input));
    expect(frames).toHaveLength(5);
    expect(Buffer.from(frames[2]!).toString()).toBe('\r');
    expect(cat('lines', frames).equals(input)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('lines: a 100 MB line is dropped with one warning, memory stays bounded, the next line passes', () => {
    const max = 1024 * 1024;
    const frames: Uint8Array[] = [];
    const warnings: string[] = [];
    const f = createFramer('lines', { frame: (p) => frames.push(p), warn: (m) => warnings.push(m) }, { maxFrame: max });
    f.push(Buffer.from('before\n'));
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let most = 0;
    for (let i = 0; i < 1600; i++) {
      f.push(chunk); // 1600 × 64 KiB = 100 MiB without a newline
      most = Math.max(most, f.buffered);
    }
    f.push(Buffer.from('tail of the long line\nafter\n'));
    expect(most).toBeLessThanOrEqual(max);
    expect(frames.map((p) => Buffer.from(p).toString())).toEqual(['before', 'after']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/dropped a line of 1048576\d+ bytes: longer than the 1048576 byte limit/);
  });

  it('lines: a partial line at the disconnect is reported, not passed on', () => {
    const { f, frames, warnings } = run('lines', [Buffer.from('one\ntw')]);
    f.end();
    expect(frames).toHaveLength(1);
    expect(warnings).toEqual(['dropped a partial line of 2 bytes (no newline before the disconnect)']);
  });

  it('length-prefixed: 2-byte big endian frames (prefix kept), a partial frame at the end reported', () => {
    const frame = (body: number[]) => Buffer.from([body.length >> 8, body.length & 0xff, ...body]);
    const input = Buffer.concat([frame([1, 2, 3]), frame([]), frame(Array.from({ length: 300 }, (_, i) => i & 0xff))]);
    const { f, frames, warnings } = run('length-prefixed', [...slices(input), Buffer.from([0, 9, 1])]);
    expect(frames.map((p) => p.length)).toEqual([5, 2, 302]);
    expect(cat('length-prefixed', frames).equals(input)).toBe(true);
    f.end();
    expect(warnings).toEqual(['dropped a partial frame of 3 bytes at the disconnect (length-prefixed)']);
  });

  it('length-prefixed: 4-byte little endian counting the prefix; an absurd length is an error', () => {
    const lp = { bytes: 4 as const, endian: 'le' as const, includesPrefix: true };
    const b = Buffer.alloc(10);
    b.writeUInt32LE(10, 0);
    const { frames } = run('length-prefixed', [b], { lengthPrefix: lp });
    expect(frames).toHaveLength(1);
    const bad = Buffer.alloc(4);
    bad.writeUInt32LE(0x7fffffff, 0);
    expect(() => run('length-prefixed', [bad], { lengthPrefix: lp })).toThrow(
      /declared frame length 2147483647 exceeds/,
    );
  });

  it('raw: chunks pass as they came (at most 64 KiB each)', () => {
    const big = Buffer.alloc(150 * 1024, 7);
    const { frames } = run('raw', [Buffer.from([0x1a, 0x33]), big]);
    expect(frames.map((p) => p.length)).toEqual([2, 65536, 65536, 22528]);
    expect(cat('raw', frames).equals(Buffer.concat([Buffer.from([0x1a, 0x33]), big]))).toBe(true);
  });
});
