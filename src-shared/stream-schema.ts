// Runs in: both (main and renderer; pure). What a stream's frames hold, inferred from the frames:
// their format (JSON records, text, binary), the records in a frame (a snapshot holding a list of
// entities, like an aircraft snapshot, gives one record per entity), and each field's kind and
// unit (from its name: `alt_baro` ft, `gs` kt, `temp_c` °C, …). The live view picks its views
// from it: a map when records have lat/lon, charts of numeric fields with their units, a table.

export interface FieldHint {
  name: string;
  kind: 'number' | 'text' | 'boolean';
  unit?: string;
}

export interface StreamSchema {
  format: 'json' | 'text' | 'binary';
  /** The field naming an entity (hex, icao, id, station…) when records have one. */
  key?: string;
  fields: FieldHint[];
  /** Records carry positions (lat/lon fields). */
  geo: boolean;
}

/** Units of common field names (dump1090/readsb aircraft.json, weather stations, MAVLink-ish). */
const UNITS: Record<string, string> = {
  lat: '°',
  lon: '°',
  latitude: '°',
  longitude: '°',
  alt_baro: 'ft',
  alt_geom: 'ft',
  altitude: 'ft',
  nav_altitude_mcp: 'ft',
  gs: 'kt',
  tas: 'kt',
  ias: 'kt',
  speed: 'kt',
  track: '°',
  heading: '°',
  true_heading: '°',
  mag_heading: '°',
  baro_rate: 'ft/min',
  geom_rate: 'ft/min',
  vert_rate: 'ft/min',
  rssi: 'dBFS',
  seen: 's',
  seen_pos: 's',
  humidity: '%',
  pressure: 'hPa',
  wind_dir: '°',
};

/** Units from a name's suffix: `temp_c` °C, `wind_kt` kt, `depth_m` m, … */
const SUFFIX_UNITS: [RegExp, string][] = [
  [/_c$/, '°C'],
  [/_f$/, '°F'],
  [/_k$/, 'K'],
  [/_ft$/, 'ft'],
  [/_m$/, 'm'],
  [/_km$/, 'km'],
  [/_kt$/, 'kt'],
  [/_ms$/, 'm/s'],
  [/_kmh$/, 'km/h'],
  [/_mph$/, 'mph'],
  [/_hpa$/, 'hPa'],
  [/_pa$/, 'Pa'],
  [/_pct$|_percent$/, '%'],
  [/_deg$/, '°'],
  [/_v$/, 'V'],
  [/_a$/, 'A'],
  [/_w$/, 'W'],
  [/_s$/, 's'],
];

export function unitOf(name: string): string | undefined {
  const n = name.toLowerCase();
  if (UNITS[n]) return UNITS[n];
  for (const [re, u] of SUFFIX_UNITS) if (re.test(n)) return u;
  return undefined;
}

const KEYS = ['hex', 'icao', 'icao24', 'id', 'station', 'name', 'callsign', 'flight', 'sensor', 'device'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The records in one JSON value: the objects of its first list of objects, else the value. */
export function recordsOf(v: unknown): Obj[] {
  if (Array.isArray(v)) return v.filter(isObj);
  if (!isObj(v)) return [];
  for (const x of Object.values(v)) if (Array.isArray(x) && x.length > 0 && x.every(isObj)) return x as Obj[];
  return [v];
}

/** Parse a frame's text as JSON (null when it is not). */
export function parseJson(text: string): unknown {
  const t = text.trimStart();
  if (t[0] !== '{' && t[0] !== '[') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** Infer the schema from the first frames (as text; binary frames show as not UTF-8). */
export function inferSchema(texts: string[]): StreamSchema {
  const sample = texts.slice(0, 50);
  const values = sample.map(parseJson);
  const json = values.filter((v) => v !== null);
  if (sample.length && json.length * 2 >= sample.length) {
    const kinds = new Map<string, FieldHint['kind']>();
    for (const r of json.flatMap(recordsOf).slice(0, 500))
      for (const [k, v] of Object.entries(r)) {
        const kind = typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'text';
        if (typeof v === 'object' && v !== null) continue;
        if (!kinds.has(k) || (kinds.get(k) !== 'number' && kind === 'number')) kinds.set(k, kind);
      }
    const fields = [...kinds].map(([name, kind]) => {
      const unit = kind === 'number' ? unitOf(name) : undefined;
      return unit ? { name, kind, unit } : { name, kind };
    });
    const names = new Set(fields.map((f) => f.name));
    const key = KEYS.find((k) => names.has(k));
    const geo = (names.has('lat') && names.has('lon')) || (names.has('latitude') && names.has('longitude'));
    return { format: 'json', fields, geo, ...(key ? { key } : {}) };
  }
  // U+FFFD (a byte that is not UTF-8) or control bytes: binary
  const binary = sample.some((t) => {
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === 0xfffd || c < 9 || (c > 13 && c < 32)) return true;
    }
    return false;
  });
  return { format: binary ? 'binary' : 'text', fields: [], geo: false };
}

