// The buyer's raw file after a crash: a buyer process killed with SIGKILL mid-stream and started
// again on its data dir resumes the purchase, and the raw file holds every line of the device
// exactly once, in order — nothing written twice across the kill (the file is cut back to its
// checkpoint and the stream resumes after it), nothing missing. Real ledger, real nodes.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { settleNativeThreads, startCrashableBuyer, waitFor } from './market-helpers';

/** The device: a command printing a counter, one line every 20 ms (50 Hz). */
const COUNTER = `let i = 0; setInterval(() => process.stdout.write(String(i++) + '\\n'), 20);`;

const lines = (file: string): string[] => {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text.split('\n').slice(0, -1); // the last element is after the final newline
};

describe('raw file across a buyer crash', () => {
  it('a buyer killed (SIGKILL) mid-stream and restarted: the raw file has each device line once, in order', async () => {
    const c = await startCrashableBuyer({
      streamId: 'counter',
      title: 'Counter',
      source: { kind: 'command', command: process.execPath, args: ['-e', COUNTER] },
      priceDirect: 60_000n,
      periodSec: 3,
      graceSec: 3,
    });
    const { child, listingId: lid } = c;
    try {
      const raw = join(c.dataDir, 'out', 'counter.raw');
      const p = await child.call<{ id: string }>('buy', { listingId: lid, minutes: 5, raw: { file: raw } });
      type Row = { paidThrough: number; frames: number; rawFileSeq: number | null };
      // streaming, and the raw file checkpointed at least once (saved with the progress each second)
      await waitFor(
        async () => {
          const r = await child.call<Row>('purchase', { id: p.id });
          return r.paidThrough >= 0 && r.rawFileSeq !== null && lines(raw).length > 60;
        },
        30_000,
        'streaming into the raw file',
      );
      await new Promise((r) => setTimeout(r, 450)); // between two checkpoints
      await child.kill(); // no stop, no flush beyond what the OS has
      const atKill = lines(raw).length;
      const b = await c.restart();
      await waitFor(() => lines(raw).length > atKill + 100, 30_000, 'the raw file grows after the restart');
      await b.stop(p.id);
      const got = lines(raw).map(Number);
      expect(got.every((n) => Number.isInteger(n))).toBe(true);
      // byte-exact: the device's lines from the first one received, each once, none missing
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => got[0]! + i));
      expect(readFileSync(raw, 'utf8')).toBe(got.map((n) => `${n}\n`).join(''));
    } finally {
      await c.cleanup();
      await settleNativeThreads();
    }
  });
});
