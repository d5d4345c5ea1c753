// What the live view infers from a stream's first frames: format, entity records, fields with
// units, positions (the map) — from real-looking aircraft snapshots, weather readings, SBS text
// and binary Beast bytes.
import { describe, expect, it } from 'vitest';
import {
  defaultChartField,
  entitySeries,
  formatSchemaHint,
  inferSchema,
  mergeSchema,
  parseSchemaHint,
  SCHEMA_HINT_MAX_BYTES,
  unitIn,
  unitOf,
  withUnit,
} from '../../src-shared/stream-schema';
import { decodeEnvelope, encodeEnvelope } from '../../src-main/core/ledger/envelope';
import { SAMPLE_MESSAGES } from '../fixtures/ledger-messages';
import type { Listing } from '../../src-main/core/ledger/types';

describe('stream schema hints', () => {
  it('aircraft snapshots: one record per aircraft, keyed by hex, with units and positions', () => {
    const snap = JSON.stringify({
      now: 1,
      aircraft: [
        {
          hex: '4840d6',
          flight: 'KLM1023 ',
          lat: 52.1,
          lon: 4.7,
          alt_baro: 35000,
          gs: 450.2,
          track: 90,
          baro_rate: -64,
        },
        { hex: '40621d', lat: 51.9, lon: 4.4, alt_baro: 12000, gs: 280 },
      ],
    });
    const s = inferSchema([snap, snap]);
    expect(s.format).toBe('json');
    expect(s.geo).toBe(true);
    expect(s.key).toBe('hex');
    const f = Object.fromEntries(s.fields.map((x) => [x.name, x]));
    expect(f.alt_baro).toEqual({ name: 'alt_baro', kind: 'number', unit: 'ft' });
    expect(f.gs!.unit).toBe('kt');
    expect(f.baro_rate!.unit).toBe('ft/min');
    expect(f.flight).toEqual({ name: 'flight', kind: 'text' });
  });

  it('weather readings: units from suffixes, no map', () => {
    const s = inferSchema(['{"station":"EDDF","temp_c":21.5,"wind_kt":12,"humidity":40,"pressure_hpa":1013}']);
    expect(s.geo).toBe(false);
    expect(s.key).toBe('station');
    expect(s.fields.map((x) => x.unit)).toEqual([undefined, '°C', 'kt', '%', 'hPa']);
    expect(withUnit(21.5, unitOf('temp_c'))).toBe('21.5 °C');
    expect(withUnit(35000, 'ft')).toBe('35,000 ft');
  });

  it('SBS lines are text; Beast bytes are binary', () => {
    expect(inferSchema(['MSG,3,1,1,4840D6,1,2026/12/06,05:00:00.000,,,35000,,,51.1,8.7,,,0,0,0,0\r']).format).toBe(
      'text',
    );
    const beast = new TextDecoder().decode(
      Uint8Array.from([0x1a, 0x33, 0x1a, 0x1a, 0, 1, 2, 0x8d, 0x48, 0x40, 0xd6, 0xff]),
    );
    expect(inferSchema([beast]).format).toBe('binary');
  });
});

