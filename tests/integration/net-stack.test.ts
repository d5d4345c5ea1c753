// The tuned stack every Axon node uses, made of the patches in patches/ (docs/architecture.md,
// "Patched packages"). net/muxer.ts: js-yamux with window updates sent after half the window is
// used instead of after every frame. net/tcp.ts: a TCP socket's writes for one message gathered
// into one writev. Connections count their raw bytes. Real libp2p nodes over TCP on 127.0.0.1:
// small frames no longer cost one update each, bulk transfers and slow readers still work (flow
// control intact), a tuned node talks to a stock js-libp2p node in another process, the socket
// sees one write per message, and the byte counts the UI shows are real. Each test compares the
// tuned node with the stock behaviour, so it FAILS if a patch stops taking effect.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p, Stream } from '@libp2p/interface';
import { Socket } from 'node:net';
import { createLibp2p } from 'libp2p';
import { noise } from '@libp2p/noise';
import { YamuxStream } from '@libp2p/yamux/stream';
import { axonYamux } from '../../src-main/core/net/muxer';
import { axonTcp } from '../../src-main/core/net/tcp';
import { connectionBytes } from '../../src-main/core/net/status';
import { makeLibp2p, waitFor } from './market-helpers';
import { NODE, ROOT } from '../helpers/cli';
import { waitForDrain } from '../../src-main/core/net/drain';

const SINK = '/axon-test/sink/1';

/** A node with the stock behaviour of the patched packages (every option off). */
async function stockNode(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [axonTcp({ coalesceWrites: false })],
    connectionEncrypters: [noise()],
    streamMuxers: [axonYamux({ windowUpdateHysteresis: false })],
  });
}

/** Serve SINK: read all, answer "<bytes> <sha256>"; optionally pause reading once. */
async function sinkNode(pauseAfterBytes = -1, pauseMs = 0, stock = false): Promise<Libp2p> {
  const node = stock ? await stockNode() : (await makeLibp2p()).node;
  await node.handle(SINK, (stream) => {
    void (async () => {
      const h = createHash('sha256');
      let n = 0;
      let paused = false;
      for await (const chunk of stream) {
        const b = chunk.subarray();
        h.update(b);
        n += b.length;
        if (!paused && pauseAfterBytes >= 0 && n >= pauseAfterBytes) {
          paused = true;
          await new Promise((r) => setTimeout(r, pauseMs));
        }
      }
      stream.send(new TextEncoder().encode(`${n} ${h.digest('hex')}`));
      await stream.close();
    })();
  });
  return node;
}

/** Send `count` chunks of `size` bytes (distinct content), close, return [local digest, reply]. */
async function pour(stream: Stream, count: number, size: number): Promise<{ sent: string; reply: string }> {
  const h = createHash('sha256');
  for (let i = 0; i < count; i++) {
    const b = new Uint8Array(size);
    new DataView(b.buffer).setUint32(0, i);
    b.fill(i & 0xff, 4);
    h.update(b);
    if (!stream.send(b)) await waitForDrain(stream);
  }
  await stream.close();
  let reply = '';
  for await (const c of stream) reply += new TextDecoder().decode(c.subarray());
  return { sent: `${count * size} ${h.digest('hex')}`, reply };
}

