// The harness of `npm run bench -- mesh` at its smallest (tests/bench/mesh.ts): one origin whose
// upload budget allows one buyer, one rebroadcaster that takes it, three buyers who click Buy on
// the origin's listing — every one a real Axon node in worker processes on the real local ledger.
// It asserts what the benchmark's reader relies on — the full origin's redirect moves every buyer
// under the rebroadcaster, each receives the origin's frames, the tree and figures are written —
// never a speed (speed is the benchmark's to print).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runMesh } from '../bench/mesh';

describe('mesh benchmark harness', () => {
  it('a full origin sends three buyers to its rebroadcaster; the tree is drawn', async () => {
    const r = await runMesh({
      buyers: 3,
      relays: 1,
      mode: 'redirect',
      originSlots: 1,
      workers: 1,
      windowSec: 3,
      buysPerSec: 10,
      svgName: 'mesh-smoke-tree.svg',
      jsonName: 'mesh-smoke.json',
    });
    expect(r.failures).toEqual([]);
    const origin = r.nodes.find((n) => n.role === 'origin')!;
    const relay = r.nodes.find((n) => n.role === 'rebroadcaster')!;
    const buyers = r.nodes.filter((n) => n.role === 'buyer');
    expect(buyers).toHaveLength(3);
    expect(relay.upstream).toBe(origin.address);
    expect(relay.depth).toBe(1);
    for (const b of buyers) {
      expect(b.upstream).toBe(relay.address); // redirected: they bought the origin's listing
      expect(b.listingId?.startsWith(`${relay.address}:`)).toBe(true);
      expect(b.depth).toBe(2);
      expect(b.delivered).toBeGreaterThan(0); // the origin's frames, through the rebroadcaster
      expect(b.buyToFirstMs).not.toBeNull();
    }
    // the origin uploads once, to the rebroadcaster: the buyers' frames do not come from it
    expect(origin.uploadBytes).toBeGreaterThan(0);
    expect(r.depths.map((d) => [d.depth, d.nodes])).toEqual([
      [1, 1],
      [2, 3],
    ]);
    expect(r.tree).toContain('3 buyers');
    const svg = readFileSync(r.svg, 'utf8');
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain(`rebroadcaster ${relay.address.slice(0, 4)}`);
    expect(svg).toContain('3 buyers');
    const json = JSON.parse(readFileSync(r.json, 'utf8')) as { nodes: unknown[] };
    expect(json.nodes).toHaveLength(5);
  });
});