describe("the Listing's schema hint", () => {
  it('what a seller types is parsed: numbers with units, text and booleans, format and key', () => {
    const r = parseSchemaHint('alt_baro ft, gs kt, flight text, ground bool, count');
    expect(r.ok && r.schema).toEqual({
      format: 'json',
      geo: false,
      fields: [
        { name: 'alt_baro', kind: 'number', unit: 'ft' },
        { name: 'gs', kind: 'number', unit: 'kt' },
        { name: 'flight', kind: 'text' },
        { name: 'ground', kind: 'boolean' },
        { name: 'count', kind: 'number' },
      ],
    });
    const full = parseSchemaHint('json key=station: temp_c °C, lat °, lon °');
    expect(full.ok && full.schema.key).toBe('station');
    expect(full.ok && full.schema.geo).toBe(true);
    expect(parseSchemaHint('binary:').ok).toBe(true);
  });

  it('bad hints get a specific reason', () => {
    const err = (t: string) => {
      const r = parseSchemaHint(t);
      return r.ok ? 'ok' : r.error;
    };
    expect(err('alt baro ft')).toMatch(/expected 'name' or 'name unit'/);
    expect(err('gs kt, gs m/s')).toMatch(/field 'gs' named twice/);
    expect(err('xml: a')).toMatch(/format before ':' is one of json, text, binary/);
    expect(err('json key=a b: x')).toMatch(/expected key=FIELD/);
    expect(err('')).toMatch(/no fields/);
    expect(err('a '.repeat(100).split(' ').join(','))).toMatch(/longer than 160|field name/);
    expect(err('temp verylongunitname')).toMatch(/a unit is 1-12 characters/);
  });

  it('an inferred schema round-trips through its compact form, within the cap', () => {
    const snap = JSON.stringify({
      aircraft: [{ hex: '4840d6', flight: 'KLM1023', lat: 52.1, lon: 4.7, alt_baro: 35000, gs: 450, track: 90 }],
    });
    const s = inferSchema([snap]);
    const text = formatSchemaHint(s);
    expect(text).toBe('json key=hex: hex text, flight text, lat °, lon °, alt_baro ft, gs kt, track °');
    const back = parseSchemaHint(text);
    expect(back.ok && back.schema).toEqual({ ...s, fields: s.fields });
  });

  it('too many fields: positions and numbers with units are kept first, the text stays under the cap', () => {
    const fields = Array.from({ length: 40 }, (_, i) => ({ name: `field_number_${i}`, kind: 'text' as const }));
    const s = {
      format: 'json' as const,
      geo: true,
      key: 'hex',
      fields: [
        ...fields,
        { name: 'lat', kind: 'number' as const, unit: '°' },
        { name: 'lon', kind: 'number' as const, unit: '°' },
      ],
    };
    const text = formatSchemaHint(s);
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(SCHEMA_HINT_MAX_BYTES);
    expect(text).toMatch(/lat °, lon °$/);
    expect(parseSchemaHint(text).ok).toBe(true);
  });

  it("the listing's hint wins over the inference (units, key), the frames add the rest", () => {
    const hint = parseSchemaHint('temp m/s');
    const inferred = inferSchema(['{"station":"X","temp":3,"rh":40}']);
    const m = mergeSchema(hint.ok ? hint.schema : null, inferred);
    expect(unitIn(m, 'temp')).toBe('m/s');
    expect(m.key).toBe('station');
    expect(m.fields.map((f) => f.name).sort()).toEqual(['rh', 'station', 'temp']);
  });

  it('a Listing with an invalid hint is junk on read (schema), a valid one decodes', () => {
    const good = encodeEnvelope(SAMPLE_MESSAGES.Listing);
    expect(decodeEnvelope(good).ok).toBe(true);
    // forge the wire form: same Listing, the hint replaced by an invalid one of the same length
    const hint = (SAMPLE_MESSAGES.Listing as Listing).schema!;
    const bad = hint.replace('alt_baro ft', 'alt baro ft');
    const payload = Buffer.from(good.slice('axon1:'.length), 'base64');
    const at = payload.indexOf(Buffer.from(hint));
    expect(at).toBeGreaterThan(0);
    const forged = Buffer.from(payload);
    Buffer.from(bad).copy(forged, at);
    const r = decodeEnvelope('axon1:' + forged.toString('base64'));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.kind).toBe('schema');
    expect(!r.ok && r.detail).toMatch(/schema: 'alt baro ft': expected 'name' or 'name unit'/);
  });
});

describe('per-entity series', () => {
  it('one series per aircraft over the source times, nulls where an aircraft has no value', () => {
    const snap = (ts: number, list: object[]) => ({ ts, text: JSON.stringify({ now: ts / 1000, aircraft: list }) });
    const frames = [
      snap(1000, [
        { hex: 'a1', alt_baro: 1000 },
        { hex: 'b2', alt_baro: 5000 },
      ]),
      snap(2000, [{ hex: 'a1', alt_baro: 1100 }]),
      snap(3000, [
        { hex: 'a1', alt_baro: 1200 },
        { hex: 'b2', alt_baro: 4900, gs: 200 },
      ]),
    ];
    const r = entitySeries(frames, 'alt_baro', 'hex');
    expect(r.t).toEqual([1, 2, 3]);
    expect(r.series).toEqual([
      { name: 'a1', values: [1000, 1100, 1200] },
      { name: 'b2', values: [5000, null, 4900] },
    ]);
    // no key: one series named after the field; the most recently seen entities when there are many
    expect(entitySeries([{ ts: 5000, text: '{"temp_c":3}' }], 'temp_c', undefined).series).toEqual([
      { name: 'temp_c', values: [3] },
    ]);
    const many = Array.from({ length: 12 }, (_, i) => snap(1000 * (i + 1), [{ hex: `h${i}`, gs: i }]));
    expect(entitySeries(many, 'gs', 'hex', 3).series.map((s) => s.name)).toEqual(['h10', 'h11', 'h9']);
  });

  it('the chart starts on a field with a unit that is not a position', () => {
    const s = inferSchema(['{"hex":"a","lat":1,"lon":2,"seen":1,"count":3}']);
    expect(defaultChartField(s)).toBe('seen');
  });
});
