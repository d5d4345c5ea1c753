// The distribution tree of `npm run bench -- mesh`: built from who bought from whom (each node's
// upstream seller), printed as text and drawn as an SVG (hand-written, no dependency) with the
// latency each hop adds. In lib/ so bin/bench.mjs does not take it for a benchmark.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS } from './chart';

export const pct = (xs: number[], p: number): number => {
  if (!xs.length) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export interface TreeInput {
  address: string;
  /** A rebroadcaster stays one in the tree even with no buyer below it. */
  role: 'origin' | 'rebroadcaster' | 'buyer';
  upstream: string | null;
  /** Arrival latency samples (ms) end to end, from the feeder to this node. */
  lat: number[];
}

export interface TreeNode {
  address: string;
  role: TreeInput['role'];
  depth: number;
  /** End-to-end latency at this node (ms). */
  p50: number;
  p99: number;
  /** What the hop from its upstream adds: this node's p50/p99 minus its upstream's (ms). */
  hopP50: number;
  hopP99: number;
  children: TreeNode[];
  /** Buyers below: its children that are buyers, and those below its rebroadcasters. */
  buyers: number;
}

/** Build the tree under `origin`. Nodes whose upstream chain does not reach the origin are returned apart. */
export function buildTree(origin: string, nodes: TreeInput[]): { root: TreeNode; orphans: TreeInput[] } {
  const by = new Map(nodes.map((n) => [n.address, n]));
  const kids = new Map<string, TreeInput[]>();
  for (const n of nodes) if (n.upstream) kids.set(n.upstream, [...(kids.get(n.upstream) ?? []), n]);
  const placed = new Set<string>();
  const make = (addr: string, depth: number, up: TreeNode | null): TreeNode => {
    placed.add(addr);
    const lat = by.get(addr)?.lat ?? [];
    const p50 = depth === 0 ? 0 : pct(lat, 50);
    const p99 = depth === 0 ? 0 : pct(lat, 99);
    const t: TreeNode = {
      address: addr,
      role: depth === 0 ? 'origin' : (by.get(addr)?.role ?? 'buyer'),
      depth,
      p50,
      p99,
      hopP50: up ? p50 - up.p50 : 0,
      hopP99: up ? p99 - up.p99 : 0,
      children: [],
      buyers: 0,
    };
    for (const k of kids.get(addr) ?? [])
      if (!placed.has(k.address) && depth < 16) t.children.push(make(k.address, depth + 1, t));
    t.buyers = t.children.reduce((a, c) => a + (c.role === 'buyer' ? 1 : c.buyers), 0);
    return t;
  };
  const root = make(origin, 0, null);
  return { root, orphans: nodes.filter((n) => !placed.has(n.address) && n.address !== origin) };
}

const short = (a: string): string => `${a.slice(0, 4)}…${a.slice(-4)}`;
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');

/** The tree as text: the origin, then each node with children (rebroadcasters) and its buyer count. */
export function treeText(root: TreeNode): string {
  const lines: string[] = [`origin ${short(root.address)}  (${root.buyers} leaf buyers below)`];
  const walk = (t: TreeNode, indent: string): void => {
    const inner = t.children.filter((c) => c.role !== 'buyer');
    const leaves = t.children.filter((c) => c.role === 'buyer');
    if (leaves.length) {
      const p50 = pct(
        leaves.map((l) => l.p50),
        50,
      );
      const p99 = Math.max(...leaves.map((l) => l.p99));
      lines.push(
        `${indent}└─ ${leaves.length} buyer${leaves.length === 1 ? '' : 's'}  (end to end: median of p50 ${ms(p50)} ms, worst p99 ${ms(p99)} ms; this hop +${ms(p50 - t.p50)} ms p50)`,
      );
    }
    for (const c of inner) {
      lines.push(
        `${indent}├─ rebroadcaster ${short(c.address)}  depth ${c.depth}, ${c.buyers} buyers below; hop +${ms(c.hopP50)} ms p50 / +${ms(c.hopP99)} ms p99 (end to end ${ms(c.p50)} / ${ms(c.p99)} ms)`,
      );
      walk(c, indent + '│  ');
    }
  };
  walk(root, '  ');
  return lines.join('\n');
}

const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Draw the tree left to right: the origin, its rebroadcasters (one box each, any depth), and per
 * node its leaf buyers as one box with their count. Each edge is labelled with what that hop adds
 * (p50 / p99 ms).
 */
export function treeSvg(name: string, title: string, root: TreeNode, footer: string[]): string {
  const COLW = 310;
  const ROWH = 34;
  const BOXW = 190;
  const BOXH = 26;
  // lay out: one row per rebroadcaster or leaf group, depth-first
  interface Box {
    x: number;
    y: number;
    label: string;
    sub: string;
    fill: string;
  }
  const boxes: Box[] = [];
  const edges: { from: Box; to: Box; label: string }[] = [];
  let row = 0;
  const place = (t: TreeNode): Box => {
    const inner = t.children.filter((c) => c.role !== 'buyer');
    const leaves = t.children.filter((c) => c.role === 'buyer');
    const b: Box = {
      x: 16 + t.depth * COLW,
      y: 0,
      label: t.depth === 0 ? `origin ${short(t.address)}` : `rebroadcaster ${short(t.address)}`,
      sub: t.depth === 0 ? `${t.buyers} buyers below` : `${t.buyers} buyers · e2e p99 ${ms(t.p99)} ms`,
      fill: t.depth === 0 ? '#fde7c9' : '#d2e3fc',
    };
    const childBoxes: Box[] = [];
    if (leaves.length) {
      const lb: Box = {
        x: 16 + (t.depth + 1) * COLW,
        y: 36 + row++ * ROWH,
        label: `${leaves.length} buyer${leaves.length === 1 ? '' : 's'}`,
        sub: `e2e p50 ${ms(
          pct(
            leaves.map((l) => l.p50),
            50,
          ),
        )} · worst p99 ${ms(Math.max(...leaves.map((l) => l.p99)))} ms`,
        fill: '#ceead6',
      };
      boxes.push(lb);
      childBoxes.push(lb);
      const hop50 =
        pct(
          leaves.map((l) => l.p50),
          50,
        ) - t.p50;
      const hop99 = Math.max(...leaves.map((l) => l.p99)) - t.p99;
      edges.push({ from: b, to: lb, label: `+${ms(hop50)} / +${ms(hop99)}` });
    }
    for (const c of inner) {
      const cb = place(c);
      childBoxes.push(cb);
      edges.push({ from: b, to: cb, label: `+${ms(c.hopP50)} / +${ms(c.hopP99)}` });
    }
    b.y = childBoxes.length ? (childBoxes[0]!.y + childBoxes[childBoxes.length - 1]!.y) / 2 : 36 + row++ * ROWH;
    boxes.push(b);
    return b;
  };
  place(root);
  const maxDepth = Math.max(...boxes.map((b) => b.x));
  const W = Math.max(760, maxDepth + BOXW + 40);
  const H = 36 + Math.max(1, row) * ROWH + 20 + footer.length * 16;
  const parts: string[] = [];
  for (const e of edges) {
    const x1 = e.from.x + BOXW;
    const y1 = e.from.y + BOXH / 2;
    const x2 = e.to.x;
    const y2 = e.to.y + BOXH / 2;
    parts.push(
      `<path d="M${x1},${y1} C${x1 + 30},${y1} ${x2 - 30},${y2} ${x2},${y2}" fill="none" stroke="#888"/>` +
        `<text x="${x2 - 4}" y="${y2 - 4}" text-anchor="end" font-size="9" fill="#555">${esc(e.label)}</text>`,
    );
  }
  for (const b of boxes)
    parts.push(
      `<rect x="${b.x}" y="${b.y}" width="${BOXW}" height="${BOXH}" rx="4" fill="${b.fill}" stroke="#666"/>` +
        `<text x="${b.x + 6}" y="${b.y + 11}" font-size="10" font-weight="bold">${esc(b.label)}</text>` +
        `<text x="${b.x + 6}" y="${b.y + 22}" font-size="9">${esc(b.sub)}</text>`,
    );
  footer.forEach((f, i) =>
    parts.push(`<text x="16" y="${36 + Math.max(1, row) * ROWH + 14 + i * 16}" font-size="10">${esc(f)}</text>`),
  );
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">` +
    `<rect width="100%" height="100%" fill="#fff"/><text x="16" y="20" font-size="13" font-weight="bold">${esc(title)}</text>` +
    `<text x="${W - 16}" y="20" text-anchor="end" font-size="9" fill="#555">edge labels: latency the hop adds, p50 / p99 ms</text>` +
    parts.join('') +
    `</svg>\n`;
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, name);
  writeFileSync(file, svg);
  return file;
}

export function writeJson(name: string, data: unknown): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, name);
  writeFileSync(file, JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  return file;
}