/** A number with its unit, for tables and axes. */
export function withUnit(v: unknown, unit?: string): string {
  if (typeof v !== 'number') return v === undefined || v === null ? '' : String(v);
  const s = Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(Math.abs(v) < 10 ? 4 : 1);
  return unit ? (unit === '°' ? `${s}°` : `${s} ${unit}`) : s;
}

// ---- the schema hint a Listing carries (compact text, ≤ SCHEMA_HINT_MAX_BYTES) ----
//
//   hint  = [ format [ " key=" name ] ":" ] [ field *( "," field ) ]
//   field = name [ " " unit ]      ; unit `text` / `bool`: that kind; another unit: a number in
//                                  ; that unit; none: a number without unit
// e.g. `json key=hex: alt_baro ft, gs kt, lat °, lon °, flight text` — what the seller typed
// (`axon sell --schema 'alt_baro ft, gs kt'`) or what the seller's node inferred from its first
// frames. Readers validate it (parseSchemaHint) as part of the Listing's schema.

/** Most UTF-8 bytes of a Listing's schema hint (docs/protocol.md: the Listing still fits). */
export const SCHEMA_HINT_MAX_BYTES = 160;
const NAME_RE = /^[A-Za-z0-9_.\-/]{1,32}$/;
// eslint-disable-next-line no-control-regex
const UNIT_RE = /^[^\s,:=\u0000-\u001f\u007f]{1,12}$/u;
const FORMATS = ['json', 'text', 'binary'] as const;

const utf8Bytes = (s: string): number => new TextEncoder().encode(s).length;

export type HintResult = { ok: true; schema: StreamSchema } | { ok: false; error: string };

/** Parse a schema hint (the Listing's, or what a seller typed); a specific error when invalid. */
export function parseSchemaHint(text: string): HintResult {
  if (utf8Bytes(text) > SCHEMA_HINT_MAX_BYTES)
    return { ok: false, error: `longer than ${SCHEMA_HINT_MAX_BYTES} UTF-8 bytes` };
  let format: StreamSchema['format'] = 'json';
  let key: string | undefined;
  let body = text.trim();
  const colon = body.indexOf(':');
  const head = colon >= 0 ? body.slice(0, colon).trim() : '';
  if (colon >= 0 && /^(json|text|binary)(\s|$)/.test(head)) {
    const parts = head.split(/\s+/);
    format = parts[0] as StreamSchema['format'];
    for (const p of parts.slice(1)) {
      const m = /^key=(.+)$/.exec(p);
      if (!m || !NAME_RE.test(m[1]!)) return { ok: false, error: `'${p}' in '${head}': expected key=FIELD` };
      key = m[1];
    }
    body = body.slice(colon + 1).trim();
  } else if (colon >= 0) {
    return { ok: false, error: `'${head}': the format before ':' is one of ${FORMATS.join(', ')}` };
  }
  const fields: FieldHint[] = [];
  for (const raw of body ? body.split(',') : []) {
    const words = raw.trim().split(/\s+/);
    const [name, unit, extra] = words;
    if (!name || !NAME_RE.test(name))
      return { ok: false, error: `'${raw.trim()}': a field name is 1-32 letters, digits, _ . - /` };
    if (extra !== undefined) return { ok: false, error: `'${raw.trim()}': expected 'name' or 'name unit'` };
    if (unit !== undefined && !UNIT_RE.test(unit))
      return { ok: false, error: `'${raw.trim()}': a unit is 1-12 characters without spaces , : =` };
    if (fields.some((f) => f.name === name)) return { ok: false, error: `field '${name}' named twice` };
    if (unit === 'text' || unit === 'bool') fields.push({ name, kind: unit === 'text' ? 'text' : 'boolean' });
    else fields.push(unit ? { name, kind: 'number', unit } : { name, kind: 'number' });
  }
  if (fields.length === 0 && format === 'json' && !text.includes(':'))
    return { ok: false, error: 'no fields: give e.g. "alt_baro ft, gs kt"' };
  const names = new Set(fields.map((f) => f.name));
  const geo = (names.has('lat') && names.has('lon')) || (names.has('latitude') && names.has('longitude'));
  return { ok: true, schema: { format, fields, geo, ...(key ? { key } : {}) } };
}

