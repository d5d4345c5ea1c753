// What the live view infers from a stream's first frames: format, entity records, fields with
// units, positions (the map) — from real-looking aircraft snapshots, weather readings, SBS text
// and binary Beast bytes.
import { describe, expect, it } from 'vitest';
import { inferSchema, unitOf, withUnit } from '../../src-shared/stream-schema';

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
