// Seller sources and buyer sinks against real files, processes, sockets and WebSockets.
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { StreamHub, type HubFrame } from '../../src-main/core/market/hub';
import { SourceSupervisor, createSource, type SourceConfig } from '../../src-main/core/market/sources/index';
import { FileSink } from '../../src-main/core/market/sinks/file';
import { LocalEndpoint } from '../../src-main/core/market/sinks/local-endpoint';
import { tempDir, waitFor } from './market-helpers';

const dec = new TextDecoder();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function run(
  cfg: Exclude<SourceConfig, { kind: 'purchase' }>,
  opts = {},
): { hub: StreamHub; sup: SourceSupervisor; frames: HubFrame[] } {
  const hub = new StreamHub('t');
  const frames: HubFrame[] = [];
  hub.on('frame', (f) => frames.push(f));
  const sup = new SourceSupervisor(createSource(cfg), hub, { minBackoffMs: 50, ...opts });
  cleanups.push(() => sup.stop());
  return { hub, sup, frames };
}
const text = (f: HubFrame): string => dec.decode(f.payload);

describe('sources', () => {
  it('synthetic aircraft: 10 Hz snapshots of plausible aircraft', async () => {
    const { sup, frames } = run({ kind: 'adsb', aircraft: 5 });
    await sup.start();
    await waitFor(() => frames.length >= 5, 5000, 'adsb frames');
    const snap = JSON.parse(text(frames[4]!));
    expect(snap.aircraft).toHaveLength(5);
    for (const a of snap.aircraft) {
      expect(Math.abs(a.lat)).toBeLessThanOrEqual(90);
      expect(a.gs).toBeGreaterThan(300);
      expect(a.gs).toBeLessThan(550);
      expect(a.alt_baro).toBeGreaterThanOrEqual(0);
    }
    const first = JSON.parse(text(frames[0]!)).aircraft[0];
    const later = snap.aircraft[0];
    expect(later.hex).toBe(first.hex);
    expect(later.lat !== first.lat || later.lon !== first.lon).toBe(true);
    expect(sup.health.healthy).toBe(true);
  });

  it('synthetic weather readings', async () => {
    const { sup, frames } = run({ kind: 'weather', stations: 2, hz: 20 });
    await sup.start();
    await waitFor(() => frames.length >= 4, 5000, 'weather frames');
    expect(JSON.parse(text(frames[0]!))).toHaveProperty('temp_c');
  });

  it('tails a file, including lines appended later', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'feed.ndjson');
    writeFileSync(file, '{"old":1}\n');
    const { sup, frames } = run({ kind: 'file', path: file });
    await sup.start();
    appendFileSync(file, '{"a":1}\n{"a":2}\n');
    appendFileSync(file, '{"a":3}');
    appendFileSync(file, '\n');
    await waitFor(() => frames.length >= 3, 5000, 'tailed lines');
    expect(frames.map(text)).toEqual(['{"a":1}', '{"a":2}', '{"a":3}']);
  });

  it("reads a command's stdout and restarts it with backoff when it exits (unhealthy meanwhile)", async () => {
    const { sup, frames } = run({
      kind: 'command',
      command: 'sh',
      args: ['-c', 'echo one; echo two; sleep 0.2; exit 3'],
    });
    const health: boolean[] = [];
    sup.on('health', (h) => health.push(h.healthy));
    await sup.start();
    await waitFor(() => sup.health.restarts >= 1 && frames.length >= 4, 8000, 'restart');
    expect(frames.slice(0, 4).map(text)).toEqual(['one', 'two', 'one', 'two']);
    expect(health).toContain(false);
    expect(sup.health.lastError).toMatch(/code 3/);
  });

  it('a source that cannot start stays unhealthy and keeps retrying', async () => {
    const { sup } = run({ kind: 'tcp', port: 1 }, { minBackoffMs: 20, maxBackoffMs: 40 });
    await sup.start();
    await waitFor(() => sup.health.restarts >= 2, 5000, 'retries');
    expect(sup.health.healthy).toBe(false);
    expect(sup.health.lastError).toMatch(/ECONNREFUSED/);
  });

  it('reads lines from a local TCP port', async () => {
    const srv = createServer((s) => s.end('x=1\nx=2\n'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => srv.close());
    const { sup, frames } = run({ kind: 'tcp', port: (srv.address() as AddressInfo).port });
    await sup.start();
    await waitFor(() => frames.length >= 2, 5000, 'tcp lines');
    expect(frames.slice(0, 2).map(text)).toEqual(['x=1', 'x=2']);
  });

  it('reads datagrams from a local UDP port', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const port = probe.address().port;
    probe.close();
    const { sup, frames } = run({ kind: 'udp', port });
    await sup.start();
    const tx = createSocket('udp4');
    cleanups.push(() => tx.close());
    await waitFor(
      async () => {
        tx.send('dgram', port, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 20));
        return frames.length > 0;
      },
      5000,
      'udp datagram',
    );
    expect(text(frames[0]!)).toBe('dgram');
  });

  it('reads messages from a WebSocket URL', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => {
      ws.send('{"m":1}');
      ws.send('{"m":2}');
    });
    cleanups.push(() => new Promise((r) => wss.close(r)));
    const { sup, frames } = run({ kind: 'websocket', url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` });
    await sup.start();
    await waitFor(() => frames.length >= 2, 5000, 'ws messages');
    expect(frames.map(text)).toEqual(['{"m":1}', '{"m":2}']);
  });
});

describe('sinks', () => {
  const meta = { purchaseId: 'pur-0001abcd', listingId: 'SELLER:adsb', seller: 'SELLER', streamId: 'adsb' };

  it('appends NDJSON records with metadata to a file', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'out', 'adsb.ndjson');
    const sink = new FileSink(file, meta);
    sink.write({ seq: 0, ts: 1000, payload: new TextEncoder().encode('{"a":1}') });
    sink.write({ seq: 1, ts: 1100, payload: new TextEncoder().encode('plain') });
    sink.write({ seq: 2, ts: 1200, payload: Uint8Array.of(0xff, 0xfe) });
    await sink.close();
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ ...meta, seq: 0, ts: 1000, data: { a: 1 } });
    expect(lines[1]).toMatchObject({ seq: 1, text: 'plain' });
    expect(lines[2]).toMatchObject({ seq: 2, b64: '//4=' });
  });

  it('a file reopened after a crash: the torn last line is cut, frames it already has are not written twice', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'adsb.ndjson');
    const enc = new TextEncoder();
    const first = new FileSink(file, meta);
    expect(first.lastSeq).toBe(-1);
    for (let seq = 0; seq < 5; seq++) first.write({ seq, ts: 1000 + seq, payload: enc.encode(`{"n":${seq}}`) });
    await first.close();
    // the process died in the middle of writing seq 5
    appendFileSync(file, '{"purchaseId":"pur-0001abcd","seq":5,"ts":10');
    const again = new FileSink(file, meta);
    expect(again.repairedBytes).toBeGreaterThan(0);
    expect(again.lastSeq).toBe(4);
    // the stream resumes from what SQLite saved (seq 2): 3 and 4 come again, then new ones
    for (let seq = 3; seq < 8; seq++) again.write({ seq, ts: 1000 + seq, payload: enc.encode(`{"n":${seq}}`) });
    await again.close();
    expect(again.skipped).toBe(2);
    const seqs = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // another purchase's file says nothing about this one
    const other = new FileSink(file, { ...meta, purchaseId: 'pur-0002abcd' });
    expect(other.lastSeq).toBe(-1);
    await other.close();
  });

  it('one local endpoint serves every purchased stream by id over WebSocket and TCP', async () => {
    const ep = new LocalEndpoint();
    const { wsPort, tcpPort } = await ep.start();
    cleanups.push(() => ep.stop());
    ep.add(meta);
    const meta2 = { purchaseId: 'pur-0002abcd', listingId: 'OTHER:wx', seller: 'OTHER', streamId: 'wx' };
    ep.add(meta2);

    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/streams/${meta.listingId}?token=${ep.token}`);
    const wsGot: unknown[] = [];
    ws.on('message', (m) => wsGot.push(JSON.parse(String(m))));
    await new Promise((r) => ws.once('open', r));
    cleanups.push(() => ws.terminate());

    const sock = connect(tcpPort, '127.0.0.1');
    let tcpText = '';
    sock.on('data', (d) => (tcpText += d));
    sock.write(`${ep.token}\npur-0002abcd\n`);
    cleanups.push(() => sock.destroy());
    await waitFor(() => ep.list().every((s) => s.readers === 1), 5000, 'readers');

    ep.publish(meta.purchaseId, { seq: 7, ts: 1, payload: new TextEncoder().encode('{"x":1}') });
    ep.publish(meta2.purchaseId, { seq: 9, ts: 2, payload: new TextEncoder().encode('{"y":2}') });
    await waitFor(() => wsGot.length === 1 && tcpText.includes('\n'), 5000, 'records');
    expect(wsGot[0]).toMatchObject({ streamId: 'adsb', seq: 7, data: { x: 1 } });
    expect(JSON.parse(tcpText.trim())).toMatchObject({ streamId: 'wx', seq: 9, data: { y: 2 } });

    const bad = new WebSocket(`ws://127.0.0.1:${wsPort}/streams/nope?token=${ep.token}`);
    const code = await new Promise((r) => bad.once('close', r));
    expect(code).toBe(4404);
  });
});
