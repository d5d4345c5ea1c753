// The tuned stack every Axon node uses. net/muxer.ts: js-yamux with window updates sent after half
// the window is used instead of after every frame. net/encrypter.ts: Noise with a TCP socket's
// writes for one message gathered into one writev. Real libp2p nodes over TCP on 127.0.0.1: small
// frames no longer cost one update each, bulk transfers and slow readers still work (flow control
// intact), a tuned node talks to a stock js-libp2p node in another process, and the socket sees
// one write per message.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p, Stream } from '@libp2p/interface';
import { createServer, connect, Socket, type AddressInfo } from 'node:net';
import { windowUpdateStats } from '../../src-main/core/net/muxer';
import { coalesceSocketWrites } from '../../src-main/core/net/encrypter';
import { makeLibp2p, waitFor } from './market-helpers';
import { NODE, ROOT } from '../helpers/cli';
import { waitForDrain } from '../../src-main/core/net/drain';

const SINK = '/axon-test/sink/1';

/** Serve SINK: read all, answer "<bytes> <sha256>"; optionally pause reading once. */
async function sinkNode(pauseAfterBytes = -1, pauseMs = 0): Promise<Libp2p> {
  const { node } = await makeLibp2p();
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

describe('the tuned Noise + yamux stack (net/muxer.ts, net/encrypter.ts)', () => {
  const nodes: Libp2p[] = [];
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.stdin?.end();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('1 000 small frames arrive intact with a handful of window updates, not one per frame', async () => {
    const sink = await sinkNode();
    const { node: src } = await makeLibp2p();
    nodes.push(sink, src);
    const stream = await src.dialProtocol(sink.getMultiaddrs(), SINK);
    const before = { ...windowUpdateStats };
    const { sent, reply } = await pour(stream, 1000, 1024);
    expect(reply).toBe(sent);
    const due = windowUpdateStats.due - before.due;
    const deferred = windowUpdateStats.deferred - before.deferred;
    // 1 MiB through a 256 KiB window: about one update per 128 KiB, plus stream open/close;
    // stock js-yamux sends one per data frame received (the sender may merge a few sends)
    expect(due).toBeLessThan(30);
    expect(deferred).toBeGreaterThan(due * 10);
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

  it('gathers the buffers of one message into one socket write, and leaves non-TCP streams alone', async () => {
    const got: Buffer[] = [];
    const server = createServer((sock) => sock.on('data', (d: Buffer) => got.push(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    // the shape of @libp2p/tcp's connection: a socket and a sendData writing buffer by buffer
    const conn = {
      socket,
      sendData(data: Uint8Array[]) {
        for (const b of data) socket.write(b);
        return { sentBytes: data.reduce((a, b) => a + b.length, 0), canSendMore: true };
      },
    };
    const calls = { write: 0, writev: 0 };
    const s = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const w = s._write.bind(socket);
    const wv = s._writev.bind(socket);
    s._write = (...a) => (calls.write++, w(...a));
    s._writev = (...a) => (calls.writev++, wv(...a));
    expect(coalesceSocketWrites(conn as never)).toBe(true);
    expect(coalesceSocketWrites(conn as never)).toBe(false); // once only
    const parts = [Buffer.from([0, 5]), Buffer.from('hello'), Buffer.from(' world')];
    conn.sendData(parts);
    expect(calls).toEqual({ write: 0, writev: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(got).toString('latin1')).toBe('\x00\x05hello world');
    socket.destroy();
    server.close();
    expect(coalesceSocketWrites({ sendData: () => undefined } as never)).toBe(false);
    expect(coalesceSocketWrites({ socket: new Socket(), sendData: undefined } as never)).toBe(false);
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
