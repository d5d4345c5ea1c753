// Runs in: Node. Built-in demo feeds: aircraft positions (ADS-B-like, aircraft.json style
// snapshots at 10 Hz along great-circle tracks) and weather station readings.
import type { Source, SourceSink } from './types';

const R_EARTH_M = 6_371_000;
const rad = (d: number): number => (d * Math.PI) / 180;
const deg = (r: number): number => (r * 180) / Math.PI;

interface Aircraft {
  icao: string;
  callsign: string;
  lat: number;
  lon: number;
  track: number; // degrees true
  gsMs: number; // ground speed m/s
  altFt: number;
  targetAltFt: number;
  squawk: string;
}

/** Deterministic PRNG so a seed gives the same sky (tests, demos). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const AIRLINES = ['DLH', 'AFR', 'BAW', 'KLM', 'EZY', 'RYR', 'SWR', 'AUA', 'SAS', 'IBE'];

/** Move along a great circle: destination point given start, bearing and distance. */
export function greatCircleStep(
  lat: number,
  lon: number,
  bearingDeg: number,
  distM: number,
): { lat: number; lon: number; bearing: number } {
  const d = distM / R_EARTH_M;
  const p1 = rad(lat);
  const l1 = rad(lon);
  const b = rad(bearingDeg);
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
  const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  // final bearing at the new point keeps the track on the same great circle
  const back = Math.atan2(
    Math.sin(l1 - l2) * Math.cos(p1),
    Math.cos(p2) * Math.sin(p1) - Math.sin(p2) * Math.cos(p1) * Math.cos(l1 - l2),
  );
  return { lat: deg(p2), lon: ((deg(l2) + 540) % 360) - 180, bearing: (deg(back) + 180 + 360) % 360 };
}

export interface AdsbOptions {
  aircraft?: number;
  hz?: number;
  seed?: number;
  /** Centre of the sky (default: Frankfurt). */
  center?: { lat: number; lon: number };
}

export function adsbSource(opts: AdsbOptions = {}): Source {
  const hz = opts.hz ?? 10;
  const rnd = mulberry32(opts.seed ?? 42);
  const c = opts.center ?? { lat: 50.03, lon: 8.57 };
  const fleet: Aircraft[] = Array.from({ length: opts.aircraft ?? 8 }, (_, i) => ({
    icao: (0x3c0000 + Math.floor(rnd() * 0xffff)).toString(16),
    callsign: `${AIRLINES[i % AIRLINES.length]}${100 + Math.floor(rnd() * 900)}`,
    lat: c.lat + (rnd() - 0.5) * 3,
    lon: c.lon + (rnd() - 0.5) * 4,
    track: rnd() * 360,
    gsMs: 180 + rnd() * 80,
    altFt: 3000 + Math.floor(rnd() * 35000),
    targetAltFt: 3000 + Math.floor(rnd() * 35000),
    squawk: String(1000 + Math.floor(rnd() * 6777)).padStart(4, '0'),
  }));
  let timer: NodeJS.Timeout | null = null;
  const enc = new TextEncoder();
  return {
    describe: () => `synthetic aircraft positions (${fleet.length} aircraft, ${hz} Hz)`,
    format: 'application/x-ndjson',
    framing: 'lines',
    rateMilliHz: hz * 1000,
    async start(sink: SourceSink) {
      let last = Date.now();
      timer = setInterval(() => {
        const now = Date.now();
        const dt = (now - last) / 1000;
        last = now;
        for (const a of fleet) {
          const p = greatCircleStep(a.lat, a.lon, a.track, a.gsMs * dt);
          a.lat = p.lat;
          a.lon = p.lon;
          a.track = p.bearing;
          const climb = Math.sign(a.targetAltFt - a.altFt) * Math.min(Math.abs(a.targetAltFt - a.altFt), 30 * dt); // ~1800 ft/min
          a.altFt += climb;
          if (Math.abs(a.targetAltFt - a.altFt) < 1) a.targetAltFt = 3000 + Math.floor(rnd() * 35000);
          // leave the area → turn back towards the centre (a new great circle)
          if (Math.abs(a.lat - c.lat) > 3 || Math.abs(a.lon - c.lon) > 4) {
            a.track = (deg(Math.atan2(c.lon - a.lon, c.lat - a.lat)) + 360) % 360;
          }
        }
        const snapshot = {
          now: now / 1000,
          aircraft: fleet.map((a) => ({
            hex: a.icao,
            flight: a.callsign,
            lat: +a.lat.toFixed(5),
            lon: +a.lon.toFixed(5),
            alt_baro: Math.round(a.altFt),
            gs: +(a.gsMs * 1.943844).toFixed(1),
            track: +a.track.toFixed(1),
            baro_rate: Math.round(Math.sign(a.targetAltFt - a.altFt) * 1800),
            squawk: a.squawk,
          })),
        };
        sink.data(enc.encode(JSON.stringify(snapshot)), now);
      }, 1000 / hz);
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

export interface WeatherOptions {
  stations?: number;
  hz?: number;
  seed?: number;
}

export function weatherSource(opts: WeatherOptions = {}): Source {
  const hz = opts.hz ?? 1;
  const rnd = mulberry32(opts.seed ?? 7);
  const stations = Array.from({ length: opts.stations ?? 3 }, (_, i) => ({
    id: `WX${String(i + 1).padStart(3, '0')}`,
    temp: 5 + rnd() * 20,
    rh: 40 + rnd() * 50,
    hpa: 1000 + rnd() * 30,
    wind: rnd() * 10,
    dir: rnd() * 360,
  }));
  let timer: NodeJS.Timeout | null = null;
  const enc = new TextEncoder();
  const walk = (v: number, step: number, lo: number, hi: number): number =>
    Math.min(hi, Math.max(lo, v + (rnd() - 0.5) * step));
  return {
    describe: () => `synthetic weather readings (${stations.length} stations, ${hz} Hz)`,
    format: 'application/x-ndjson',
    framing: 'lines',
    rateMilliHz: hz * 1000 * stations.length,
    async start(sink: SourceSink) {
      timer = setInterval(() => {
        const now = Date.now();
        for (const s of stations) {
          s.temp = walk(s.temp, 0.2, -30, 45);
          s.rh = walk(s.rh, 1, 5, 100);
          s.hpa = walk(s.hpa, 0.1, 950, 1050);
          s.wind = walk(s.wind, 0.5, 0, 40);
          s.dir = (s.dir + (rnd() - 0.5) * 10 + 360) % 360;
          const reading = {
            station: s.id,
            t: new Date(now).toISOString(),
            temp_c: +s.temp.toFixed(2),
            humidity_pct: +s.rh.toFixed(1),
            pressure_hpa: +s.hpa.toFixed(1),
            wind_ms: +s.wind.toFixed(1),
            wind_dir: Math.round(s.dir),
          };
          sink.data(enc.encode(JSON.stringify(reading)), now);
        }
      }, 1000 / hz);
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
