import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../../src-main/core/ledger/watcher';
import { backoffMs, isTransientRpcError } from '../../src-main/core/ledger/rpc';

describe('replay memory', () => {
  it('remembers a nonce per reader until the message expires', () => {
    const c = new ReplayCache(4);
    const n = new Uint8Array(16).fill(1);
    expect(c.add('cursorA', n, 100, 50)).toBe(true);
    expect(c.add('cursorA', n, 100, 50)).toBe(false);
    expect(c.add('cursorB', n, 100, 50)).toBe(true); // another reader sees it once too
  });

  it('stays bounded: expired entries go first, then the oldest', () => {
    const c = new ReplayCache(4);
    const nonce = (i: number): Uint8Array => new Uint8Array(16).fill(i);
    for (let i = 0; i < 4; i++) c.add('t', nonce(i), i < 2 ? 10 : 1000, 5);
    c.add('t', nonce(9), 1000, 20); // full: prunes the two expired ones
    expect(c.add('t', nonce(2), 1000, 20)).toBe(false); // live entries kept
    expect(c.add('t', nonce(0), 1000, 20)).toBe(true); // expired one forgotten
  });
});

describe('retry policy', () => {
  it('backs off exponentially with jitter, capped', () => {
    const p = { attempts: 10, baseMs: 100, maxMs: 1000 };
    for (let i = 0; i < 50; i++) {
      expect(backoffMs(0, p)).toBeGreaterThanOrEqual(50);
      expect(backoffMs(0, p)).toBeLessThanOrEqual(100);
      expect(backoffMs(3, p)).toBeGreaterThanOrEqual(400);
      expect(backoffMs(3, p)).toBeLessThanOrEqual(800);
      expect(backoffMs(20, p)).toBeLessThanOrEqual(1000);
    }
  });

  it('retries network failures, not programming errors', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(isTransientRpcError(refused).retry).toBe(true);
    expect(isTransientRpcError(new Error('boom')).retry).toBe(false);
    expect(isTransientRpcError(Object.assign(new Error('x'), { name: 'AbortError' })).retry).toBe(false);
  });
});
