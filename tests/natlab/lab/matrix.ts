// Runs in: Node (test harness). The NAT lab's result matrix: one row per scenario, printed as a
// table (for people) and as one JSON document (for CI and benchmarks), optionally saved to a file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What a peer's NAT detection said, against what the lab built. */
export interface NatVerdict {
  /** Which peer ('a', 'b', …). */
  peer: string;
  /** What the lab built, e.g. 'public', 'eim', 'edm', 'fullcone'. */
  expected: string;
  /** What the node detected (e.g. its mapping / reachability verdict), null if it gave none. */
  detected: string | null;
}

export interface MatrixRow {
  /** e.g. 'EIM↔EDM'. */
  scenario: string;
  verdicts: NatVerdict[];
  /** Path reached, e.g. 'direct-lan', 'direct-wan', 'hole-punched', 'relayed', or null (not connected). */
  path: string | null;
  /** Path the scenario expects (optional; compared when given). */
  expectedPath?: string | string[];
  /** Connect attempts made (ladder steps tried) before the path was reached. */
  attempts: number;
  /** Time from accept to connected, ms; null if not connected. */
  timeToConnectMs: number | null;
  /** Free text: error, relay used, … */
  note?: string;
}

export interface MatrixResult {
  rows: (MatrixRow & { ok: boolean; verdictsOk: boolean; pathOk: boolean })[];
  /** Every row connected, with right verdicts and expected paths. */
  allOk: boolean;
  table: string;
  json: string;
}

function pathMatches(row: MatrixRow): boolean {
  if (row.path === null) return false;
  if (row.expectedPath === undefined) return true;
  const allowed = Array.isArray(row.expectedPath) ? row.expectedPath : [row.expectedPath];
  return allowed.includes(row.path);
}

/** Builds the table and JSON for `rows`; prints both unless `print: false`; writes JSON to `jsonFile`. */
export function printMatrix(
  rows: MatrixRow[],
  opts: { title?: string; print?: boolean; jsonFile?: string } = {},
): MatrixResult {
  const checked = rows.map((r) => {
    const verdictsOk = r.verdicts.every((v) => v.detected === v.expected);
    const pathOk = pathMatches(r);
    return { ...r, verdictsOk, pathOk, ok: verdictsOk && pathOk };
  });
  const header = ['scenario', 'NAT verdicts (expected→detected)', 'path', 'attempts', 'time to connect', 'ok'];
  const body = checked.map((r) => [
    r.scenario,
    r.verdicts
      .map((v) => `${v.peer}: ${v.expected}→${v.detected ?? '?'}${v.detected === v.expected ? '' : ' ✗'}`)
      .join(', '),
    (r.path ?? 'NOT CONNECTED') +
      (r.expectedPath !== undefined && !r.pathOk ? ` (want ${[r.expectedPath].flat().join('|')})` : ''),
    String(r.attempts),
    r.timeToConnectMs === null ? '—' : `${Math.round(r.timeToConnectMs)} ms`,
    r.ok ? 'yes' : 'NO' + (r.note ? ` — ${r.note}` : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const sep = '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|';
  const table = [opts.title ? `${opts.title}\n` : '', fmt(header), sep, ...body.map(fmt)].filter(Boolean).join('\n');
  const allOk = checked.every((r) => r.ok);
  const json = JSON.stringify({ title: opts.title ?? 'NAT lab', allOk, rows: checked }, null, 2);
  if (opts.print !== false) {
    console.log(`${table}\n`);
    console.log(`NATLAB_MATRIX_JSON ${JSON.stringify({ title: opts.title ?? 'NAT lab', allOk, rows: checked })}`);
  }
  if (opts.jsonFile) {
    mkdirSync(dirname(opts.jsonFile), { recursive: true });
    writeFileSync(opts.jsonFile, json + '\n');
  }
  return { rows: checked, allOk, table, json };
}
