// Small SVG charts for the benchmarks (no dependency): written to test-artifacts/bench/ so a run
// can be looked at, not only read. In lib/ so bin/bench.mjs does not take it for a benchmark.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test-artifacts', 'bench');
const COLORS = ['#9aa0a6', '#1a73e8', '#e8710a', '#188038'];
const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

function write(name: string, svg: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, name);
  writeFileSync(file, svg);
  return file;
}

/** Cumulative distribution of several latency samples (ms), one line each. */
export function cdfChart(name: string, title: string, series: { label: string; values: number[] }[]): string {
  const W = 640;
  const H = 360;
  const L = 56;
  const R = 16;
  const T = 36;
  const B = 44;
  const all = series.flatMap((s) => s.values).sort((a, b) => a - b);
  const xmax = Math.max(1, all[Math.floor(all.length * 0.999)] ?? 1) * 1.05;
  const x = (v: number): number => L + (Math.min(v, xmax) / xmax) * (W - L - R);
  const y = (p: number): number => T + (1 - p) * (H - T - B);
  const parts: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const v = (xmax / 5) * i;
    parts.push(
      `<line x1="${x(v)}" y1="${T}" x2="${x(v)}" y2="${H - B}" stroke="#eee"/><text x="${x(v)}" y="${H - B + 16}" text-anchor="middle">${v.toFixed(v < 10 ? 1 : 0)}</text>`,
    );
  }
  for (const p of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    parts.push(
      `<line x1="${L}" y1="${y(p)}" x2="${W - R}" y2="${y(p)}" stroke="#eee"/><text x="${L - 6}" y="${y(p) + 4}" text-anchor="end">${p * 100}%</text>`,
    );
  }
  series.forEach((s, i) => {
    const v = [...s.values].sort((a, b) => a - b);
    const step = Math.max(1, Math.floor(v.length / 400));
    const pts: string[] = [];
    for (let k = 0; k < v.length; k += step) pts.push(`${x(v[k]!).toFixed(1)},${y((k + 1) / v.length).toFixed(1)}`);
    pts.push(`${x(v[v.length - 1] ?? 0).toFixed(1)},${y(1).toFixed(1)}`);
    const c = COLORS[i % COLORS.length];
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(' ')}"/>`);
    parts.push(
      `<rect x="${L + 10}" y="${T + 8 + i * 18}" width="12" height="3" fill="${c}"/><text x="${L + 28}" y="${T + 13 + i * 18}">${esc(s.label)}</text>`,
    );
  });
  return write(
    name,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">` +
      `<rect width="100%" height="100%" fill="#fff"/><text x="${L}" y="20" font-size="13" font-weight="bold">${esc(title)}</text>` +
      parts.join('') +
      `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">latency, ms (share of frames at or below)</text></svg>\n`,
  );
}

/** Horizontal bars (e.g. MB/s), labelled with their value. */
export function barChart(name: string, title: string, unit: string, bars: { label: string; value: number }[]): string {
  const W = 640;
  const rowH = 26;
  const L = 300;
  const T = 36;
  const H = T + bars.length * rowH + 16;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const parts = bars.map((b, i) => {
    const w = (b.value / max) * (W - L - 90);
    const yy = T + i * rowH;
    return (
      `<text x="${L - 8}" y="${yy + 16}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect x="${L}" y="${yy + 4}" width="${w.toFixed(1)}" height="16" fill="${COLORS[(i + 1) % COLORS.length]}"/>` +
      `<text x="${(L + w + 6).toFixed(1)}" y="${yy + 16}">${b.value.toFixed(0)} ${esc(unit)}</text>`
    );
  });
  return write(
    name,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">` +
      `<rect width="100%" height="100%" fill="#fff"/><text x="16" y="20" font-size="13" font-weight="bold">${esc(title)}</text>` +
      parts.join('') +
      `</svg>\n`,
  );
}
