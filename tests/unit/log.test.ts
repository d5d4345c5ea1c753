import { describe, it, expect } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../../src-main/core/log';
import { Identity } from '../../src-main/core/identity/identity';

describe('logging', () => {
  it('writes structured lines and never key material', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ stream, level: 'debug' });
    const id = Identity.generate();
    const secret = id.toSolanaKeygenJson();
    log.info(
      { secretKey: secret, nested: { privateKey: secret, seed: 'abc' }, token: 'tok123', address: id.address },
      'hello',
    );
    log.info({ identity: id }, 'with identity');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first.msg).toBe('hello');
    expect(first.address).toBe(id.address);
    expect(first.secretKey).toBe('[redacted]');
    expect(first.nested.privateKey).toBe('[redacted]');
    expect(first.token).toBe('[redacted]');
    const all = lines.join('');
    expect(all).not.toContain(secret.slice(1, 30));
    expect(all).not.toContain('tok123');
  });
});
