// The app API's gate: every command's arguments are validated before the node sees them, and
// every failure reaches the UI as what happened + what to do.
import { describe, expect, it } from 'vitest';
import { ApiService, type AxonBackend } from '../../src-main/api/service';
import { UserFacingError } from '../../src-main/api/errors';

const SELLER = '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin';

/** Records the calls that got through validation; every command answers with its arguments. */
function recordingBackend(fail?: Error): { backend: AxonBackend; calls: [string, unknown[]][] } {
  const calls: [string, unknown[]][] = [];
  const backend = new Proxy({} as AxonBackend, {
    get(_t, prop: string) {
      if (prop === 'subscribe') return () => () => {};
      return (...args: unknown[]) => {
        calls.push([prop, args]);
        if (fail) throw fail;
        return { echoed: args };
      };
    },
  });
  return { backend, calls };
}

describe('ApiService', () => {
  it('passes valid calls through and returns their result', async () => {
    const { backend, calls } = recordingBackend();
    const api = new ApiService(backend);
    const buy = { listingId: `${SELLER}:aircraft`, tier: 'direct', maxMinutes: 10 };
    expect(await api.call('buy', [buy])).toEqual({ ok: true, value: { echoed: [buy] } });
    expect(await api.call('listings', [])).toEqual({ ok: true, value: { echoed: [] } });
    expect(await api.call('listings', [{ text: 'air', maxPrice: '1000' }])).toMatchObject({ ok: true });
    expect(await api.call('payments', [50])).toMatchObject({ ok: true });
    expect(await api.call('payments', [undefined])).toMatchObject({ ok: true });
    expect(
      await api.call('sell', [
        {
          title: 'Aircraft',
          description: '',
          tags: ['adsb'],
          format: 'application/x-ndjson',
          source: { kind: 'synthetic', feed: 'aircraft' },
          priceDirect: '100000',
          periodSec: 60,
        },
      ]),
    ).toMatchObject({ ok: true });
    expect(calls.map((c) => c[0])).toEqual(['buy', 'listings', 'listings', 'payments', 'payments', 'sell']);
  });

  it('refuses bad arguments with the field and the reason, without calling the node', async () => {
    const { backend, calls } = recordingBackend();
    const api = new ApiService(backend);
    const cases: [string, unknown[], RegExp][] = [
      ['buy', [{ listingId: 'nope', tier: 'direct', maxMinutes: 10 }], /listingId: expected a listing id/],
      ['buy', [{ listingId: `${SELLER}:a`, tier: 'gold', maxMinutes: 10 }], /tier/],
      ['buy', [{ listingId: `${SELLER}:a`, tier: 'direct', maxMinutes: 0 }], /maxMinutes: buy at least 1 minute/],
      [
        'buy',
        [{ listingId: `${SELLER}:a`, tier: 'direct', maxMinutes: 5, maxLamports: '-1' }],
        /maxLamports: lamports must be a whole number/,
      ],
      ['buy', [{ listingId: `${SELLER}:a`, tier: 'direct', maxMinutes: 5, extra: 1 }], /extra/],
      ['airdrop', [0], /more than 0 SOL/],
      ['airdrop', ['1'], /number/],
      ['renew', ['p1', 1.5], /int/i],
      ['setStreamPaused', ['../etc', true], /stream id/],
      [
        'sell',
        [
          {
            title: '',
            description: '',
            tags: [],
            format: 'x',
            source: { kind: 'synthetic', feed: 'aircraft' },
            priceDirect: '1',
            periodSec: 60,
          },
        ],
        /title|format/,
      ],
      [
        'sell',
        [
          {
            title: 'a',
            description: '',
            tags: [],
            format: 'text/plain',
            source: { kind: 'shell', cmd: 'rm' },
            priceDirect: '1',
            periodSec: 60,
          },
        ],
        /source/,
      ],
      [
        'sell',
        [
          {
            title: 'a',
            description: '',
            tags: [],
            format: 'text/plain',
            source: { kind: 'websocket', url: 'http://x' },
            priceDirect: '1',
            periodSec: 60,
          },
        ],
        /ws:\/\/ or wss:\/\//,
      ],
      ['updateSettings', [{ cluster: 'javascript:alert(1)' }], /cluster/],
      ['updateSettings', [{ stunServers: ['no-port'] }], /host:port/],
      ['updateSettings', [{ dataDir: '/tmp' }], /dataDir/],
      ['status', ['extra'], /./],
      ['listings', ['text'], /./],
    ];
    for (const [cmd, args, why] of cases) {
      const r = await api.call(cmd, args);
      expect(r.ok, `${cmd} ${JSON.stringify(args)}`).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('invalid-argument');
        expect(r.error.message, cmd).toMatch(why);
        expect(r.error.hint.length).toBeGreaterThan(0);
      }
    }
    expect(calls).toEqual([]);
  });

  it('refuses unknown commands and non-array arguments', async () => {
    const { backend, calls } = recordingBackend();
    const api = new ApiService(backend);
    for (const cmd of ['constructor', '__proto__', 'subscribe', 'toString', 42, null]) {
      const r = await api.call(cmd, []);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('unknown-command');
    }
    const r = await api.call('status', { 0: 1 });
    expect(r.ok).toBe(false);
    expect(calls).toEqual([]);
  });

  it('turns failures into what happened and what to do', async () => {
    const api1 = new ApiService(
      recordingBackend(new UserFacingError('no-seller', 'The seller is offline.', 'Pick another listing.')).backend,
    );
    expect(await api1.call('status', [])).toEqual({
      ok: false,
      error: { code: 'no-seller', message: 'The seller is offline.', hint: 'Pick another listing.' },
    });
    const api2 = new ApiService(recordingBackend(new Error('insufficient balance: need 5000 lamports')).backend);
    const r2 = await api2.call('status', []);
    expect(r2).toMatchObject({
      ok: false,
      error: { code: 'insufficient-balance', message: 'insufficient balance: need 5000 lamports' },
    });
    if (!r2.ok) expect(r2.error.hint).toMatch(/Airdrop/);
    const api4 = new ApiService(
      recordingBackend(
        new Error('ledger refused the transaction: Attempt to debit an account but found no record of a prior credit.'),
      ).backend,
    );
    const r4 = await api4.call('status', []);
    expect(r4).toMatchObject({ ok: false, error: { code: 'insufficient-balance' } });
    if (!r4.ok) {
      expect(r4.error.message).toMatch(/^Your wallet has no SOL to pay the ledger fee/);
      expect(r4.error.hint).toMatch(/Airdrop/);
    }
    const errors: string[] = [];
    const api3 = new ApiService(recordingBackend(new Error('boom')).backend, { onError: (c) => errors.push(c) });
    const r3 = await api3.call('wallet', []);
    expect(r3).toMatchObject({ ok: false, error: { code: 'internal', message: 'boom' } });
    expect(errors).toEqual(['wallet']);
  });

  it('fans events out to every subscriber and stops on unsubscribe', () => {
    let emit: ((e: 'notice', p: unknown) => void) | null = null;
    const backend = new Proxy({} as AxonBackend, {
      get(_t, prop) {
        if (prop === 'subscribe')
          return (sink: (e: 'notice', p: unknown) => void) => {
            emit = sink;
            return () => (emit = null);
          };
        return () => null;
      },
    });
    const api = new ApiService(backend);
    const a: unknown[] = [];
    const b: unknown[] = [];
    const stopA = api.subscribe((_e, p) => a.push(p));
    api.subscribe((_e, p) => b.push(p));
    emit!('notice', 1);
    stopA();
    emit!('notice', 2);
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 2]);
    api.close();
    expect(emit).toBeNull();
  });
});
