// The headless bridge and the log against a flood: a real node behind its real bridge on loopback,
// logging to its real log file. Refused requests are logged at a bounded rate with their URLs
// redacted, oversized bodies get 413, malformed amounts get invalid-argument, the log file is
// rotated at its size bound, and the user's own calls are answered throughout
// (docs/security.md, "Logs" and "Bridge").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { startLocalLedger, type LocalLedger } from '../../src-main/local-ledger/index';
import { Identity } from '../../src-main/core/identity/identity';
import type { Serving } from '../../src-main/cli/commands/serve';
import { serveWithUi } from '../helpers/serve';
import { tempDir } from '../helpers/cli';
import { createLogger, LOG_FILE_MAX_BYTES, LOG_FILES_KEPT, LOG_LINES_PER_SEC } from '../../src-main/core/log';
import type { ApiResult } from '../../src-shared/contract/api';

// removed after the file (tests/helpers/setup.ts), after every describe's own afterAll
const tmp = tempDir;

/** status + body of a raw HTTP request (never throws on a refusal; a reset is 'reset'). */
function raw(port: number, path: string, method = 'GET', body?: Buffer): Promise<number | 'reset'> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve('reset'));
    req.end(body);
  });
}

describe('bridge and log under a flood', () => {
  let ledger: LocalLedger;
  let s: Serving;
  let dataDir: string;
  const logText = (): string => readFileSync(join(dataDir, 'axon.log'), 'utf8');
  const call = async (command: string, ...args: unknown[]): Promise<{ http: number; r: ApiResult }> => {
    const res = await fetch(`${s.bridge!.url}api/call/${command}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ args }),
    });
    return { http: res.status, r: (await res.json().catch(() => ({}))) as ApiResult };
  };

  beforeAll(async () => {
    ledger = await startLocalLedger({ port: 0, dataDir: tmp('axon-abuse-bridge-ledger-'), slotMs: 100 });
    dataDir = tmp('axon-abuse-bridge-');
    s = await serveWithUi(dataDir, ledger);
  });
  afterAll(async () => {
    await s?.close();
    await ledger?.close();
  });

  it('logs refused requests at a bounded rate, with a summary of what it left out, and no token from a query string', async () => {
    const port = s.bridge!.port;
    const secret = 'QuerySecretValue0123456789';
    const started = Date.now();
    let refused = 0;
    for (let batch = 0; batch < 60; batch++) {
      const got = await Promise.all(
        Array.from({ length: 50 }, (_, i) => raw(port, `/api/call/status?token=${secret}&i=${batch * 50 + i}`)),
      );
      refused += got.filter((x) => x === 403).length;
    }
    const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
    expect(refused).toBe(3000);
    // the user's own call is answered during and after the flood
    expect((await call('status')).r.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 2500)); // the summary line, and the async file writes
    const lines = logText().split('\n');
    const logged = lines.filter((l) => l.includes('"bridge: refused request"')).length;
    // before the fix: all 3,000 lines (the issue saw 507 MB in 10 s)
    expect(logged).toBeLessThanOrEqual(LOG_LINES_PER_SEC * seconds);
    expect(lines.some((l) => /suppressed \d+ lines: bridge: refused request/.test(l))).toBe(true);
    // before the fix: the query string went to the log as it came
    expect(logText()).not.toContain(secret);
    expect(logText()).toContain('token=<redacted>');
  });

  it('answers 413 to a body over 1 MiB (not a connection reset), and serves on', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    // before the fix: 'reset'
    expect(await raw(s.bridge!.port, `/t/${s.bridge!.token}/api/call/status`, 'POST', big)).toBe(413);
    expect((await call('status')).r.ok).toBe(true);
  });

  it("answers invalid-argument to lamports like '1e5' or '1.5' (not HTTP 500)", async () => {
    for (const bad of ['1e5', '1.5', '-1', '18446744073709551616']) {
      const { http, r } = await call('buy', {
        listingId: `${Identity.generate().address}:wx`,
        tier: 'direct',
        maxMinutes: 1,
        maxLamports: bad,
      });
      // before the fix: HTTP 500 'internal error' for '1e5' and '1.5'
      expect(http).toBe(200);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('invalid-argument');
    }
  });
});

describe('log file size', () => {
  it(`rotates the log file at ${LOG_FILE_MAX_BYTES} bytes and keeps ${LOG_FILES_KEPT} files`, async () => {
    const dir = tmp('axon-abuse-log-');
    const file = join(dir, 'axon.log');
    const log = createLogger({ file, stderr: false });
    const pad = 'p'.repeat(1000);
    const lines = Math.ceil((LOG_FILE_MAX_BYTES * (LOG_FILES_KEPT + 1)) / 1100);
    for (let i = 0; i < lines; i++) {
      log.info({ pad }, `distinct line ${i}`); // each message distinct: the rate limit does not apply
      if (i % 2000 === 0) await new Promise((r) => setImmediate(r));
    }
    log.info('the last line');
    await new Promise((r) => setTimeout(r, 1500));
    const files = [file, ...Array.from({ length: LOG_FILES_KEPT }, (_, i) => `${file}.${i + 1}`)];
    // before the fix: one file of ~40 MiB
    expect(existsSync(files[LOG_FILES_KEPT]!)).toBe(false);
    for (const f of files.slice(0, LOG_FILES_KEPT)) {
      expect(existsSync(f)).toBe(true);
      expect(statSync(f).size).toBeLessThanOrEqual(LOG_FILE_MAX_BYTES);
    }
    // nothing split: every line of every file is whole JSON, and the newest line is in the live file
    for (const f of files.slice(0, LOG_FILES_KEPT)) {
      for (const l of readFileSync(f, 'utf8').split('\n').filter(Boolean)) expect(() => JSON.parse(l)).not.toThrow();
    }
    expect(readFileSync(file, 'utf8')).toContain('the last line');
  });
});
