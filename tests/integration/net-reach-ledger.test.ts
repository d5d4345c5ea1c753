// `axon ledger --host ADDR` listens elsewhere than 127.0.0.1 (a team or the NAT lab shares one
// ledger), and `axon wallet airdrop` works on any RPC that serves requestAirdrop — refused with a
// clear message only where the RPC itself says it does not serve it. Real `axon` processes.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import { AXON, NODE, axon, axonAsync as run, freePort, settingsDir, tempDir } from '../helpers/cli';

const dataDir = (settings: object): string => settingsDir(settings, 'axon-reach-');

const children: ChildProcess[] = [];
const servers: Server[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  for (const s of servers) s.close();
});

describe('a shared ledger', () => {
  it('refuses a --host that is not an IP address', () => {
    const r = axon(['--data-dir', tempDir(), 'ledger', '--host', 'ledger.example']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--host wants an IP address to listen on (e.g. 0.0.0.0), got 'ledger.example'");
  });

  it('`axon ledger --host ::` serves a wallet that reaches it by a non-127.0.0.1 URL; airdrop and balance work there', async () => {
    let port = 0;
    for (let i = 0; i < 10 && !port; i++) {
      const p = await freePort('::');
      if (p < 65000) port = p;
    }
    const ledger = spawn(NODE, [AXON, '--data-dir', tempDir(), 'ledger', '--host', '::', '--port', String(port)], {
      env: { ...process.env, AXON_KEYSTORE: 'file' },
    });
    children.push(ledger);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the ledger did not start: ${out}`)), 30_000);
      ledger.stdout.on('data', (d) => {
        out += d;
        if (out.includes('press Ctrl-C')) {
          clearTimeout(t);
          resolve();
        }
      });
      ledger.stderr.on('data', (d) => (out += d));
    });
    expect(out).toMatch(new RegExp(`JSON-RPC http://\\[::\\]:${port}`));

    // the IPv4-mapped form: no 127.x / localhost name, as a team member's URL would look
    const dir = dataDir({ cluster: `http://[::ffff:127.0.0.1]:${port}` });
    const drop = await run(['--data-dir', dir, 'wallet', 'airdrop', '2500000']);
    expect(drop.stderr).not.toContain('no airdrops');
    expect(drop.status, drop.stderr).toBe(0);
    expect(drop.stdout).toMatch(/airdropped 2500000 lamports/);
    const bal = await run(['--data-dir', dir, 'wallet', 'balance', '--json']);
    expect(bal.status, bal.stderr).toBe(0);
    expect(JSON.parse(bal.stdout).balance).toBe('2500000');
  }, 90_000);

  it('an RPC that does not serve requestAirdrop gets a clear refusal naming it', async () => {
    // a JSON-RPC endpoint as a mainnet-like node answers: healthy, but requestAirdrop is not a method here
    const srv = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const q = JSON.parse(body) as { id: number; method: string };
        res.setHeader('Content-Type', 'application/json');
        if (q.method === 'getHealth') res.end(JSON.stringify({ jsonrpc: '2.0', id: q.id, result: 'ok' }));
        else
          res.end(JSON.stringify({ jsonrpc: '2.0', id: q.id, error: { code: -32601, message: 'Method not found' } }));
      });
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    const r = await run(['--data-dir', dataDir({ cluster: url }), 'wallet', 'airdrop']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `the ledger at ${url.replace(/\./g, '\\.')} does not serve requestAirdrop \\(.*\\): fund \\w+ from another wallet`,
      ),
    );
  }, 60_000);
});