/** The problem with a hint, or undefined when it is valid (the Listing's zod refinement). */
export function schemaHintProblem(text: string): string | undefined {
  const r = parseSchemaHint(text);
  return r.ok ? undefined : r.error;
}

const fieldText = (f: FieldHint): string =>
  f.kind === 'text'
    ? `${f.name} text`
    : f.kind === 'boolean'
      ? `${f.name} bool`
      : f.unit
        ? `${f.name} ${f.unit}`
        : f.name;

/**
 * The compact text of a schema, at most `maxBytes`: fields that do not fit are left out,
 * positions and numbers with units first, then other numbers, then text and booleans.
 */
export function formatSchemaHint(s: StreamSchema, maxBytes = SCHEMA_HINT_MAX_BYTES): string {
  const usable = s.fields.filter((f) => NAME_RE.test(f.name) && (!f.unit || UNIT_RE.test(f.unit)));
  const rank = (f: FieldHint): number =>
    /^(lat|lon|latitude|longitude)$/.test(f.name) ? 0 : f.kind === 'number' ? (f.unit ? 1 : 2) : 3;
  const order = [...usable].sort((a, b) => rank(a) - rank(b));
  const key = s.key && NAME_RE.test(s.key) ? ` key=${s.key}` : '';
  const head = `${s.format}${key}:`;
  const chosen: FieldHint[] = [];
  for (const f of order) {
    const next = [...chosen, f];
    const text = `${head} ${usable
      .filter((x) => next.includes(x))
      .map(fieldText)
      .join(', ')}`;
    if (utf8Bytes(text) <= maxBytes) chosen.push(f);
  }
  const body = usable
    .filter((x) => chosen.includes(x))
    .map(fieldText)
    .join(', ');
  return body ? `${head} ${body}` : head;
}

/**
 * The schema the live view uses: the listing's hint when it has one (the seller's words win:
 * units, key, kinds), completed by what the frames show.
 */
export function mergeSchema(hint: StreamSchema | null | undefined, inferred: StreamSchema): StreamSchema {
  if (!hint) return inferred;
  const byName = new Map(inferred.fields.map((f) => [f.name, f]));
  for (const f of hint.fields) byName.set(f.name, f);
  const fields = [...byName.values()];
  const names = new Set(fields.map((f) => f.name));
  const geo =
    hint.geo ||
    inferred.geo ||
    (names.has('lat') && names.has('lon')) ||
    (names.has('latitude') && names.has('longitude'));
  const key = hint.key ?? inferred.key;
  const format = inferred.fields.length || inferred.format === 'binary' ? inferred.format : hint.format;
  return { format, fields, geo, ...(key ? { key } : {}) };
}

/** The unit of a field in a schema (its hint), else from its name. */
export function unitIn(s: StreamSchema | null | undefined, name: string): string | undefined {
  return s?.fields.find((f) => f.name === name)?.unit ?? unitOf(name);
}

/**
 * A numeric field over time, one series per entity (the records' `key`: an aircraft's hex, a
 * station id; without a key, one series named after the field). Times are the frames' source
 * timestamps in unix seconds, ascending; a series has null where its entity had no value. At most
 * `maxEntities` series: the entities seen most recently.
 */
export function entitySeries(
  frames: { ts: number; text: string }[],
  field: string,
  key: string | undefined,
  maxEntities = 8,
): { t: number[]; series: { name: string; values: (number | null)[] }[] } {
  const points = new Map<string, Map<number, number>>();
  const lastSeen = new Map<string, number>();
  for (const f of frames) {
    const sec = f.ts / 1000;
    for (const r of recordsOf(parseJson(f.text))) {
      const v = r[field];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const k = key && r[key] !== undefined && r[key] !== null ? String(r[key]).trim() : field;
      let m = points.get(k);
      if (!m) points.set(k, (m = new Map()));
      m.set(sec, v);
      lastSeen.set(k, Math.max(lastSeen.get(k) ?? 0, sec));
    }
  }
  const names = [...lastSeen.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxEntities)
    .map(([k]) => k)
    .sort();
  const times = new Set<number>();
  for (const n of names) for (const s of points.get(n)!.keys()) times.add(s);
  const t = [...times].sort((a, b) => a - b);
  return { t, series: names.map((n) => ({ name: n, values: t.map((s) => points.get(n)!.get(s) ?? null) })) };
}

/** The numeric field a live view charts first: one with a unit that is not a position. */
export function defaultChartField(s: StreamSchema): string | undefined {
  const nums = s.fields.filter((f) => f.kind === 'number' && !/^(lat|lon|latitude|longitude)$/.test(f.name));
  return (nums.find((f) => f.unit) ?? nums[0])?.name;
}
