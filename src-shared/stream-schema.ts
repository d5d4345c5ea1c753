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
