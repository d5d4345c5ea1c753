// The CLI's money and command-line parsing: exact lamports ↔ SOL, amounts as typed, source specs.
import { describe, expect, it } from 'vitest';
import { amount, parseLamports, sol } from '../../src-main/cli/format';
import { sellParams, shellWords, sourceFromSpec } from '../../src-main/cli/commands/sell';
import { rawOutputs } from '../../src-main/cli/commands/buy';

describe('CLI formatting and parsing', () => {
  it('prints lamports as exact SOL, without float rounding', () => {
    expect(sol(0n)).toBe('0');
    expect(sol(60_000n)).toBe('0.00006');
    expect(sol(1_500_000_000n)).toBe('1.5');
    expect(sol(123_456_789_123_456_789n)).toBe('123456789.123456789');
    expect(sol(-5n)).toBe('-0.000000005');
    expect(amount(10_000n)).toBe('10000 lamports (0.00001 SOL)');
  });

  it('reads amounts as lamports or as SOL with a unit, and refuses the rest clearly', () => {
    expect(parseLamports('60000')).toBe(60_000n);
    expect(parseLamports('0.5sol')).toBe(500_000_000n);
    expect(parseLamports('1 SOL')).toBe(1_000_000_000n);
    expect(parseLamports('0.000000001sol')).toBe(1n);
    expect(() => parseLamports('1.5', '--max-lamports')).toThrow(/--max-lamports must be a whole number of lamports/);
    expect(() => parseLamports('0.0000000001sol')).toThrow(/lamports/);
    expect(() => parseLamports('-3')).toThrow(/lamports/);
  });

  it('parses source specs, including quoted commands and ws:URL', () => {
    expect(shellWords(`sh -c 'echo "a b"; sleep 1' x\\ y`)).toEqual(['sh', '-c', 'echo "a b"; sleep 1', 'x y']);
    expect(sourceFromSpec(`cmd:sh -c 'while true; do date; done'`)).toEqual({
      kind: 'command',
      command: 'sh',
      args: ['-c', 'while true; do date; done'],
    });
    expect(sourceFromSpec('aircraft')).toEqual({ kind: 'adsb' });
    expect(sourceFromSpec('tcp:7000')).toEqual({ kind: 'tcp', port: 7000 });
    expect(sourceFromSpec('ws:127.0.0.1:9000/feed')).toEqual({ kind: 'websocket', url: 'ws://127.0.0.1:9000/feed' });
    expect(sourceFromSpec('ws:wss://example.org/x')).toEqual({ kind: 'websocket', url: 'wss://example.org/x' });
    expect(() => sourceFromSpec('carrier-pigeon')).toThrow(/unknown source 'carrier-pigeon'/);
    expect(() => sourceFromSpec(`cmd:sh -c 'oops`)).toThrow(/unterminated ' quote/);
  });

  it('parses framings, MQTT sources, uplink and raw outputs', () => {
    expect(sourceFromSpec('tcp:30005,raw')).toEqual({ kind: 'tcp', port: 30005, framing: 'raw' });
    expect(sourceFromSpec('mqtt://u:p%40ss@127.0.0.1:1883/farm/+/temp')).toEqual({
      kind: 'mqtt',
      url: 'mqtt://127.0.0.1:1883',
      topic: 'farm/+/temp',
      username: 'u',
      password: 'p@ss',
    });
    expect(() => sourceFromSpec('udp:14550,raw')).toThrow(/only file:, cmd: and tcp: sources take a framing/);
    const p = sellParams({ source: 'udp:14550', title: 'Drone', uplink: true, uplinkRate: '5' });
    expect(p.source).toMatchObject({ kind: 'udp', uplink: { messagesPerSec: 5 } });
    expect(() => sellParams({ source: 'weather', title: 'W', uplink: true })).toThrow(/cannot take messages/);
    expect(() => sellParams({ source: 'mqtt://h/t', title: 'M', uplink: true })).toThrow(
      /uplink\.topic|names the topic/,
    );
    expect(rawOutputs({ rawTcp: '30105', rawUdp: '10.0.0.5:14550', mqtt: 'mqtt://h:1883/out/adsb' })).toEqual({
      tcp: { port: 30105 },
      udp: { host: '10.0.0.5', port: 14550 },
      mqtt: { url: 'mqtt://h:1883', topic: 'out/adsb' },
    });
    expect(rawOutputs({})).toBeUndefined();
    expect(() => rawOutputs({ rawTcp: 'x' })).toThrow(/--raw-tcp/);
  });
});