describe('the tuned TCP + yamux stack (net/tcp.ts, net/muxer.ts, patches/)', () => {
  const nodes: Libp2p[] = [];
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.stdin?.end();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('1 000 small frames arrive intact with a handful of window updates, not one per frame', async () => {
    // count the WINDOW_UPDATE frames the sending side receives (an observer, the frames are real)
    const updates = vi.spyOn(YamuxStream.prototype, 'handleWindowUpdate');
    const received = async (stock: boolean): Promise<number> => {
      const sink = await sinkNode(-1, 0, stock);
      const { node: src } = await makeLibp2p();
      nodes.push(sink, src);
      const stream = await src.dialProtocol(sink.getMultiaddrs(), SINK);
      const before = updates.mock.calls.length;
      const { sent, reply } = await pour(stream, 1000, 1024);
      expect(reply).toBe(sent);
      return updates.mock.calls.length - before;
    };
    const tuned = await received(false);
    const stock = await received(true);
    updates.mockRestore();
    // 1 MiB through a 256 KiB window: about one update per 128 KiB, plus stream open/close;
    // stock js-yamux sends one per data frame received (the sender may merge a few sends)
    expect(tuned).toBeLessThan(30);
    expect(stock).toBeGreaterThan(tuned * 10);
  });

  it('a 32 MiB transfer to a reader that stalls for a second completes byte for byte', async () => {
    const sink = await sinkNode(4 * 1024 * 1024, 1000);
    const { node: src } = await makeLibp2p();
    nodes.push(sink, src);
    const stream = await src.dialProtocol(sink.getMultiaddrs(), SINK);
    const { sent, reply } = await pour(stream, 512, 64 * 1024);
    expect(reply).toBe(sent);
  });

  it('a tuned node and a stock js-libp2p node in another process exchange 12 MiB in small and large frames', async () => {
    const child = spawn(NODE, ['--import', 'tsx', join(ROOT, 'tests/fixtures/libp2p-peer.ts')], {
      cwd: ROOT,
      env: { ...process.env, AXON_STOCK: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    const addr = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`stock peer exited with ${code}`)));
    });
    const { node: src } = await makeLibp2p();
    nodes.push(src);
    const small = await src.dialProtocol(multiaddr(addr), SINK);
    const a = await pour(small, 4096, 1024);
    expect(a.reply).toBe(a.sent);
    const big = await src.dialProtocol(multiaddr(addr), SINK);
    const b = await pour(big, 64, 64 * 1024);
    expect(b.reply).toBe(b.sent);
  });

  it('gathers the buffers of one message into one socket write (stock: one write per buffer)', async () => {
    // count the socket's write(2)/writev(2) calls in this process (observers; the sockets are real)
    const proto = Socket.prototype as unknown as { _write: () => void; _writev: () => void };
    const write = vi.spyOn(proto, '_write');
    const writev = vi.spyOn(proto, '_writev');
    const calls = async (stock: boolean): Promise<{ write: number; writev: number }> => {
      const sink = await sinkNode();
      const src = stock ? await stockNode() : (await makeLibp2p()).node;
      nodes.push(sink, src);
      const stream = await src.dialProtocol(sink.getMultiaddrs(), SINK);
      const before = { write: write.mock.calls.length, writev: writev.mock.calls.length };
      for (let i = 0; i < 200; i++) {
        if (!stream.send(new Uint8Array(512).fill(i))) await waitForDrain(stream);
        await new Promise((r) => setImmediate(r));
      }
      const counted = {
        write: write.mock.calls.length - before.write,
        writev: writev.mock.calls.length - before.writev,
      };
      await stream.close();
      for await (const _ of stream) void _;
      return counted;
    };
    const tuned = await calls(false);
    const stock = await calls(true);
    write.mockRestore();
    writev.mockRestore();
    // both sides of each connection live in this process: the sink's few window updates count too
    expect(tuned.writev).toBeGreaterThanOrEqual(200);
    expect(tuned.write).toBeLessThan(tuned.writev / 4);
    expect(stock.write).toBeGreaterThanOrEqual(400); // length prefix and ciphertext, each its own write
  });

  it('counts the raw bytes of a connection both ways (what the UI shows)', async () => {
    const sink = await sinkNode();
    const { node: src } = await makeLibp2p();
    nodes.push(sink, src);
    const stream = await src.dialProtocol(sink.getMultiaddrs(), SINK);
    const { sent, reply } = await pour(stream, 256, 4096);
    expect(reply).toBe(sent);
    const [out] = src.getConnections(sink.peerId);
    const [inb] = sink.getConnections(src.peerId);
    const a = connectionBytes(out!);
    const b = connectionBytes(inb!);
    // 1 MiB of payload plus Noise and yamux framing, identical on both ends once all is through
    expect(a.bytesOut).toBeGreaterThan(1024 * 1024);
    expect(a.bytesOut).toBeLessThan(1024 * 1024 * 1.1);
    // what one end sent, the other received (identify and pings run beside the transfer)
    await waitFor(() => connectionBytes(inb!).bytesIn >= a.bytesOut, 5000, 'bytes in');
    expect(b.bytesOut).toBeGreaterThan(0);
    await waitFor(() => connectionBytes(out!).bytesIn >= b.bytesOut, 5000, 'bytes back');
  });

  it('a send loop with waitForDrain stops at a paused reader, also after an earlier drain (onDrain would not)', async () => {
    const { node: dst } = await makeLibp2p();
    const { node: src } = await makeLibp2p();
    nodes.push(dst, src);
    let reader: Stream | null = null;
    let received = 0;
    await dst.handle('/axon-test/hold/1', (stream) => {
      reader = stream;
      stream.addEventListener('message', (e) => (received += e.data.byteLength));
      stream.pause();
    });
    const stream = await src.dialProtocol(dst.getMultiaddrs(), '/axon-test/hold/1');
    const chunk = new Uint8Array(64 * 1024);
    let handed = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        handed += chunk.length;
        if (!stream.send(chunk)) await waitForDrain(stream);
      }
    })();
    await waitFor(() => reader !== null, 5000, 'reader');
    const paused = reader as unknown as Stream;
    // an earlier drain, awaited the libp2p way: the reader takes some, then stops again
    await new Promise((r) => setTimeout(r, 100));
    expect(stream.writableNeedsDrain).toBe(true);
    const first = stream.onDrain();
    paused.resume();
    await first;
    await waitFor(() => received > 1024 * 1024, 5000, '1 MiB through');
    paused.pause();
    await new Promise((r) => setTimeout(r, 300));
    const atPause = handed;
    await new Promise((r) => setTimeout(r, 300));
    expect(handed).toBe(atPause); // the loop waits: nothing more handed to a stalled stream
    // libp2p's own onDrain() was resolved by the earlier drain and stays so: a loop on it spins
    let settled = false;
    stream.onDrain().then(
      () => (settled = true),
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(stream.writableNeedsDrain).toBe(true);
    expect(settled).toBe(true);
    // resumed, the loop goes on
    paused.resume();
    await waitFor(() => handed > atPause + 1024 * 1024, 5000, 'sending again');
    stop = true;
    stream.abort(new Error('test done'));
    await loop.catch(() => undefined);
  });
});
