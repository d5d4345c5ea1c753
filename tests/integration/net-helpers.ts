// Helpers for the net integration tests: real libp2p nodes on 127.0.0.1, real SQLite files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '@libp2p/interface';
import { createNetNode } from '../../src-main/core/net/index';
import type { ConnectInfo, NetNode, NetNodeOptions, Signaling } from '../../src-main/core/net/index';
import { Identity } from '../../src-main/core/identity/identity';
import { openDb, type Db } from '../../src-main/core/store/db';
import { waitForDrain } from '../../src-main/core/net/drain';

export const ECHO = '/axon-test/echo/1.0.0';

export class NetFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'axon-net-'));
  readonly nodes: NetNode[] = [];
  readonly dbs: Db[] = [];

  async node(o: Partial<NetNodeOptions> = {}): Promise<NetNode & { db: Db }> {
    const db = openDb(join(this.dir, `n${this.nodes.length}.sqlite`));
    this.dbs.push(db);
    const n = await createNetNode({
      identity: Identity.generate(),
      host: '127.0.0.1',
      announceFilter: { allowLoopback: true },
      pingIntervalMs: 500,
      db,
      ...o,
    });
    await n.libp2p.handle(
      ECHO,
      async (stream) => {
        for await (const chunk of stream) {
          if (!stream.send(chunk)) await waitForDrain(stream);
        }
        await stream.close();
      },
      { runOnLimitedConnection: true },
    );
    this.nodes.push(n);
    return Object.assign(n, { db });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop()));
    for (const db of this.dbs) db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Send `size` bytes through the echo protocol on `conn` and return how many came back. */
export async function echo(conn: Connection, size: number): Promise<number> {
  const stream = await conn.newStream(ECHO, { runOnLimitedConnection: true });
  const chunk = new Uint8Array(16 * 1024).fill(7);
  let got = 0;
  const reader = (async () => {
    for await (const c of stream) {
      got += c.byteLength;
      if (got >= size) break;
    }
  })();
  for (let sent = 0; sent < size; sent += chunk.length) {
    if (!stream.send(chunk.subarray(0, Math.min(chunk.length, size - sent)))) await waitForDrain(stream);
  }
  await reader;
  await stream.close().catch(() => undefined);
  return got;
}

/** A Signaling end that rewrites what it sends (to model what a NATed peer can offer). */
export function rewriting(s: Signaling, f: (i: ConnectInfo) => ConnectInfo): Signaling {
  return { send: (i, round) => s.send(f(i), round), receive: (sig) => s.receive(sig) };
}

export async function until<T>(f: () => T | undefined | false, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
